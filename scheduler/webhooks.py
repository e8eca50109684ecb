"""The webhook receiver (``loa webhooks serve``): citizens' messages and comments, pushed by
Zalo and Meta, stored before they are acknowledged and processed after.

Two paths, each with its platform's contract (docs/platforms/zalo-oa.md#webhooks,
docs/platforms/facebook-graph.md#webhooks):

* ``/webhooks/zalo`` (POST): ``X-ZEvent-Signature`` checked with the OA's secret key, the
  body's timestamp no older than Zalo's retries (:mod:`scheduler.channels.zalo_inbox`);
* ``/webhooks/facebook``: Meta's verification GET (``hub.*``) and POSTs signed with
  ``X-Hub-Signature-256`` over the raw body (:mod:`scheduler.channels.facebook_inbox`).

A forged, unsigned or stale request gets 403 and nothing is stored. A good one is stored
(sealed, under a keyed hash of the platform's event id, so a retry is a no-op) and only then
answered 200; Zalo wants that within 2 seconds. Writes are grouped: the requests that arrive
while one transaction commits go together in the next, so a burst costs a few commits, not
one per event. After each write a worker turns the events into threads and messages
(:class:`scheduler.inbox_jobs.EventProcessor`); the daemon does the same for anything left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path

import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from content import inbox_events
from content.errors import LoaError
from content.sealed import Sealer
from content.times import utcnow
from scheduler.channels import facebook_inbox, zalo_inbox
from scheduler.channels.http import register_secret
from scheduler.channels.inbound import Verdict
from scheduler.config import Config, FacebookChannel, ZaloChannel
from scheduler.inbox_jobs import EventProcessor

log = logging.getLogger("loa.webhooks")

ZALO_PATH = "/webhooks/zalo"
FACEBOOK_PATH = "/webhooks/facebook"
#: Meta batches up to 1,000 updates in one delivery; beyond this a body is refused (413).
MAX_BODY = 8 * 1024 * 1024
#: Events written in one transaction at most.
WRITE_BATCH = 1000
#: Events the worker processes per transaction: on SQLite a transaction holds the one write
#: lock, and a worker at a lower priority that is descheduled while holding it would keep
#: the next acknowledgements waiting; small batches keep that short.
WORKER_BATCH = 10
#: Processing waits while deliveries arrive closer together than this...
QUIET_SECONDS = 0.2
#: ... but never longer than this.
MAX_DEFER_SECONDS = 30.0
#: How long a request waits for its events to be stored before answering 503 (the platform
#: then retries): below Meta's 20 s timeout.
STORE_TIMEOUT = 10.0


class WebhookConfigError(LoaError):
    """The receiver cannot check any platform's signature: nothing is configured
    (``webhooks_unconfigured``: ``path``)."""


@dataclass(frozen=True)
class Keys:
    """The secrets the receiver checks deliveries with, read once at start."""

    zalo: dict[str, zalo_inbox.ZaloKeys] = field(default_factory=dict)
    #: Page id -> channel id.
    pages: dict[str, str] = field(default_factory=dict)
    #: Facebook channel id -> its Meta app secret.
    app_secrets: dict[str, str] = field(default_factory=dict, repr=False)
    verify_tokens: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_config(cls, config: Config) -> Keys:
        """Read every referenced secret now (a missing one is one line, exit 2)."""
        zalo: dict[str, zalo_inbox.ZaloKeys] = {}
        pages: dict[str, str] = {}
        app_secrets: dict[str, str] = {}
        tokens: list[str] = []
        for cid, channel in config.channels.items():
            if isinstance(channel, ZaloChannel) and channel.webhook_secret is not None:
                secret = _read(channel.webhook_secret.resolve())
                zalo[cid] = zalo_inbox.ZaloKeys(channel.oa_id, channel.app_id, secret)
            if isinstance(channel, FacebookChannel):
                pages[channel.page_id] = cid
                if channel.app_secret is not None:
                    app_secrets[cid] = _read(channel.app_secret.resolve())
                if channel.verify_token is not None:
                    tokens.append(_read(channel.verify_token.resolve()))
        if not zalo and not app_secrets:
            raise WebhookConfigError("webhooks_unconfigured", path=str(config.path))
        return cls(zalo, pages, app_secrets, tuple(dict.fromkeys(tokens)))


def _read(secret: str) -> str:
    register_secret(secret)  # masked in every log line from now on
    return secret


@dataclass(frozen=True)
class ChildWorker:
    """Where a separate processing process finds the database, the configuration and the
    key (it runs :class:`EventProcessor` on its own interpreter, so turning a burst of
    events into threads never competes with acknowledging the next ones for the GIL)."""

    db_url: str = field(repr=False)
    config_path: Path
    key: bytes = field(repr=False)


def _child_main(conn: Connection, db_url: str, config_path: str, key: bytes) -> None:
    """The processing process: one batch per request on ``conn``, answered with
    ``(events taken, new messages)``; ends when the receiver sends None or goes away.

    It runs at a lower priority: acknowledging within the platforms' deadlines comes first,
    and a burst's events are turned into threads after it.
    """
    os.nice(10)
    from content.db import make_engine
    from scheduler.config import load

    processor = EventProcessor(
        make_engine(db_url), load(Path(config_path)), Sealer(key), batch=WORKER_BATCH
    )
    while True:
        try:
            asked = conn.recv()
            if asked is None:
                return
            if asked == "media":
                conn.send((processor.fetch_attachments().stored, 0))
                continue
            taken, outcome = processor.run_batch()
            conn.send((taken, outcome.messages))
        except (EOFError, OSError):
            return
        except Exception as exc:  # said to the receiver, which logs it and tries later
            conn.send(exc)


class _Child:
    """The receiver's side of the processing process."""

    def __init__(self, spec: ChildWorker) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(
            target=_child_main,
            args=(theirs, spec.db_url, str(spec.config_path), spec.key),
            name="loa-inbox-worker",
            daemon=True,  # never outlives the receiver
        )
        self.process.start()
        theirs.close()

    def batch(self, what: str = "batch") -> tuple[int, int]:
        """One batch in the child, or (``"media"``) its attachments' downloads (blocking:
        call it in a thread)."""
        self.conn.send(what)
        answer = self.conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Ask the child to end; stop it if it does not within a few seconds."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.conn.close()


@dataclass
class _Pending:
    events: list[inbox_events.RawEvent]
    done: asyncio.Future[int]


class Receiver:
    """The Starlette app of ``loa webhooks serve``, with its writer and processing worker."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        sealer: Sealer,
        *,
        clock: Callable[[], datetime] = utcnow,
        keys: Keys | None = None,
        process: bool = True,
        child: ChildWorker | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.sealer = sealer
        self.clock = clock
        self.keys = keys or Keys.from_config(config)
        self.process = process
        self.processor = EventProcessor(engine, config, sealer, clock=clock, batch=WORKER_BATCH)
        #: Process in a separate process (``loa webhooks serve``) instead of a thread.
        self.child = child
        self._child: _Child | None = None
        #: When the last delivery arrived (monotonic): processing waits for a quiet moment.
        self._last_arrival = 0.0
        self._queue: asyncio.Queue[_Pending] | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.app = Starlette(
            routes=[
                Route(ZALO_PATH, self.zalo, methods=["POST"]),
                Route(FACEBOOK_PATH, self.facebook, methods=["GET", "POST"]),
            ],
            lifespan=self._lifespan,
        )

    # --- the two paths

    async def zalo(self, request: Request) -> Response:
        """A Zalo OA event."""
        raw = await _body(request)
        if raw is None:
            return PlainTextResponse("too large", status_code=413)
        header = request.headers.get(zalo_inbox.SIGNATURE_HEADER)
        verdict = zalo_inbox.receive(raw, header, self.keys.zalo, self.clock())
        return await self._settle("zalo", verdict, zalo_inbox.PLATFORM)

    async def facebook(self, request: Request) -> Response:
        """Meta's verification handshake (GET) or a Page event delivery (POST)."""
        if request.method == "GET":
            status, text = facebook_inbox.handshake(
                dict(request.query_params), self.keys.verify_tokens
            )
            if status != 200:
                log.warning("facebook webhook handshake refused (wrong verify token)")
            return PlainTextResponse(text, status_code=status)
        raw = await _body(request)
        if raw is None:
            return PlainTextResponse("too large", status_code=413)
        header = request.headers.get(facebook_inbox.SIGNATURE_HEADER)
        verdict = facebook_inbox.receive(
            raw, header, self.keys.pages, self.keys.app_secrets, self.clock()
        )
        return await self._settle("facebook", verdict, "facebook")

    async def _settle(self, name: str, verdict: Verdict, platform: str) -> Response:
        if verdict.status != 200:
            # The reason names ids and times, never what a citizen wrote.
            log.warning("%s webhook refused (%d): %s", name, verdict.status, verdict.reason)
            return PlainTextResponse(
                "forbidden" if verdict.status == 403 else "bad request", status_code=verdict.status
            )
        if verdict.items:
            events = [
                inbox_events.RawEvent(
                    platform, item.channel, item.event_id, item.occurred_at, item.payload
                )
                for item in verdict.items
            ]
            try:
                await asyncio.wait_for(self._store(events), STORE_TIMEOUT)
            except Exception as exc:  # not stored: the platform must deliver it again
                log.error("%s webhook not stored (%s): answering 503", name, type(exc).__name__)
                return PlainTextResponse("not stored", status_code=503)
        return PlainTextResponse("ok")

    # --- grouped writes

    async def _store(self, events: list[inbox_events.RawEvent]) -> int:
        self._last_arrival = time.monotonic()
        if self._queue is None:  # not started through the lifespan (a bare ASGI call)
            return await asyncio.to_thread(self._write, events)
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(events, done))
        return await done

    def _write(self, events: list[inbox_events.RawEvent]) -> int:
        return inbox_events.store(self.engine, self.sealer, events, now=self.clock())

    async def _writer(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].events)
            while size < WRITE_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
                size += len(batch[-1].events)
            events = [event for pending in batch for event in pending.events]
            try:
                stored = await asyncio.to_thread(self._write, events)
            except Exception as exc:
                for pending in batch:
                    if not pending.done.done():
                        pending.done.set_exception(exc)
                continue
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_result(stored)
            if stored and self._wake is not None:
                self._wake.set()

    async def _worker(self) -> None:
        """Turn stored events into threads, a batch at a time, in the quiet moments.

        Acknowledging comes first: while deliveries keep arriving (one within
        :data:`QUIET_SECONDS`) processing waits, but never longer than
        :data:`MAX_DEFER_SECONDS`, so a steady stream is processed too.
        """
        assert self._wake is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            waiting_since = time.monotonic()
            while True:
                busy = time.monotonic() - self._last_arrival < QUIET_SECONDS
                if busy and time.monotonic() - waiting_since < MAX_DEFER_SECONDS:
                    await asyncio.sleep(QUIET_SECONDS)
                    continue
                try:
                    taken, messages = await asyncio.to_thread(self._batch)
                except Exception as exc:  # the daemon (or the next wake) takes the events
                    log.warning("inbox processing failed: %s; retried later", type(exc).__name__)
                    await asyncio.sleep(1.0)
                    self._wake.set()
                    break
                if messages:
                    log.info("inbox: %d new messages", messages)
                if taken < WORKER_BATCH:
                    await self._attachments()
                    break
                waiting_since = time.monotonic()

    async def _attachments(self) -> None:
        """Download the new messages' attachments before their URLs expire (after the burst:
        acknowledging still comes first)."""
        try:
            await asyncio.to_thread(self._media)
        except Exception as exc:  # the daemon's processing job downloads them too
            log.warning("inbox attachments: %s; tried again later", type(exc).__name__)

    def _media(self) -> None:
        if self._child is not None:
            self._child.batch("media")
        else:
            self.processor.fetch_attachments()

    def _batch(self) -> tuple[int, int]:
        if self._child is not None:
            return self._child.batch()
        taken, outcome = self.processor.run_batch()
        return taken, outcome.messages

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._queue = asyncio.Queue()
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._writer())]
        if self.process:
            if self.child is not None:
                self._child = _Child(self.child)
            self._tasks.append(asyncio.create_task(self._worker()))
            self._wake.set()  # events stored while no receiver processed them
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks = []
            if self._child is not None:
                # A batch in flight commits or rolls back on its own; the daemon does the rest.
                await asyncio.to_thread(self._child.stop)
                self._child = None


def make_server(receiver: Receiver, *, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``receiver`` (not started; run it on :func:`listen`'s socket): no
    access log (paths and addresses only, but a line per event is noise at 500 a second)."""
    return uvicorn.Server(
        uvicorn.Config(
            receiver.app,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )


def listen(host: str, port: int) -> socket.socket:
    """The receiver's listening socket.

    Made with ``IPPROTO_TCP`` named: asyncio sets TCP_NODELAY only on accepted sockets whose
    protocol says TCP, and without it each answer on a kept-alive connection waits about
    40 ms for the platform's delayed ACK (a receiver capped at ~25 answers a second per
    connection). Raises OSError when the address is taken.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    return sock


@contextlib.contextmanager
def serving(receiver: Receiver, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``receiver`` in a thread for the duration (tests, benchmarks); yields its URL."""
    sock = listen(host, port)
    server = make_server(receiver)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the webhook receiver did not start")
            time.sleep(0.01)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


async def _body(request: Request) -> bytes | None:
    """The raw body as received (the bytes the signature covers), None when too large."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
