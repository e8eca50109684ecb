"""TUI: start to the first full queue screen with 20,000 posts, and keypress-to-redraw of a filter.

Driven headless through Textual's Pilot (``App.run_test``) on a SQLite file, with the app
built the way tests/tui builds it (engine, channel directory and actor injected; the
periodic refresh set to an hour so only our keys cause reloads).

* *first screen*: from ``run_test`` entering until the queue table holds its first page and
  the screen has been refreshed (includes the app's own start-up, not Python's imports);
* *filter*: with the search box focused, each typed character that changes the filter
  re-queries the database (in a thread worker) and refills the table (the space is typed
  but not timed: it changes nothing); the time runs from the key press until the first
  screen update the compositor produces after the table was refilled (``App._display`` is
  wrapped to timestamp updates; Pilot's ``pause()`` waits for the CPU to go idle in 20 ms
  steps, so it is reported apart). Escape (clear filters) is measured until ``pause()``.

    python bench/tui.py [--posts 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import common  # bench/ is on sys.path when run as `python bench/tui.py`
from common import Figure, Planned, check, say

SIZE = (120, 40)
CHANNELS = 3
TYPED = "số 17"
TIMEOUT_S = 60.0


async def wait_for(pilot: Any, predicate: Any, timeout: float = TIMEOUT_S) -> None:
    """Let the app run until ``predicate()`` holds (bounded)."""
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the TUI did not get there in time")
        await pilot.pause(0.002)


async def drive(app: Any) -> dict[str, Any]:
    """Start the app, wait for the first page, type a filter, clear it; return the timings."""
    from textual.widgets import DataTable

    from content.ui.queue_screen import QueueScreen

    fills: list[float] = []
    t0 = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:

        def screen() -> Any:
            return app.screen if isinstance(app.screen, QueueScreen) else None

        await wait_for(pilot, lambda: screen() is not None and screen().loaded)
        await pilot.pause()  # the refresh that paints the filled table
        first = time.perf_counter() - t0
        queue = screen()
        table = queue.query_one("#posts", DataTable)
        first_rows, total = table.row_count, queue.total
        original = queue._fill

        fill_spans: list[tuple[float, float]] = []

        def fill(rows: Any) -> None:  # record when each reloaded page reaches the table
            begun = time.perf_counter()
            original(rows)
            fills.append(time.perf_counter())
            fill_spans.append((begun, fills[-1]))

        queue._fill = fill
        await pilot.press("slash")
        await pilot.pause()
        # Every screen update the compositor hands to the (headless) driver.
        displays: list[float] = []
        display = app._display

        def displayed(screen_: Any, renderable: Any) -> None:
            if renderable is not None:
                displays.append(time.perf_counter())
            display(screen_, renderable)

        app._display = displayed
        keys: list[float] = []
        harness: list[float] = []
        # Where each key's time goes: until the page reaches the table (query in a worker),
        # refilling the table, and the screen update after it.
        breakdown: list[dict[str, float]] = []
        for n, char in enumerate(TYPED):
            if TYPED[: n + 1].strip() == TYPED[:n].strip():
                # A space at the end changes no filter: nothing is read or redrawn.
                await pilot.press(char)
                await pilot.pause()
                continue
            seen = len(fills)
            start = time.perf_counter()
            await pilot.press(char)
            await wait_for(pilot, lambda seen=seen: len(fills) > seen)
            begun, ended = fill_spans[-1]
            await wait_for(pilot, lambda ended=ended: bool(displays) and displays[-1] > ended)
            drawn = next(t for t in displays if t > ended)
            await pilot.pause()
            harness.append(time.perf_counter() - start)
            keys.append(drawn - start)
            breakdown.append(
                {
                    "to_fill_ms": 1000 * (begun - start),
                    "fill_ms": 1000 * (ended - begun),
                    "to_redraw_ms": 1000 * (drawn - ended),
                }
            )
        filtered_rows = table.row_count
        seen = len(fills)
        start = time.perf_counter()
        await pilot.press("escape")
        await wait_for(pilot, lambda: len(fills) > seen)
        await pilot.pause()
        clear = time.perf_counter() - start
        cleared_rows = table.row_count
    return {
        "first_screen_s": first,
        "first_rows": first_rows,
        "total": total,
        "keys_s": keys,
        "keys_breakdown": breakdown,
        "keys_with_pilot_pause_s": harness,
        "filtered_rows": filtered_rows,
        "clear_s": clear,
        "cleared_rows": cleared_rows,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Fill a database, drive the app, report."""
    from content.db import open_database
    from scheduler.config import load
    from tui import LoaApp  # type: ignore[attr-defined]  # the app (common puts it first)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="loa-bench-tui-") as tmp:
        work = Path(tmp)
        cfg = work / "channels.toml"
        common.write_channels_toml(cfg, "http://127.0.0.1:9", [str(i) for i in range(CHANNELS)])
        engine = open_database(common.fresh_db(work / "loa.db"))
        start = common.utc_in(3600)
        say(f"tui: {args.posts} posts")
        common.bulk_posts(
            engine,
            [
                Planned(
                    f"Bài tuyên truyền số {i}: cảnh giác lừa đảo",
                    f"page{i % CHANNELS}",
                    start + timedelta(minutes=10 * i),
                )
                for i in range(args.posts)
            ],
        )
        app = LoaApp(
            engine, load(cfg).directory(), actor="bench-officer", lang="en", refresh_seconds=3600
        )
        say("tui: driving the app through Pilot")
        r = asyncio.run(drive(app))
        engine.dispose()
    keys_ms = [1000 * k for k in r["keys_s"]]
    figures = [
        Figure("posts in the database", r["total"]),
        check("start to first full queue screen", r["first_screen_s"], "s", 1.0),
        Figure("rows shown on the first page", r["first_rows"]),
        check("filter keypress to redraw (median)", statistics.median(keys_ms), "ms", 100.0),
        check("filter keypress to redraw (max)", max(keys_ms), "ms", 100.0),
        Figure(
            "same, until Pilot's pause() returns (harness waits for idle)",
            statistics.median(1000 * k for k in r["keys_with_pilot_pause_s"]),
            "ms",
        ),
        Figure(f"rows matching {TYPED!r} (first page)", r["filtered_rows"]),
        Figure("clear filters (Escape) to redraw", 1000 * r["clear_s"], "ms"),
    ]
    return common.emit("tui", f"TUI with {args.posts:,} posts (5)", figures, r)


if __name__ == "__main__":
    main()
