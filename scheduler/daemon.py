"""The unattended daemon: APScheduler 3.11 provides the clock, the database is the queue.

Jobs (all in one asyncio loop, each ``max_instances=1`` and coalesced, so a slow job never
piles up and never blocks another):

* ``dispatch`` - a date job armed shortly before the earliest due delivery; it wakes the
  dispatcher's pipeline (:meth:`Dispatcher.serve`, a task of its own), which claims the
  delivery and starts its call on the due millisecond. The pipeline re-arms the job after
  each claim, with the next due time it has seen;
* ``poll`` - every few seconds: wakes the pipeline, which notices posts added or moved by
  other processes (the TUI, the CLI) and re-arms ``dispatch``; also takes back claims of
  dead daemons;
* ``channels`` - asks paused channels whether their token works again;
* ``tokens`` - refreshes Zalo access tokens well before they expire;
* extra jobs (metrics, feeds, reports) registered by :func:`add_job`.

SIGTERM/SIGINT stop claiming new work, let in-flight calls finish (bounded) and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import Engine

from content.errors import LoaError
from content.health import SILENT_AFTER
from content.heap import collect_young_less_often, freeze_startup_objects
from content.queue import Queue
from content.times import utcnow
from scheduler.channels.base import Channel
from scheduler.dispatch import Dispatcher, paused_channels, resume_channel

log = logging.getLogger("loa.daemon")

Job = Callable[[], Awaitable[Any]]


class DaemonAlreadyRunning(LoaError):
    """A second daemon on one SQLite database would fight over it."""


@dataclass
class DaemonSettings:
    """Timings of the daemon's jobs."""

    poll_seconds: float = 5.0
    channel_check_seconds: float = 60.0
    #: How long in-flight publishes may take to finish after SIGTERM.
    shutdown_grace_seconds: float = 30.0


@dataclass
class Daemon:
    """One daemon process: a dispatcher plus the periodic jobs."""

    engine: Engine
    channels: Mapping[str, Channel]
    queue: Queue
    settings: DaemonSettings = field(default_factory=DaemonSettings)
    clock: Callable[[], datetime] = utcnow
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    periodic: dict[str, tuple[float | BaseTrigger, Job]] = field(default_factory=dict)
    dispatcher: Dispatcher = field(init=False)
    _armed_at: datetime | None = field(default=None, init=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _pipeline: asyncio.Task[None] | None = field(default=None, init=False)
    #: The poll's database work (in a thread), which the scheduler's shutdown cannot stop.
    _polling: asyncio.Future[None] | None = field(default=None, init=False)
    _scheduler: AsyncIOScheduler | None = field(default=None, init=False)
    #: When the poll last reached the database (``/healthz`` says the daemon is stuck or cut
    #: off from its database when this grows old).
    last_tick: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(
            self.engine,
            self.channels,
            self.queue,
            worker=self.worker,
            clock=self.clock,
            # Silent for several polls in a row: dead, not slow.
            silent_after=self.silent_after,
        )

    @property
    def single_host(self) -> bool:
        """SQLite: one daemon only, so every ``sending`` row at start-up is an orphan."""
        return self.engine.dialect.name == "sqlite"

    def add_job(self, name: str, when: float | BaseTrigger, job: Job) -> None:
        """Register a periodic job: every ``when`` seconds, or on an APScheduler trigger."""
        self.periodic[name] = (when, job)

    # ------------------------------------------------------------------ run modes

    async def run_once(self) -> None:
        """Run every job that is due once, then return (``loa daemon --once``, cron users)."""
        self.dispatcher.recover(everything=self.single_host)
        await self.dispatcher.run_due()
        await self._check_channels()
        for name, (_every, job) in self.periodic.items():
            await self._guarded(name, job)

    async def run_forever(self) -> None:
        """Serve until SIGTERM/SIGINT."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        await asyncio.to_thread(self.dispatcher.recover, everything=self.single_host)
        scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._scheduler = scheduler
        scheduler.add_job(self._poll, "interval", seconds=self.settings.poll_seconds, id="poll")
        scheduler.add_job(
            self._check_channels,
            "interval",
            seconds=self.settings.channel_check_seconds,
            id="channels",
        )
        for name, (when, job) in self.periodic.items():
            if isinstance(when, BaseTrigger):
                # Calendar jobs (the weekly report): hours of grace, then the once-guard.
                scheduler.add_job(
                    self._guarded, when, args=(name, job), id=name, misfire_grace_time=6 * 3600
                )
                continue
            scheduler.add_job(
                self._guarded,
                "interval",
                seconds=when,
                args=(name, job),
                id=name,
                next_run_time=self.clock(),
                # A periodic job late by more than half its period just waits for the next.
                misfire_grace_time=max(1, int(when / 2)),
            )
        scheduler.start()
        self.dispatcher.on_next_due = self._arm
        # Poll first: its heartbeat is the one the pipeline's first claim needs (the rule is
        # Dispatcher._claim's, which beats itself when nothing has; polling first saves that
        # second write at start-up).
        await self._poll()
        self._pipeline = asyncio.create_task(self._serve())
        freeze_startup_objects()
        with collect_young_less_often():
            log.info("daemon %s started; %d channels", self.worker, len(self.channels))
            await self._stopping.wait()
            # Drain before shutting the scheduler down: its executor cancels running jobs.
            clean = await self._drain()
        scheduler.shutdown(wait=False)
        if self._polling is not None:
            # A poll the shutdown cancelled still runs in its thread: its beat must not land
            # after the sign-off (the heartbeat would say a stopped daemon still runs, and
            # `loa restore` would refuse to run).
            await asyncio.wait([self._polling])
        if clean:
            with contextlib.suppress(Exception):  # it goes stale and is removed all the same
                await asyncio.to_thread(self.dispatcher.sign_off)
        log.info("daemon %s stopped", self.worker)

    async def close(self) -> None:
        """Close every channel's connections."""
        for channel in self.channels.values():
            await channel.aclose()

    def stop(self) -> None:
        """Ask the daemon to finish in-flight work and exit."""
        if not self._stopping.is_set():
            log.info("stopping: finishing in-flight publishes")
        self._stopping.set()

    # ------------------------------------------------------------------ jobs

    async def _poll(self) -> None:
        """Beat, take back dead daemons' claims, re-arm the dispatch job at the earliest due
        time (posts may have changed)."""
        polling = self._polling = asyncio.ensure_future(asyncio.to_thread(self._poll_database))
        try:
            await asyncio.shield(polling)
        except asyncio.CancelledError:
            if self._stopping.is_set():
                return  # the scheduler's shutdown cancels a poll in flight: nothing is lost
            raise
        except Exception as exc:
            if not self.dispatcher.outage.absorbed(exc, "polling the queue"):
                raise
            return
        self.last_tick = self.clock()
        # Posts another process queued or moved: the pipeline claims what is due and arms
        # the dispatch job at the next due time it sees.
        self.dispatcher.wake()

    @property
    def silent_after(self) -> timedelta:
        """How long without a tick before this daemon counts as stuck (several polls)."""
        return max(SILENT_AFTER, timedelta(seconds=4 * self.settings.poll_seconds))

    def _poll_database(self) -> None:
        dispatcher = self.dispatcher
        dispatcher.beat()
        # Claims of a daemon whose heartbeat went silent (PostgreSQL), and claims older than
        # the lease (a daemon that never beat, or an attempt whose result could not be
        # stored): look them up again.
        dispatcher.recover()
        dispatcher.outage.answered()

    def _arm(self, due: datetime | None) -> None:
        """Arm the ``dispatch`` job to wake the pipeline ahead of ``due`` (half its lead:
        the claim then also takes what falls due just after, in one transaction)."""
        if self._scheduler is None or self._stopping.is_set():
            return
        # APScheduler removes a date job once it has run: the same due time may have
        # nothing armed any more.
        if due == self._armed_at and (due is None or self._scheduler.get_job("dispatch")):
            return
        self._armed_at = due
        if due is None:
            with contextlib.suppress(Exception):
                self._scheduler.remove_job("dispatch")
            return
        wake_at = due - timedelta(seconds=self.dispatcher.lead / 2)
        self._scheduler.add_job(
            self._wake,
            "date",
            run_date=max(wake_at, self.clock()),
            id="dispatch",
            replace_existing=True,
        )

    async def _wake(self) -> None:
        # A coroutine, so APScheduler runs it in the loop (a plain function would run in a
        # thread, where an asyncio event must not be set).
        self._armed_at = None
        self.dispatcher.wake()

    async def _serve(self) -> None:
        """The dispatcher's pipeline for the daemon's life; a failure restarts it."""
        while not self._stopping.is_set():
            try:
                await self.dispatcher.serve()
            except Exception as exc:
                if not self.dispatcher.outage.absorbed(exc, "dispatching"):
                    log.exception("dispatch failed; starting again")
                # Not in a tight loop: the next poll wakes a fresh pipeline.
                await asyncio.sleep(min(1.0, self.settings.poll_seconds))
            else:
                return

    async def _check_channels(self) -> None:
        """Resume paused channels whose token works again."""
        await self._guarded("channels", self._resume_channels)

    async def _resume_channels(self) -> None:
        paused = await asyncio.to_thread(paused_channels, self.engine)
        for channel_id in paused:
            channel = self.channels.get(channel_id)
            if channel is None:
                continue
            try:
                health = await channel.health()
            except Exception as exc:
                log.info("channel %s still paused: %s", channel_id, exc)
                continue
            if health.ok:
                await asyncio.to_thread(resume_channel, self.engine, channel_id, self.clock)

    async def _guarded(self, name: str, job: Job) -> None:
        """Run a periodic job; a failure is logged and the daemon goes on."""
        if self._stopping.is_set():
            return
        try:
            await job()
        except asyncio.CancelledError:
            # The scheduler's shutdown cancels the jobs still running (a metrics round, a
            # health check waiting for a token refresh): an expected end, not a failure
            # to show as a traceback at every restart.
            if not self._stopping.is_set():
                raise
            log.info("job %s stopped with the daemon; it runs again at the next start", name)
        except Exception as exc:
            if not self.dispatcher.outage.absorbed(exc, f"running the {name} job"):
                log.exception("job %s failed; it runs again at its next time", name)

    async def _drain(self) -> bool:
        """Let the calls in flight finish (bounded); True when none was left behind."""
        self.dispatcher.stop()
        pipeline = self._pipeline
        if pipeline is None or pipeline.done():
            return True
        # asyncio.wait leaves the pipeline running when it times out (or is cancelled): a
        # publish in flight still finishes and is recorded.
        done, _ = await asyncio.wait([pipeline], timeout=self.settings.shutdown_grace_seconds)
        if not done:
            log.warning(
                "publishes did not finish in %.0fs; they will be checked at the next start",
                self.settings.shutdown_grace_seconds,
            )
            return False
        return True


class SingleDaemonLock:
    """On SQLite, refuse a second daemon on the same database (a lock file beside it)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".daemon.lock")
        self._file: IO[str] | None = None

    def __enter__(self) -> SingleDaemonLock:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "?"
            handle.close()
            raise DaemonAlreadyRunning(
                "daemon_running", owner=owner, database=str(self.database)
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def lateness_summary(values: list[float]) -> dict[str, float]:
    """p50/p99/max of lateness seconds (for `loa demo` and the benchmarks)."""
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]

    return {"p50": pct(0.5), "p99": pct(0.99), "max": ordered[-1]}
