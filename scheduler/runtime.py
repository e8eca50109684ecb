"""Assemble a daemon from the configuration: channel clients, dispatcher and periodic jobs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
from sqlalchemy import Engine

from content.queue import Queue
from content.times import utcnow
from scheduler.channels import build_channel
from scheduler.config import Config
from scheduler.daemon import Daemon, DaemonSettings
from scheduler.metrics import collect

#: The daemon acts under this name in the audit log.
DAEMON_ACTOR = "loa-daemon"
METRICS_EVERY_SECONDS = 300.0


def build_daemon(
    config: Config,
    engine: Engine,
    *,
    settings: DaemonSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Daemon:
    """A daemon with one client per configured channel and the standard periodic jobs."""
    channels = {
        cid: build_channel(cid, config, engine=engine, transport=transport, clock=clock)
        for cid in config.channels
    }
    queue = Queue(engine, config.directory(), actor=DAEMON_ACTOR, clock=clock)
    daemon = Daemon(engine, channels, queue, settings=settings or DaemonSettings(), clock=clock)
    daemon.dispatcher.per_channel = {cid: ch.max_concurrency for cid, ch in config.channels.items()}

    async def metrics() -> None:
        await collect(engine, channels, clock)

    daemon.add_job("metrics", METRICS_EVERY_SECONDS, metrics)
    return daemon
