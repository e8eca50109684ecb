"""Where the daemon's burst CPU goes above bare httpx: the same burst, one layer at a time.

``bench/dispatch.py`` compares the whole daemon with bare httpx clients. This one runs the
same burst (``--deliveries`` posts round-robin over ``--channels`` sandbox Pages, 4 calls at
once per Page) through growing parts of Loa, each in its own process, in alternating
rounds, and prints each part's CPU per delivery against bare httpx's in the same round:

- ``bare``: ``httpx.AsyncClient`` per Page (``bench/bare_client.py``);
- ``graph``: Loa's Facebook client (``FacebookPage.publish``: ``make_client``, the pacing
  headers, the error mapping), no database;
- ``dispatcher``: the real :class:`scheduler.dispatch.Dispatcher` with those clients on a
  SQLite database (claims, group commits, the audit rows), logging as ``loa daemon`` does;
- ``daemon``: the real :class:`scheduler.daemon.Daemon` built by ``build_daemon`` from a
  channels.toml, its APScheduler jobs and heartbeat included.

    python bench/dispatch_parts.py [--deliveries 1000] [--channels 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from statistics import median
from typing import Any

import common  # puts this checkout first on sys.path
from common import Figure, Planned, say

PER_CHANNEL = 4
LATENCY_MS = (100, 300)
PARTS = ("bare", "graph", "dispatcher", "daemon")


# ---------------------------------------------------------------------- in the child


async def _graph(cfg: Path, n: int) -> tuple[int, float, float]:
    """The burst through FacebookPage clients alone."""
    from scheduler.channels import build_channel
    from scheduler.channels.base import OutgoingPost, Published
    from scheduler.config import load

    config = load(cfg)
    names = sorted(config.channels)
    channels = [build_channel(name, config, engine=None) for name in names]  # type: ignore[arg-type]
    slots = [asyncio.Semaphore(PER_CHANNEL) for _ in names]

    async def one(i: int) -> bool:
        k = i % len(names)
        async with slots[k]:
            got = await channels[k].publish(
                OutgoingPost(i + 1, names[k], f"[graph {i}] Cảnh giác lừa đảo qua mạng")
            )
            return isinstance(got, Published)

    gc.collect()
    gc.freeze()
    wall, cpu = time.perf_counter(), time.process_time()
    ok = await asyncio.gather(*(one(i) for i in range(n)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for channel in channels:
        await channel.aclose()
    return sum(ok), wall, cpu


def _queue(url: str, names: list[str], n: int, tag: str, in_seconds: float = -1.0) -> datetime:
    """Queue ``n`` posts round-robin over ``names``, due ``in_seconds`` from now."""
    from content.db import open_database

    engine = open_database(url)
    due = common.utc_in(in_seconds)
    common.bulk_posts(
        engine,
        [Planned(f"[{tag} {i}] Cảnh giác lừa đảo", names[i % len(names)], due) for i in range(n)],
    )
    engine.dispose()
    return due


def _dispatcher(cfg: Path, url: str, n: int) -> tuple[int, float, float]:
    """The burst through the Dispatcher with the real clients (no APScheduler)."""
    from content.db import open_database
    from content.heap import collect_young_less_often, freeze_startup_objects
    from content.queue import Queue
    from scheduler.channels import build_channel
    from scheduler.cli.daemon import configure_logging
    from scheduler.config import load
    from scheduler.dispatch import Dispatcher

    configure_logging("info")
    config = load(cfg)
    names = sorted(config.channels)
    engine = open_database(url)
    channels = {name: build_channel(name, config, engine=engine) for name in names}
    dispatcher = Dispatcher(
        engine, channels, Queue(engine, config.directory(), actor="daemon"), worker="parts"
    )
    dispatcher.per_channel = {name: PER_CHANNEL for name in names}
    # Warm: statements compiled, connections open, as a daemon that has run a while (one
    # event loop throughout: httpx's pooled connections belong to the loop that opened them).

    async def run() -> tuple[list[Any], float, float]:
        _queue(url, names, 2 * len(names), "warm")
        await dispatcher.run_due()
        _queue(url, names, n, "burst")
        gc.collect()
        freeze_startup_objects()  # as the daemon does once started
        with collect_young_less_often():
            wall, cpu = time.perf_counter(), time.process_time()
            results = await dispatcher.run_due()
        return results, time.perf_counter() - wall, time.process_time() - cpu

    results, wall, cpu = asyncio.run(run())
    return sum(1 for r in results if r.outcome == "published"), wall, cpu


def _daemon(cfg: Path, url: str, n: int) -> tuple[int, float, float]:
    """The burst through the whole daemon (``build_daemon``), run in this process."""
    from content.db import open_database
    from content.heap import limit_malloc_arenas
    from scheduler.cli.daemon import configure_logging
    from scheduler.config import load
    from scheduler.daemon import DaemonSettings
    from scheduler.dispatch import AttemptResult
    from scheduler.runtime import build_daemon

    configure_logging("info")
    limit_malloc_arenas()  # as `loa daemon` does
    config = load(cfg)
    names = sorted(config.channels)
    engine = open_database(url)
    # Its upkeep jobs (figures, feeds, tokens, the inbox, the channels' check) start with it
    # and then run minutes apart: here they would land in the burst, which comes seconds
    # after the start (bench/dispatch.py's burst comes between them, 80 s after its start).
    daemon = build_daemon(
        config, engine, settings=DaemonSettings(poll_seconds=5.0, channel_check_seconds=3600.0)
    )
    daemon.periodic.clear()

    async def run() -> tuple[int, float, float]:
        # Counted as the daemon reports its results (an observer), not by reading the
        # database from its loop: bench/dispatch.py reads it from another process.
        published, everything = 0, asyncio.Event()
        expected = 2 * len(names)

        def count(result: AttemptResult) -> None:
            nonlocal published
            published += result.outcome == "published"
            if published >= expected:
                everything.set()

        daemon.dispatcher.observers.append(count)
        task = asyncio.create_task(daemon.run_forever())
        _queue(url, names, expected, "warm")
        await everything.wait()
        await asyncio.sleep(1.0)
        everything.clear()
        expected += n
        # The burst falls due after the daemon's next poll (5 s), as in bench/dispatch.py;
        # its CPU is counted from two seconds before the due time.
        due = _queue(url, names, n, "burst", in_seconds=7)
        await asyncio.sleep((due - common.utc_in(0)).total_seconds() - 2.0)
        wall, cpu = time.perf_counter(), time.process_time()
        await everything.wait()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        daemon.stop()
        await task
        # Two seconds of waiting for the due time are not the burst's.
        return published - 2 * len(names), wall - 2.0, cpu

    return asyncio.run(run())


def child(part: str, cfg: Path, url: str, n: int, pages: Path, graph_url: str) -> None:
    """Run one part's burst and print its figures as JSON."""
    if part == "bare":
        import bare_client

        pairs = json.loads(pages.read_text())
        got = asyncio.run(bare_client.burst(graph_url, pairs, n, PER_CHANNEL))
        published, wall, cpu = int(got["published"]), got["drain_seconds"], got["cpu_seconds"]
    elif part == "graph":
        published, wall, cpu = asyncio.run(_graph(cfg, n))
    elif part == "dispatcher":
        published, wall, cpu = _dispatcher(cfg, url, n)
    else:
        published, wall, cpu = _daemon(cfg, url, n)
    print(json.dumps({"published": published, "wall": wall, "cpu": cpu}))


# ---------------------------------------------------------------------- the parent


def run_part(part: str, sb: Any, work: Path, n: int, channels: int) -> dict[str, float]:
    """One part's burst in a fresh process."""
    pages = sb.page_ids[:channels]
    cfg = work / "channels.toml"
    common.write_channels_toml(cfg, sb.graph_url, pages, max_concurrency=PER_CHANNEL)
    pages_file = work / "pages.json"
    pages_file.write_text(json.dumps([[p, sb.page_token(p)] for p in pages]))
    db = work / f"{part}-{time.monotonic_ns()}.db"
    url = common.fresh_db(db)
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            part,
            "--cfg",
            str(cfg),
            "--url",
            url,
            "--pages",
            str(pages_file),
            "--graph-url",
            f"{sb.graph_url}/v21.0",
            "--deliveries",
            str(n),
        ],
        capture_output=True,
        text=True,
        env=common.token_env(sb, pages),
        cwd=common.ROOT,
    )
    if out.returncode != 0:
        raise SystemExit(f"{part} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Alternate the parts for ``--rounds`` rounds; print each against bare httpx."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--child", choices=PARTS)
    parser.add_argument("--cfg", type=Path)
    parser.add_argument("--url")
    parser.add_argument("--pages", type=Path)
    parser.add_argument("--graph-url")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.cfg, args.url, args.deliveries, args.pages, args.graph_url)
        return

    from sandbox.testing import running_sandbox

    parts = args.parts.split(",")
    per_part: dict[str, list[float]] = {p: [] for p in parts}
    ratios: dict[str, list[float]] = {p: [] for p in parts}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_sandbox(
            seed=11,
            pages=args.channels,
            graph_call_budget=10**9,
            faults={"*": {"latency_ms": list(LATENCY_MS)}},
        ) as sb,
    ):
        for r in range(args.rounds):
            got = {p: run_part(p, sb, Path(tmp), args.deliveries, args.channels) for p in parts}
            base = got["bare"]["cpu"] / max(1, got["bare"]["published"]) if "bare" in got else 0
            for p, g in got.items():
                ms = 1000 * g["cpu"] / max(1, g["published"])
                per_part[p].append(ms)
                if base:
                    ratios[p].append(ms / (1000 * base))
            say(
                f"round {r + 1}: "
                + ", ".join(
                    f"{p} {1000 * g['cpu'] / max(1, g['published']):.3f} ms "
                    f"({g['published']:.0f}, {g['wall']:.2f} s)"
                    for p, g in got.items()
                )
            )
    figures = []
    for p in parts:
        figures.append(Figure(f"{p}: CPU per delivery (median)", median(per_part[p]), "ms"))
        if ratios[p] and p != "bare":
            figures.append(
                Figure(f"{p}: / bare httpx, same round (median)", median(ratios[p]), "x")
            )
    common.emit(
        "dispatch_parts",
        "The burst's CPU, one layer at a time",
        figures,
        {"cpu_ms": per_part, "ratio_to_bare": ratios},
    )


if __name__ == "__main__":
    main()
