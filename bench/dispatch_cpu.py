"""The dispatcher's own CPU per delivery, without HTTP: claiming and recording a burst.

``bench/dispatch.py`` measures the whole daemon against the sandbox; most of that CPU is
httpx's. This one takes HTTP away to look at what is Loa's alone: a burst of ``--deliveries``
posts due now on ``--channels`` channels whose calls answer at once, claimed and recorded by
the real :class:`scheduler.dispatch.Dispatcher` (lanes, group commits, the queue settling
each post with its audit row), as the daemon runs it (its start-up frozen out of the
collector's passes, young collections less often).

    python bench/dispatch_cpu.py [--deliveries 1000] [--channels 50] [--database postgresql]

Prints CPU per delivery (all threads) and the Python loop's speed in the same run, so two
runs on different machines can be compared by their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import common  # puts this checkout first on sys.path: content/ and scheduler/ come from it

from content.db import open_database
from content.heap import collect_young_less_often, freeze_startup_objects
from content.office import ChannelDirectory, ChannelInfo, OfficeSettings
from content.queue import Queue
from scheduler.channels.base import OutgoingPost, Published
from scheduler.dispatch import Dispatcher


class InstantChannel:
    """A channel whose every publish succeeds at once, or after a latency drawn from
    ``latency`` seconds (no HTTP either way)."""

    kind = "facebook"

    def __init__(self, channel_id: str, latency: tuple[float, float] | None = None) -> None:
        self.id = channel_id
        self.calls = 0
        self.latency = latency
        self.rng = random.Random(channel_id)

    async def publish(self, post: OutgoingPost) -> Published:
        self.calls += 1
        # An answer arrives later than the call leaves; with a latency, as a platform's do,
        # so the results come back spread out and the lanes claim as their slots free.
        await asyncio.sleep(self.rng.uniform(*self.latency) if self.latency else 0)
        return Published(f"{self.id}_{post.delivery_id}")

    async def find(self, post: OutgoingPost) -> None:
        return None


def run(
    url: str, n: int, channels: int, latency: tuple[float, float] | None = None
) -> dict[str, float]:
    """Queue ``n`` posts due now over ``channels`` channels; drain them; CPU figures."""
    engine = open_database(url)
    names = [f"page-{i:03d}" for i in range(channels)]
    directory = ChannelDirectory(
        OfficeSettings(),
        {name: ChannelInfo(name, "facebook", name) for name in names},
    )

    def burst(count: int) -> None:
        common.bulk_posts(
            engine,
            [
                common.Planned(f"[{i}] Cảnh giác lừa đảo", names[i % channels], common.utc_in(-1))
                for i in range(count)
            ],
        )

    fakes = {name: InstantChannel(name, latency) for name in names}
    dispatcher = Dispatcher(
        engine, fakes, Queue(engine, directory, actor="daemon"), worker="bench-cpu"
    )
    # A warm daemon: its statements compiled and its mappers configured by earlier work.
    burst(2 * channels)
    asyncio.run(dispatcher.run_due())
    burst(n)
    gc.collect()
    freeze_startup_objects()  # as the daemon does after start-up
    with collect_young_less_often():
        wall, cpu = time.perf_counter(), time.process_time()
        results = asyncio.run(dispatcher.run_due())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    published = sum(1 for r in results if r.outcome == "published")
    engine.dispose()
    return {
        "published": published,
        "calls": sum(f.calls for f in fakes.values()) - 2 * channels,
        "wall_seconds": wall,
        "cpu_ms_per_delivery": 1000 * cpu / max(1, n),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the arguments, run, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--latency-ms",
        default="",
        help="answer after LO,HI ms (e.g. 100,300, as bench/dispatch.py's sandbox) instead of "
        "at once: results then come back spread out, in the groups and claims of a real burst",
    )
    args = parser.parse_args(argv)
    latency = None
    if args.latency_ms:
        lo, hi = (float(v) / 1000 for v in args.latency_ms.split(","))
        latency = (lo, hi)
    loop = common.python_loop_seconds()
    figures: list[common.Figure] = [common.Figure("python loop (10M steps)", loop, "s")]
    best: dict[str, float] | None = None
    for attempt in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            scope: Any = (
                common.postgres_database(f"loa_bench_cpu_{attempt}")
                if args.database == "postgresql"
                else nullcontext(common.fresh_db(Path(tmp) / "loa.db"))
            )
            with scope as url:
                got = run(url, args.deliveries, args.channels, latency)
        common.say(f"run {attempt + 1}: {got['cpu_ms_per_delivery']:.3f} ms per delivery")
        if got["published"] != args.deliveries:
            raise SystemExit(f"only {got['published']} of {args.deliveries} published")
        if best is None or got["cpu_ms_per_delivery"] < best["cpu_ms_per_delivery"]:
            best = got
    assert best is not None
    figures += [
        common.Figure("deliveries published", best["published"], ""),
        common.Figure(
            "dispatcher CPU per delivery, no HTTP (best run)", best["cpu_ms_per_delivery"], "ms"
        ),
        common.Figure(
            "dispatcher CPU per delivery / python loop",
            best["cpu_ms_per_delivery"] / loop,
            "ms/s",
        ),
    ]
    common.emit("dispatch_cpu", "Dispatcher CPU without HTTP", figures, {"best": best})
    return best


if __name__ == "__main__":
    main()
