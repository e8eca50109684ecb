"""`loa daemon` for the chaos benchmark, with its waits scaled down to fit a few minutes.

The same assembly as ``scheduler/cli/daemon.py`` (build_daemon, the SQLite single-daemon
lock, run_forever until SIGTERM) with two timings shortened, and nothing else changed:

* retries back off from 2 s instead of 30 s (max 30 s; attempts and jitter as shipped), so a
  delivery that fails three times still settles within the run;
* paused channels are asked for their health every 5 s instead of 60 s.

    python bench/chaos_daemon.py --db loa.db --config channels.toml [--poll-seconds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

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
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(
        level="INFO", format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s"
    )
    engine = open_database(f"sqlite:///{args.db.resolve()}")
    config = load(args.config)
    settings = DaemonSettings(
        poll_seconds=args.poll_seconds, channel_check_seconds=CHANNEL_CHECK_SECONDS
    )
    with SingleDaemonLock(args.db.resolve()):

        async def run() -> None:
            daemon = build_daemon(config, engine, settings=settings)
            daemon.dispatcher.policy = RetryPolicy(
                base_delay=RETRY_BASE_SECONDS, max_delay=RETRY_MAX_SECONDS
            )
            try:
                await daemon.run_forever()
            finally:
                await daemon.close()

        asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
