"""The inbox's unattended work: stored webhook events into threads, backfill by API, purges.

* :class:`EventProcessor` turns stored webhook events (:mod:`content.inbox_events`) into
  threads and messages through :func:`content.inbox.ingest`, in batches, each batch one
  transaction. The receiver runs it right after storing; the daemon runs it too, so nothing
  waits when the receiver stopped between storing and processing.
* :func:`backfill` asks each channel for its conversations since the last complete fetch
  (minus a margin), so what a webhook never delivered (the receiver down through the
  platform's retries, Zalo's webhook disabled, Meta's app unsubscribed) arrives anyway; the
  messages' own ids keep each one once.
* :func:`purge` deletes citizens' data past the retention period, and old events.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine

from content import inbox_events, inbox_profile
from content.db import session_scope
from content.inbox import Inbound, IngestOutcome, PurgeOutcome, ingest, purge_expired
from content.models import InboundEvent
from content.sealed import Sealer
from content.times import utcnow
from scheduler.channels import facebook_inbox, zalo_inbox
from scheduler.channels.base import Channel, ChannelError
from scheduler.channels.credentials import check_fingerprint, resolve_key
from scheduler.config import Config, ZaloChannel
from scheduler.inbox_attachments import MESSAGES_PER_RUN, AttachmentFetcher, FetchOutcome

log = logging.getLogger("loa.inbox")

#: Events processed per transaction: short enough that a receiver storing at the same time
#: (SQLite has one writer) is never kept waiting long.
BATCH = 50
#: A backfill reads again this far before the last complete fetch: a message the platform
#: dated just before it may have become visible just after.
BACKFILL_MARGIN = timedelta(minutes=10)
#: The daemon's job names.
PROCESS_EVERY_SECONDS = 30.0
PURGE_EVERY_SECONDS = 3600.0


def inbox_key(engine: Engine, config: Config) -> bytes:
    """The database's credential key, checked against the fingerprint the database recorded
    (another key stops here with one line)."""
    key = resolve_key(engine, config.office.credential_key_file)
    check_fingerprint(engine, key)
    return key.value


def inbox_sealer(engine: Engine, config: Config) -> Sealer:
    """The sealer of citizens' data: the credential key (:func:`inbox_key`)."""
    return Sealer(inbox_key(engine, config))


@dataclass
class EventProcessor:
    """Stored webhook events into the inbox."""

    engine: Engine
    config: Config
    sealer: Sealer
    clock: Callable[[], datetime] = utcnow
    #: Events per transaction (the receiver's worker takes fewer: see scheduler.webhooks).
    batch: int = BATCH
    #: Download citizens' attachments after processing (their URLs expire).
    fetch_media: bool = True
    #: The HTTP transport of those downloads (tests); None is the network.
    media_transport: httpx.BaseTransport | None = None
    #: Zalo app id -> its channels (a withdrawal naming no OA applies to all of them).
    _apps: dict[str, list[str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        apps: dict[str, list[str]] = defaultdict(list)
        for cid, channel in self.config.channels.items():
            if isinstance(channel, ZaloChannel):
                apps[channel.app_id].append(cid)
        self._apps = dict(apps)

    def run(self, *, limit: int | None = None) -> IngestOutcome:
        """Process waiting events, a batch per transaction, until none waits (or ``limit``)."""
        total = IngestOutcome()
        processed = 0
        while limit is None or processed < limit:
            count, outcome = self.run_batch()
            total.add(outcome)
            processed += count
            if count < self.batch:
                break
        if self.fetch_media:
            self.fetch_attachments()
        return total

    def fetch_attachments(self, *, rounds: int = 5) -> FetchOutcome:
        """Download the attachments of processed messages while their URLs still work (a few
        rounds of :data:`~scheduler.inbox_attachments.MESSAGES_PER_RUN` messages)."""
        fetcher = AttachmentFetcher(
            self.engine, self.sealer, clock=self.clock, transport=self.media_transport
        )
        total = FetchOutcome()
        for _ in range(rounds):
            outcome = fetcher.run()
            for name in ("stored", "expired", "refused", "failed", "messages"):
                setattr(total, name, getattr(total, name) + getattr(outcome, name))
            if outcome.messages < MESSAGES_PER_RUN:
                break  # the rest (passing failures) is tried on the next run
        return total

    def run_batch(self) -> tuple[int, IngestOutcome]:
        """One transaction: the oldest waiting events, parsed, then applied together in
        their order (one read of what is known, one write of the messages); returns how
        many events were taken."""
        now = self.clock()
        with session_scope(self.engine) as session:
            events = inbox_events.claim(session, self.batch)
            records: list[Inbound] = []
            for event in events:
                try:
                    records.extend(self.parse(event))
                except Exception as exc:  # a body Loa cannot read: kept aside, never lost
                    log.warning("inbox event %s not readable: %s", event.id, type(exc).__name__)
                    inbox_events.failed(event, now, f"{type(exc).__name__}: {exc}")
                else:
                    inbox_events.done(event, now)
                session.add(event)
            outcome = ingest(session, self.sealer, records, now=now)
        return len(events), outcome

    def parse(self, event: InboundEvent) -> list[Inbound]:
        """The inbox records of one stored event (the platform module reads its body)."""
        body = self.sealer.open_bytes(event.body_enc or "")
        channel = event.channel or ""
        if event.platform == zalo_inbox.PLATFORM:
            zalo = self.config.channels.get(channel)
            scope = self._apps.get(zalo.app_id, []) if isinstance(zalo, ZaloChannel) else []
            return zalo_inbox.parse_event(channel, body, scope=scope)
        return facebook_inbox.parse_event(channel, body)


@dataclass(frozen=True)
class BackfillResult:
    """What one channel's backfill found, or why it could not."""

    channel: str
    outcome: IngestOutcome | None
    error: str | None = None


async def backfill(
    engine: Engine,
    config: Config,
    sealer: Sealer,
    channels: Mapping[str, Channel],
    *,
    clock: Callable[[], datetime] = utcnow,
) -> list[BackfillResult]:
    """Fetch each channel's conversations since its last complete fetch and merge them in.

    A channel whose fetch fails keeps its cursor (the next run asks for the same period
    again); the others go on.
    """
    results = []
    lookback = timedelta(days=config.inbox.backfill_days)
    for cid, client in channels.items():
        fetch = getattr(client, "fetch_inbound", None)
        if fetch is None or cid not in config.channels:
            continue
        started = clock()
        known = await asyncio.to_thread(inbox_events.cursor, engine, cid)
        since = known - BACKFILL_MARGIN if known is not None else started - lookback
        try:
            records = await fetch(since)
        except ChannelError as exc:
            log.warning("inbox backfill of %s: %s", cid, exc.message)
            results.append(BackfillResult(cid, None, exc.message))
            continue

        def merge(found: list[Inbound] = records) -> IngestOutcome:
            with session_scope(engine) as session:
                return ingest(session, sealer, found, now=clock())

        outcome = await asyncio.to_thread(merge)
        await asyncio.to_thread(inbox_events.advance_cursor, engine, cid, started, now=clock())
        # What the backfill found has attachments too, and their URLs expire as well.
        await asyncio.to_thread(AttachmentFetcher(engine, sealer, clock=clock).run)
        await check_profiles(engine, sealer, cid, client, clock=clock)
        if outcome.messages:
            log.info(
                "inbox backfill of %s: %d messages webhooks had not delivered",
                cid,
                outcome.messages,
            )
        results.append(BackfillResult(cid, outcome))
    return results


async def check_profiles(
    engine: Engine,
    sealer: Sealer,
    channel: str,
    client: Channel,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> int:
    """Ask Zalo once for each new citizen's profile and keep its under-18 flag on his thread
    (:mod:`content.inbox_profile`); returns how many minors were found. A refusal stops the
    round (the next backfill asks again)."""
    ask = getattr(client, "citizen_profile", None)
    if ask is None:
        return 0
    minors = 0
    for thread_id, uid in await asyncio.to_thread(inbox_profile.unchecked, engine, sealer, channel):
        try:
            profile = await ask(uid)
        except ChannelError as exc:
            log.warning("inbox: %s's citizen profiles: %s", channel, exc.message)
            break
        minor = profile.get("is_sensitive") in (True, "true", 1)
        minors += minor
        await asyncio.to_thread(inbox_profile.mark, engine, thread_id, minor=minor, now=clock())
    return minors


def purge(engine: Engine, config: Config, *, now: datetime) -> PurgeOutcome:
    """Citizens' data past ``[inbox] retention_days``, and processed webhook events."""
    retention = timedelta(days=config.inbox.retention_days)
    done = purge_expired(engine, now=now, retention=retention)
    inbox_events.purge(engine, now=now, retention=retention)
    if done.messages or done.threads:
        log.info(
            "inbox retention: %d messages and %d citizens' details deleted",
            done.messages,
            done.threads,
        )
    return done
