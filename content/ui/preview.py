"""A small picture of an attached image, drawn with half-block characters (rich-pixels).

A thumbnail only shows layout and colour: card text is unreadable at this size
(docs/libraries.md#terminal-thumbnails), so the caption says what the image is and "open full
image" hands the real file to the officer. Decoding and resizing run in the caller's thread
worker (:func:`make_thumbnail`); the widget only shows the result. Any image the terminal
cannot draw falls back to text.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from content import media
from content.errors import ValidationError
from content.ui.i18n import _
from content.ui.messages import error_in_words

#: The thumbnail's size at most, in terminal cells (one cell shows two pixels, one above
#: the other).
THUMB_COLUMNS = 36
THUMB_ROWS = 12


@dataclass(frozen=True)
class Thumbnail:
    """An image ready to show: its picture (None when it cannot be drawn) and a caption."""

    name: str
    caption: str
    picture: Any | None  # a Rich renderable (rich_pixels.Pixels)
    data: bytes


def _size_text(n: int) -> str:
    return f"{n / 1024:,.0f} KB" if n < 1_048_576 else f"{n / 1_048_576:.1f} MB"


def make_thumbnail(name: str, data: bytes, note: str = "") -> Thumbnail:
    """Decode ``data`` and draw it small; on any failure, a caption that says why.

    Blocking (decodes the image): call it from a thread worker.
    """
    try:
        info = media.inspect_image(data, name=name)
    except ValidationError as exc:
        # The caption names the file already.
        reason = error_in_words(exc).removeprefix(f"{name}: ")
        caption = _("{name}: no preview ({reason}), {size}").format(
            name=name, reason=reason, size=_size_text(len(data))
        )
        return Thumbnail(name, caption, None, data)
    caption = f"{name} · {info.format} {info.width}×{info.height} · {_size_text(len(data))}"
    if note:
        caption += f" · {note}"
    try:
        from rich_pixels import Pixels

        with Image.open(io.BytesIO(data)) as im:
            im.seek(0)  # the first frame of an animation
            rgb = im.convert("RGB")
        # Keep the aspect ratio; a cell is two pixels high, so rows * 2 pixels.
        scale = min(THUMB_COLUMNS / info.width, THUMB_ROWS * 2 / info.height)
        size = (max(1, round(info.width * scale)), max(2, round(info.height * scale)))
        picture = Pixels.from_image(rgb, resize=size)
    except Exception as exc:  # any decoder or renderer failure: show the caption alone
        caption += "\n" + _("No preview: {reason}").format(reason=exc)
        return Thumbnail(name, caption, None, data)
    return Thumbnail(name, caption, picture, data)


class ImagePreview(Static):
    """Shows one :class:`Thumbnail` (hidden while there is none)."""

    DEFAULT_CSS = """
    ImagePreview {
        height: auto;
        display: none;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__("", id=id)
        self.thumbnail: Thumbnail | None = None

    def show(self, thumbnail: Thumbnail | None) -> None:
        """Show ``thumbnail``, or hide the preview when it is None."""
        self.thumbnail = thumbnail
        self.display = thumbnail is not None
        if thumbnail is None:
            self.update("")
        elif thumbnail.picture is None:
            self.update(Text(thumbnail.caption, style="italic"))
        else:
            self.update(Group(thumbnail.picture, Text(thumbnail.caption, style="dim")))


def open_full_image(name: str, data: bytes | None = None, path: Path | None = None) -> str:
    """Hand the full image to the officer: the file's path, opened in a viewer if possible.

    With ``data``, the bytes are written to a new temporary file first (the database holds
    the image, not a file). A viewer is started only when a graphical session is there
    (``DISPLAY``); over SSH the path is all the officer gets. Blocking: call from a worker.
    Returns the path.
    """
    if data is not None:
        suffix = Path(name).suffix or ".img"
        directory = tempfile.mkdtemp(prefix="loa-image-")
        path = Path(directory) / (Path(name).stem + suffix)
        path.write_bytes(data)
    assert path is not None, "give data or path"
    if os.environ.get("DISPLAY"):
        # Without xdg-open the path is shown anyway.
        with contextlib.suppress(OSError):
            subprocess.Popen(
                ["xdg-open", str(path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # the viewer outlives Loa and never reads its terminal
            )
    return str(path)
