"""Prometheus metrics and ``/healthz`` for ``loa daemon --metrics-port N``.

(Engagement figures, what :mod:`scheduler.metrics` collects, are something else: these say
whether the daemon itself works.)

Two kinds of series, on one registry per daemon:

* **Events, counted in this process** as they happen: ``loa_delivery_outcomes_total``
  (every attempt's outcome, by channel) and ``loa_publish_lateness_seconds`` (a histogram
  of published_at minus the post's scheduled time). Several daemons each count their own;
  Prometheus adds them up.
* **State, read from the database at scrape time** by :class:`DatabaseCollector`: queue
  depth, paused channels, seconds since the last publish, token expiry. The database is the
  single source of truth, so several daemons on one PostgreSQL database report the same
  figures, and a figure is never stale by a poll.

The HTTP server runs in its own threads (a scrape's queries never block the daemon's
event loop) and listens on 127.0.0.1 unless told otherwise: the figures name channels and
need no password, so exposing them is the operator's choice.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    make_wsgi_app,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func
from sqlmodel import col, select

from content.db import session_scope
from content.errors import LoaError
from content.health import SILENT_AFTER
from content.messages import os_reason
from content.models import ChannelState, Credential, DaemonHeartbeat, Delivery, DeliveryState
from scheduler.daemon import Daemon
from scheduler.dispatch import AttemptResult

log = logging.getLogger("loa.observability")

DEFAULT_HOST = "127.0.0.1"
#: Lateness buckets (seconds): on time is under a second or two; a minute is late
#: (content.health.LATE_AFTER); an hour is an outage.
LATENESS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf"))
#: How often the daemon asks Graph when its Page tokens expire (one light call per Page).
TOKEN_EXPIRY_EVERY_SECONDS = 6 * 3600.0

Clock = Callable[[], datetime]
#: channel id -> when its token expires (only channels where that is known).
ExpiryReader = Callable[[], Mapping[str, datetime]]


class MetricsUnavailable(LoaError):
    """The metrics port cannot be opened (code ``metrics_bind``: ``host``, ``port``,
    ``reason``)."""


class EventMetrics:
    """The counters and the histogram fed by the dispatcher's results."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.outcomes = Counter(
            "loa_delivery_outcomes",
            "Delivery attempts finished by this daemon, by channel and outcome (published, "
            "processing, retry, failed, needs_review, paused, found, lost-claim).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.lateness = Histogram(
            "loa_publish_lateness_seconds",
            "Seconds from a post's scheduled time to its publication on a channel "
            "(published_at - scheduled time), for deliveries this daemon published.",
            ["channel"],
            buckets=LATENESS_BUCKETS,
            registry=registry,
        )

    def observe(self, result: AttemptResult) -> None:
        """Count one attempt (the dispatcher calls this with every result)."""
        self.outcomes.labels(result.channel, result.outcome).inc()
        if result.published_lateness is not None:
            self.lateness.labels(result.channel).observe(result.published_lateness)


@dataclass(frozen=True)
class Snapshot:
    """What the database says at one moment (plain values, read in one transaction)."""

    depth: dict[str, int] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)
    last_success: dict[str, datetime] = field(default_factory=dict)
    #: channel -> {"access" | "refresh": expiry} from the Zalo credentials.
    zalo_expiry: dict[str, dict[str, datetime]] = field(default_factory=dict)
    daemons_alive: int = 0


def read_snapshot(engine: Engine, now: datetime) -> Snapshot:
    """Queue depth, pauses, last successes, Zalo token expiries and live daemons."""
    with session_scope(engine, write=False) as session:
        # Armed deliveries only (a draft's are pending too, but wait for a person):
        # the same "waiting" as content.health.
        depth = session.exec(
            select(Delivery.channel, func.count())
            .where(Delivery.state == DeliveryState.PENDING)
            .where(col(Delivery.next_attempt_at).is_not(None))
            .group_by(col(Delivery.channel))
        ).all()
        states = session.exec(select(ChannelState)).all()
        credentials = session.exec(select(Credential)).all()
        alive = session.exec(
            select(func.count())
            .select_from(DaemonHeartbeat)
            .where(col(DaemonHeartbeat.seen_at) >= now - SILENT_AFTER)
        ).one()
    expiry: dict[str, dict[str, datetime]] = {}
    for row in credentials:
        known = {"access": row.access_expires_at, "refresh": row.refresh_expires_at}
        expiry[row.channel] = {k: v for k, v in known.items() if v is not None}
    return Snapshot(
        depth={channel: int(n) for channel, n in depth},
        paused={s.channel for s in states if s.paused},
        last_success={s.channel: s.last_success_at for s in states if s.last_success_at},
        zalo_expiry=expiry,
        daemons_alive=int(alive),
    )


class DatabaseCollector(Collector):
    """Gauges computed from the database at each scrape (see the module's docstring).

    Every configured channel gets a queue depth and a paused sample (0 included, so an
    alert on a channel that has never failed still has a series); seconds since the last
    publish and token expiry only where known. A scrape during a database outage answers
    ``loa_database_up 0`` and the in-process series, instead of failing the whole scrape.
    """

    def __init__(
        self,
        engine: Engine,
        channels: Sequence[str],
        *,
        clock: Clock,
        token_expiry: ExpiryReader | None = None,
    ) -> None:
        self.engine = engine
        self.channels = tuple(channels)
        self.clock = clock
        self.token_expiry = token_expiry or dict

    def collect(self) -> Iterable[Metric]:
        """The gauges, read now."""
        now = self.clock()
        up = GaugeMetricFamily(
            "loa_database_up", "1 when the scrape could read the database, else 0."
        )
        try:
            snap = read_snapshot(self.engine, now)
        except Exception as exc:  # any failure to read is what this sample reports
            log.warning("metrics scrape: database unreadable: %s", str(exc).splitlines()[0])
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        channels = sorted({*self.channels, *snap.depth})
        depth = GaugeMetricFamily(
            "loa_queue_depth",
            "Deliveries waiting for the daemon (pending with a time, due or not), by channel.",
            labels=["channel"],
        )
        paused = GaugeMetricFamily(
            "loa_channel_paused",
            "1 when the channel is paused (a refused token: nothing is sent until resumed).",
            labels=["channel"],
        )
        for channel in channels:
            depth.add_metric([channel], snap.depth.get(channel, 0))
            paused.add_metric([channel], 1 if channel in snap.paused else 0)
        yield depth
        yield paused
        since = GaugeMetricFamily(
            "loa_seconds_since_last_publish",
            "Seconds since a delivery was last published on the channel (absent: never).",
            labels=["channel"],
        )
        for channel, at in sorted(snap.last_success.items()):
            since.add_metric([channel], max(0.0, (now - at).total_seconds()))
        yield since
        expiry = GaugeMetricFamily(
            "loa_token_expiry_timestamp_seconds",
            "When the channel's token expires (Unix time): Zalo's access and refresh tokens "
            "from the database, a Facebook Page token as debug_token last said (absent: "
            "unknown or never expires).",
            labels=["channel", "token"],
        )
        for channel, tokens in sorted(snap.zalo_expiry.items()):
            for kind, at in sorted(tokens.items()):
                expiry.add_metric([channel, kind], at.timestamp())
        for channel, at in sorted(self.token_expiry().items()):
            expiry.add_metric([channel, "page"], at.timestamp())
        yield expiry
        alive = GaugeMetricFamily(
            "loa_daemons_alive",
            "Daemons whose heartbeat is recent (every daemon on the database, not only this).",
        )
        alive.add_metric([], snap.daemons_alive)
        yield alive


@dataclass
class Liveness:
    """``/healthz``: is this daemon's loop still ticking (polling its database)?"""

    last_tick: Callable[[], datetime | None]
    clock: Clock
    silent_after: timedelta
    worker: str

    def check(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, the JSON body): healthy when the last tick is within ``silent_after``."""
        now = self.clock()
        tick = self.last_tick()
        age = (now - tick).total_seconds() if tick is not None else None
        ok = age is not None and age <= self.silent_after.total_seconds()
        body: dict[str, Any] = {
            "status": "ok" if ok else "stale",
            "worker": self.worker,
            "last_tick": tick.isoformat() if tick is not None else None,
            "seconds_since_tick": round(age, 3) if age is not None else None,
            "limit_seconds": self.silent_after.total_seconds(),
        }
        return ok, body


class Observability:
    """One daemon's registry: event metrics, the database collector, the liveness check."""

    def __init__(
        self,
        engine: Engine,
        channels: Sequence[str],
        liveness: Liveness,
        *,
        clock: Clock,
        token_expiry: ExpiryReader | None = None,
        process: bool = True,
    ) -> None:
        self.registry = CollectorRegistry()
        self.events = EventMetrics(self.registry)
        self.database = DatabaseCollector(engine, channels, clock=clock, token_expiry=token_expiry)
        self.registry.register(self.database)
        if process:
            # Memory and CPU of the daemon itself (Linux /proc), Python's version.
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        self.liveness = liveness
        self._metrics_app = make_wsgi_app(self.registry)

    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The WSGI app: ``/healthz``, else the metrics (``/metrics`` or ``/``)."""
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            ok, body = self.liveness.check()
            data = json.dumps(body).encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
            )
            return [data]
        if path not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: try /metrics or /healthz\n"]
        result: Iterable[bytes] = self._metrics_app(environ, start_response)
        return result


class _Server(ThreadingMixIn, WSGIServer):
    """One thread per scrape, none left behind at exit."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """Scrapes come every few seconds: not one log line each."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        return


class MetricsServer:
    """The HTTP server of an :class:`Observability`, in a background thread."""

    def __init__(self, observability: Observability, host: str = DEFAULT_HOST, port: int = 0):
        server_class: type[_Server] = _Server
        if ":" in host:  # an IPv6 address

            class _Server6(_Server):
                address_family = socket.AF_INET6

            server_class = _Server6
        try:
            self._server = make_server(
                host, port, observability.app, server_class, handler_class=_QuietHandler
            )
        except OSError as exc:
            raise MetricsUnavailable(
                "metrics_bind", host=host, port=port, reason=os_reason(exc)
            ) from None
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="loa-metrics", daemon=True
        )
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics, liveness on /healthz", host, self.port)

    @property
    def url(self) -> str:
        """The base URL (for logs and tests)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def facebook_expiry(channels: Mapping[str, object]) -> ExpiryReader:
    """Reads each Facebook client's token expiry as ``debug_token`` last said it."""

    def read() -> dict[str, datetime]:
        out = {}
        for channel_id, client in channels.items():
            expires = getattr(client, "token_expires_at", None)
            if isinstance(expires, datetime):
                out[channel_id] = expires
        return out

    return read


def observe_daemon(daemon: Daemon, *, process: bool = True) -> Observability:
    """Metrics for ``daemon``: its dispatcher's results
    feed the events, its poll feeds ``/healthz``, and a job reads the Facebook tokens'
    expiry with ``debug_token`` every :data:`TOKEN_EXPIRY_EVERY_SECONDS`."""
    liveness = Liveness(
        last_tick=lambda: daemon.last_tick,
        clock=daemon.clock,
        silent_after=daemon.silent_after,
        worker=daemon.worker,
    )
    obs = Observability(
        daemon.engine,
        list(daemon.channels),
        liveness,
        clock=daemon.clock,
        token_expiry=facebook_expiry(daemon.channels),
        process=process,
    )
    daemon.dispatcher.observers.append(obs.events.observe)
    readers = {
        cid: client
        for cid, client in daemon.channels.items()
        if callable(getattr(client, "read_token_expiry", None))
    }
    if readers:

        async def token_expiry() -> None:
            for channel_id, client in readers.items():
                try:
                    await client.read_token_expiry()  # type: ignore[attr-defined]
                except Exception as exc:  # the sample stays absent; publishing says the rest
                    log.info("token expiry of %s unknown: %s", channel_id, exc)

        daemon.add_job("token_expiry", TOKEN_EXPIRY_EVERY_SECONDS, token_expiry)
    return obs
