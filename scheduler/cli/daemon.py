"""`loa daemon` and `loa status`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from content.errors import ValidationError
from content.health import FAILED, LATE, LATE_AFTER, NEEDS_REVIEW, NO_DAEMON, PAUSED, Problem
from content.heap import limit_malloc_arenas
from content.i18n import _, ngettext
from content.times import office_text, utcnow
from scheduler.cli.common import Context, subcommand_parent, unattended
from scheduler.status import QueueStatus, queue_status


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
    daemon.add_argument(
        "--metrics-port",
        type=int,
        metavar="N",
        help="serve Prometheus metrics on /metrics and liveness on /healthz at this port",
    )
    daemon.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address the metrics listen on (default 127.0.0.1: this machine only)",
    )
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
#: under a burst was two lines of three in the daemon's log (and a few % of its CPU), and
#: APScheduler's executor says "Running job" and "executed successfully" for the 5-second
#: poll (~35,000 lines a day, nine lines in ten). Their warnings still show.
CHATTY_LOGGERS = ("httpx", "apscheduler.executors")
#: The queue's counts `loa status` prints first (QueueStatus's fields).
_COUNTS = ("waiting", "due_now", "late", "sending", "failed", "needs_review")


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

    if args.metrics_port is not None and args.once:
        raise ValidationError("metrics_with_once", field="--metrics-port")
    if args.metrics_port is not None and not 0 < args.metrics_port < 65536:
        raise ValidationError("port_range", field="--metrics-port", port=args.metrics_port, low=1)
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
            server = None
            try:
                if args.metrics_port is not None:
                    from scheduler.observability import MetricsServer, observe_daemon

                    server = MetricsServer(
                        observe_daemon(daemon), args.metrics_host, args.metrics_port
                    )
                if args.once:
                    await daemon.run_once()
                else:
                    await daemon.run_forever()
            finally:
                if server is not None:
                    server.close()
                await daemon.close()

        asyncio.run(main())
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print the queue's state; exit 1 when something needs a person (for monitoring).

    Unhealthy (see :mod:`content.health`): no daemon alive while posts wait, a delivery
    late, failed or needing review, or a paused channel.
    """
    ctx = Context(args)
    tz = ctx.config.directory().office.timezone
    report = queue_status(ctx.engine, utcnow(), list(ctx.config.channels))
    problems = report.health.problems if report.health else ()
    code = 0 if report.healthy else 1
    if args.json:
        data = _status_json(report, problems, tz)
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return code
    print(
        _(
            "waiting {waiting}, due now {due_now}, late {late}, sending {sending}, "
            "failed {failed}, needs review {needs_review}"
        ).format(**{name: getattr(report, name) for name in _COUNTS})
    )
    alive = [d for d in report.daemons if d.alive]
    if alive:
        started = _("{worker} (started {time})")
        running = ", ".join(
            started.format(worker=d.worker, time=office_text(d.started_at, tz)) for d in alive
        )
        print(_("daemons: {running}").format(running=running))
    elif not any(p.code == NO_DAEMON for p in problems):
        print(_("daemons: none running (nothing is waiting for one)"))
    for problem in problems:
        print(problem_line(problem, tz))
    for c in report.channels:
        flag = _("PAUSED: {reason}").format(reason=c.paused_reason) if c.paused else _("ok")
        figures = _(
            "waiting {waiting:<4} failed {failed:<4} review {review:<4} last published {time}"
        ).format(
            waiting=c.waiting,
            failed=c.failed,
            review=c.needs_review,
            time=office_text(c.last_success_at, tz),
        )
        print(f"  {c.channel:<16} {flag:<10} {figures}")
    return code


def _status_json(report: QueueStatus, problems: Sequence[Problem], tz: ZoneInfo) -> dict[str, Any]:
    """``loa status --json``: the counts, each channel, each daemon, the problems."""
    return {
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
        "healthy": report.healthy,
        "problems": [problem_json(p, tz) for p in problems],
    }


def problem_json(problem: Problem, tz: ZoneInfo) -> dict[str, Any]:
    """``{"code": "late", "n": 3}``: a problem's code and figures, times in office time."""
    data: dict[str, Any] = {"code": problem.code}
    for key, value in problem.params.items():
        data[key] = value.astimezone(tz).isoformat() if isinstance(value, datetime) else value
    return data


def problem_line(problem: Problem, tz: ZoneInfo) -> str:
    """One line of ``loa status`` per problem: an upper-case tag, then what to do."""
    p = problem.params
    if problem.code == NO_DAEMON:
        seen = (
            _("last heartbeat {time}").format(time=office_text(p["since"], tz))
            if p.get("since")
            else _("none running since the last one stopped, or never started")
        )
        return _(
            "NO DAEMON RUNNING: nothing is published until `loa daemon` runs "
            "({waiting} waiting; {seen})"
        ).format(waiting=p["waiting"], seen=seen)
    if problem.code == LATE:
        late = int(LATE_AFTER.total_seconds() // 60)
        return ngettext(
            "LATE {n}: deliveries ({posts} post) more than {minutes} min past their time, "
            "not published",
            "LATE {n}: deliveries ({posts} posts) more than {minutes} min past their time, "
            "not published",
            p["posts"],
        ).format(n=p["n"], posts=p["posts"], minutes=late)
    if problem.code == FAILED:
        return _("FAILED {n}: deliveries failed; see `loa post show`, then retry or fix").format(
            n=p["n"]
        )
    if problem.code == NEEDS_REVIEW:
        return _(
            "NEEDS REVIEW {n}: deliveries may or may not be on the platform; check and settle "
            "with `loa post resolve`"
        ).format(n=p["n"])
    if problem.code == PAUSED:
        return _(
            "PAUSED {channels}: posts wait until the token is renewed and `loa channels resume` "
            "runs"
        ).format(channels=", ".join(p["channels"]))
    return f"{problem.code.upper()}: {p}"
