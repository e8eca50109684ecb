"""A small snapshot helper: the screen as plain text, compared with a stored file.

pytest-textual-snapshot pins pytest below 9, so Loa keeps its own: the text of the
screen (what an officer reads, without colours) is stable across terminals and easy to
review in a diff. ``LOA_UPDATE_SNAPSHOTS=1`` rewrites the stored files.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"


def screen_text(app: App[object]) -> str:
    """What the terminal shows now, one line per row, trailing spaces removed."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens, simplify=True
    )
    console.print(update)
    text = console.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


async def stable_screen_text(pilot: Pilot[None], rounds: int = 20) -> str:
    """The screen's text once two draws in a row agree.

    A table sizes its columns when the app is next idle, after the workers and messages a
    settle waits for: on a busy machine the screen could be read before that draw.
    """
    text = screen_text(pilot.app)
    for _ in range(rounds):
        await pilot.pause()
        again = screen_text(pilot.app)
        if again == text:
            break
        text = again
    return text


async def assert_snapshot(pilot: Pilot[None], name: str) -> None:
    """Compare the screen, once it stops changing, with ``snapshots/<name>.txt`` (or write
    it when updating)."""
    path = SNAPSHOTS / f"{name}.txt"
    actual = await stable_screen_text(pilot)
    if os.environ.get("LOA_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        if os.environ.get("LOA_UPDATE_SNAPSHOTS") != "1":
            raise AssertionError(f"{path} did not exist; written now, check it and rerun")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"screen differs from {path.name} (LOA_UPDATE_SNAPSHOTS=1 to accept):\n{actual}"
    )
