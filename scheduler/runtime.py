"""Assemble a daemon from the configuration: channel clients, dispatcher and periodic jobs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

import httpx
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from content.queue import Queue
from content.times import utcnow
from scheduler.channels import build_channel
from scheduler.channels.base import Channel, ChannelError
from scheduler.channels.credentials import CredentialKeyError, TokenStore, refresh_if_due
from scheduler.config import Config, ZaloChannel
from scheduler.daemon import Daemon, DaemonSettings
from scheduler.metrics import collect

log = logging.getLogger("loa.daemon")

#: The daemon acts under this name in the audit log.
DAEMON_ACTOR = "loa-daemon"
METRICS_EVERY_SECONDS = 300.0
FEEDS_EVERY_SECONDS = 900.0
TOKENS_EVERY_SECONDS = 1800.0
ALERTS_EVERY_SECONDS = 300.0
#: The weekly summary leaves on Monday at 08:00, office time.
WEEKLY_REPORT: dict[str, Any] = {"day_of_week": "mon", "hour": 8, "minute": 0}
#: Filing-deadline reminders are looked for every hour of the office day (sent once each):
#: a daemon down one morning still sends it later that day or the next.
DEADLINE_REMINDERS: dict[str, Any] = {"hour": "7-20", "minute": 5}
#: The movement's calendar is looked at every hour of the office day too (each entry's drafts
#: are made once, from lead_days before its date): scheduler.calendar_jobs.
CALENDAR_DRAFTS: dict[str, Any] = {"hour": "7-20", "minute": 10}


def add_inbox_jobs(
    daemon: Daemon,
    config: Config,
    engine: Engine,
    channels: Mapping[str, Channel],
    clock: Callable[[], datetime],
) -> None:
    """The citizens' inbox jobs: webhook events the receiver stored and did not process yet,
    the backfill by API (at start, then every ``[inbox] backfill_minutes``), and the purge of
    personal data past the retention period."""
    from scheduler import inbox_jobs

    try:
        sealer = inbox_jobs.inbox_sealer(engine, config)
    except CredentialKeyError as exc:
        # Publishing goes on; citizens' messages wait (stored sealed) for the right key.
        log.error("inbox: %s; citizens' messages are not processed", exc)
        return
    processor = inbox_jobs.EventProcessor(engine, config, sealer, clock=clock)

    async def process() -> None:
        outcome = await asyncio.to_thread(processor.run)
        if outcome.messages:
            log.info("inbox: %d new messages from stored webhook events", outcome.messages)

    async def backfill() -> None:
        await inbox_jobs.backfill(engine, config, sealer, channels, clock=clock)

    async def purge() -> None:
        await asyncio.to_thread(inbox_jobs.purge, engine, config, now=clock())

    daemon.add_job("inbox_events", inbox_jobs.PROCESS_EVERY_SECONDS, process)
    daemon.add_job("inbox_backfill", config.inbox.backfill_minutes * 60.0, backfill)
    daemon.add_job("inbox_purge", inbox_jobs.PURGE_EVERY_SECONDS, purge)


def build_daemon(
    config: Config,
    engine: Engine,
    *,
    settings: DaemonSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Daemon:
    """A daemon with one client per configured channel and the standard periodic jobs."""
    # Only an office with a Zalo OA needs the credential key (a Facebook-only office on
    # PostgreSQL names none); made before anything runs, so another key stops the start.
    tokens = (
        TokenStore(engine, key_file=config.office.credential_key_file, clock=clock)
        if any(isinstance(ch, ZaloChannel) for ch in config.channels.values())
        else None
    )
    channels = {
        cid: build_channel(
            cid, config, engine=engine, transport=transport, clock=clock, tokens=tokens
        )
        for cid in config.channels
    }
    directory = config.directory()
    queue = Queue(engine, directory, actor=DAEMON_ACTOR, clock=clock)
    daemon = Daemon(engine, channels, queue, settings=settings or DaemonSettings(), clock=clock)
    daemon.dispatcher.per_channel = {cid: ch.max_concurrency for cid, ch in config.channels.items()}
    # A request a dead daemon had in flight is settled once its read timeout has passed.
    daemon.dispatcher.recovery_grace = timedelta(
        seconds=max(ch.timeout_seconds for ch in config.channels.values())
    )

    _add_upkeep_jobs(daemon, config, engine, channels, queue, tokens, transport, clock)
    if config.calendar:
        _add_calendar_job(daemon, config, engine, queue, clock, directory.office.timezone)
    if config.email is not None:
        _add_mail_jobs(daemon, config, engine, clock, directory.office.timezone)
    else:
        log.info("no [email] table: alerts and weekly summaries are not mailed")
    return daemon


def _add_upkeep_jobs(
    daemon: Daemon,
    config: Config,
    engine: Engine,
    channels: Mapping[str, Channel],
    queue: Queue,
    tokens: TokenStore | None,
    transport: httpx.AsyncBaseTransport | None,
    clock: Callable[[], datetime],
) -> None:
    """The jobs every daemon runs: figures, feeds, Zalo tokens, the inbox's."""

    async def metrics() -> None:
        await collect(engine, channels, clock)

    async def feeds() -> None:
        from content.feeds import poll

        results = await asyncio.to_thread(poll, engine, queue)
        for result in results:
            if result.error:
                log.warning("feed %s: %s", result.source.url, result.error)

    async def zalo_tokens() -> None:
        for cid, channel in config.channels.items():
            if not isinstance(channel, ZaloChannel):
                continue
            try:
                if await refresh_if_due(
                    cid, config, engine=engine, store=tokens, transport=transport, clock=clock
                ):
                    log.info("zalo token of %s refreshed", cid)
            except ChannelError as exc:
                log.error("zalo token of %s: %s", cid, exc.message)

    daemon.add_job("metrics", METRICS_EVERY_SECONDS, metrics)
    daemon.add_job("feeds", FEEDS_EVERY_SECONDS, feeds)
    daemon.add_job("tokens", TOKENS_EVERY_SECONDS, zalo_tokens)
    add_inbox_jobs(daemon, config, engine, channels, clock)


def _add_calendar_job(
    daemon: Daemon,
    config: Config,
    engine: Engine,
    queue: Queue,
    clock: Callable[[], datetime],
    office_tz: tzinfo,
) -> None:
    """The calendar's drafts, prepared at CALENDAR_DRAFTS office time."""

    async def calendar() -> None:
        from scheduler.calendar_jobs import prepare_due

        await asyncio.to_thread(prepare_due, engine, config, queue, clock(), worker=daemon.worker)

    daemon.add_job(
        "calendar",
        CronTrigger(timezone=office_tz, **CALENDAR_DRAFTS),
        calendar,
    )


def _add_mail_jobs(
    daemon: Daemon,
    config: Config,
    engine: Engine,
    clock: Callable[[], datetime],
    office_tz: tzinfo,
) -> None:
    """The mailed jobs: the alert digest, the report deadline reminders, the weekly summary."""
    from scheduler.alerts import send_alert_digest
    from scheduler.report import send_weekly_if_due

    async def alerts() -> None:
        sent = await asyncio.to_thread(
            send_alert_digest, engine, config, clock(), worker=daemon.worker
        )
        if sent:
            log.info("alert digest sent: %d alerts", sent)

    async def weekly() -> None:
        if await asyncio.to_thread(
            send_weekly_if_due, engine, config, clock(), worker=daemon.worker
        ):
            log.info("weekly summary sent")

    async def deadlines() -> None:
        from scheduler.report_deadlines import send_due_reminders

        await asyncio.to_thread(send_due_reminders, engine, config, clock(), worker=daemon.worker)

    daemon.add_job("alerts", ALERTS_EVERY_SECONDS, alerts)
    if config.reporting.deadlines:
        daemon.add_job(
            "report_deadlines",
            CronTrigger(timezone=office_tz, **DEADLINE_REMINDERS),
            deadlines,
        )
    daemon.add_job(
        "weekly_report",
        CronTrigger(timezone=office_tz, **WEEKLY_REPORT),
        weekly,
    )
