"""`loa daemon` for the chaos benchmark, with its waits scaled down to fit a few minutes.

The same assembly as ``scheduler/cli/daemon.py`` (build_daemon, the single-daemon lock on
SQLite, run_forever until SIGTERM) with two timings shortened, and nothing else changed:

* retries back off from 2 s instead of 30 s (max 30 s; attempts and jitter as shipped), so a
  delivery that fails three times still settles within the run;
* paused channels are asked for their health every 5 s instead of 60 s;
* with ``--silent-after S``, a daemon whose heartbeat is silent for S seconds (instead of 30)
  has its claims taken back by the others (tests of a killed daemon on PostgreSQL).

    python bench/chaos_daemon.py --db loa.db --config channels.toml [--poll-seconds 1]
    python bench/chaos_daemon.py --database-url postgresql+psycopg://... --config channels.toml

Several of them may share one PostgreSQL database (claims with SKIP LOCKED, heartbeats);
SQLite allows one daemon, so only there the lock beside the database file is taken.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 30.0
CHANNEL_CHECK_SECONDS = 5.0


def main() -> int:
    """Run the daemon until SIGTERM."""
    from content.db import open_database
    from scheduler.config import load
    from scheduler.daemon import DaemonSettings, SingleDaemonLock
    from scheduler.dispatch import RetryPolicy
    from scheduler.runtime import build_daemon

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="a SQLite database file")
    where.add_argument("--database-url", help="any database URL (e.g. PostgreSQL)")
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    parser.add_argument("--silent-after", type=float, help="seconds (default: as shipped)")
    args = parser.parse_args()
    logging.basicConfig(
        level="INFO", format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s"
    )
    url = args.database_url or f"sqlite:///{args.db.resolve()}"
    engine = open_database(url)
    config = load(args.config)
    settings = DaemonSettings(
        poll_seconds=args.poll_seconds, channel_check_seconds=CHANNEL_CHECK_SECONDS
    )
    # SQLite takes one writer at a time, so one daemon per file (as `loa daemon` enforces);
    # on PostgreSQL several daemons share the work and nothing is locked here.
    lock: AbstractContextManager[Any] = nullcontext()
    if engine.dialect.name == "sqlite":
        database = Path(engine.url.database or "")
        lock = SingleDaemonLock(database.resolve())
    with lock:

        async def run() -> None:
            daemon = build_daemon(config, engine, settings=settings)
            daemon.dispatcher.policy = RetryPolicy(
                base_delay=RETRY_BASE_SECONDS, max_delay=RETRY_MAX_SECONDS
            )
            if args.silent_after is not None:
                daemon.dispatcher.silent_after = timedelta(seconds=args.silent_after)
            try:
                await daemon.run_forever()
            finally:
                await daemon.close()

        asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
