"""`loa daemon` and `loa status`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from contextlib import nullcontext
from pathlib import Path

from content.heap import limit_malloc_arenas
from content.times import local_text, utcnow
from scheduler.cli.common import Context, subcommand_parent, unattended
from scheduler.status import queue_status


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``daemon`` and ``status``."""
    daemon = subparsers.add_parser(
        "daemon", parents=[subcommand_parent()], help="publish on time, unattended"
    )
    daemon.add_argument("--once", action="store_true", help="run every due job once and exit")
    daemon.add_argument(
        "--poll-seconds", type=float, default=5.0, help="how often to look for new posts"
    )
    daemon.add_argument("--log-level", default="info", choices=("debug", "info", "warning"))
    daemon.set_defaults(handler=run_daemon)
    unattended(daemon)

    status = subparsers.add_parser(
        "status", parents=[subcommand_parent()], help="queue depth, late posts, failing channels"
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=run_status)
    # Figures only (no post text): monitoring runs it as the service user.
    unattended(status)


#: Libraries whose INFO lines repeat Loa's own: httpx logs every request it sends, which
#: under a burst was two lines of three in the daemon's log (and a few % of its CPU).
CHATTY_LOGGERS = ("httpx",)


def configure_logging(level: str) -> None:
    """Log to stderr at ``level`` (debug, info, warning); per-request HTTP lines only at debug."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s",
    )
    quiet = logging.NOTSET if level == "debug" else logging.WARNING
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)


def run_daemon(args: argparse.Namespace) -> int:
    """Start the daemon (or run its jobs once)."""
    from scheduler.daemon import DaemonSettings, SingleDaemonLock
    from scheduler.runtime import build_daemon

    configure_logging(args.log_level)
    # Before any worker thread: each would otherwise keep its own pool of freed photo memory.
    limit_malloc_arenas()
    ctx = Context(args)
    engine = ctx.engine
    lock = (
        SingleDaemonLock(Path(engine.url.database or "loa.db"))
        if engine.dialect.name == "sqlite"
        else nullcontext()
    )
    with lock:
        settings = DaemonSettings(poll_seconds=args.poll_seconds)

        async def main() -> None:
            daemon = build_daemon(ctx.config, engine, settings=settings)
            try:
                if args.once:
                    await daemon.run_once()
                else:
                    await daemon.run_forever()
            finally:
                await daemon.close()

        asyncio.run(main())
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print the queue's state."""
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    report = queue_status(ctx.engine, utcnow(), list(ctx.config.channels))
    if args.json:
        data = {
            "waiting": report.waiting,
            "due_now": report.due_now,
            "late": report.late,
            "sending": report.sending,
            "failed": report.failed,
            "needs_review": report.needs_review,
            "channels": [
                {
                    "channel": c.channel,
                    "waiting": c.waiting,
                    "failed": c.failed,
                    "needs_review": c.needs_review,
                    "paused": c.paused,
                    "paused_reason": c.paused_reason,
                    "last_success_at": c.last_success_at.astimezone(tz).isoformat()
                    if c.last_success_at
                    else None,
                }
                for c in report.channels
            ],
            "daemons": [
                {
                    "worker": d.worker,
                    "alive": d.alive,
                    "started_at": d.started_at.astimezone(tz).isoformat(),
                    "seen_at": d.seen_at.astimezone(tz).isoformat(),
                }
                for d in report.daemons
            ],
        }
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(
        f"waiting {report.waiting}, due now {report.due_now}, late {report.late}, "
        f"sending {report.sending}, failed {report.failed}, needs review {report.needs_review}"
    )
    alive = [d for d in report.daemons if d.alive]
    if alive:
        print(
            "daemons: "
            + ", ".join(f"{d.worker} (started {local_text(d.started_at, tz)})" for d in alive)
        )
    else:
        print("NO DAEMON RUNNING: nothing is published until `loa daemon` runs")
    for c in report.channels:
        flag = f"PAUSED: {c.paused_reason}" if c.paused else "ok"
        print(
            f"  {c.channel:<16} {flag:<10} waiting {c.waiting:<4} failed {c.failed:<4} "
            f"review {c.needs_review:<4} last published {local_text(c.last_success_at, tz)}"
        )
    return 0
