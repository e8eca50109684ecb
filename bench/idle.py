"""Idle cost: `loa daemon` CPU over a minute with 10,000 future posts and nothing due.

The daemon runs as a subprocess with its default settings (poll every 5 s); its CPU time is
read from /proc/<pid>/stat after a warm-up (start-up work and the first run of the periodic
jobs are excluded) and again ``--seconds`` later.

    python bench/idle.py [--posts 10000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import common  # bench/ is on sys.path when run as `python bench/idle.py`
from common import Figure, Planned, check, say

CHANNELS = 50
WARMUP_SECONDS = 5.0


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Queue future posts, start the daemon, measure its CPU while it waits."""
    from content.db import open_database
    from sandbox.testing import running_sandbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="loa-bench-idle-") as tmp,
        running_sandbox(seed=12, pages=CHANNELS, graph_call_budget=10**9) as sb,
    ):
        work = Path(tmp)
        pages = sb.page_ids[:CHANNELS]
        cfg = work / "channels.toml"
        common.write_channels_toml(cfg, sb.graph_url, pages)
        db = work / "loa.db"
        engine = open_database(common.fresh_db(db))
        start = common.utc_in(86400)  # tomorrow onwards: nothing due during the run
        say(f"idle: queueing {args.posts} future posts")
        common.bulk_posts(
            engine,
            [
                Planned(
                    f"Bài tương lai số {i}", f"page{i % CHANNELS}", start + timedelta(minutes=i)
                )
                for i in range(args.posts)
            ],
        )
        daemon = common.DaemonProcess.loa(
            db, cfg, common.token_env(sb, pages), work / "daemon.log", poll_seconds=5.0
        ).start()
        try:
            daemon.wait_for_log("started;")
            time.sleep(WARMUP_SECONDS)
            before = daemon.stats()
            say(f"idle: measuring the daemon's CPU for {args.seconds:.0f} s")
            time.sleep(args.seconds)
            after = daemon.stats()
        finally:
            daemon.stop()
        requests = sb.requests(limit=0)["summary"]["total"]
    cpu = after.cpu_seconds - before.cpu_seconds
    share = 100 * cpu / args.seconds
    figures = [
        Figure("future posts", args.posts),
        Figure("window", args.seconds, "s"),
        Figure("daemon CPU in the window", cpu, "s"),
        check("daemon CPU share of one core", share, "%", 1.0),
        Figure("daemon peak RSS", after.peak_rss_mb, "MB"),
        Figure("requests to the platforms", requests),
    ]
    details = {"posts": args.posts, "seconds": args.seconds, "cpu_seconds": cpu, "share": share}
    return common.emit("idle", "Idle cost (2)", figures, details)


if __name__ == "__main__":
    main()
