"""Webhook events as received: stored before the platform gets its 200, processed after.

A platform that gets no answer delivers again (Zalo with the same body, Meta for 36 hours),
so each event is stored under a keyed hash of its own id (:func:`store`, ``INSERT ... ON
CONFLICT DO NOTHING``): a retry is a no-op, whichever receiver or thread stores it first.
Bodies are sealed, and dropped once the event is processed (its messages keep what is kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, delete, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from content.db import session_scope
from content.models import InboundEvent, InboxCursor
from content.sealed import Sealer

NEW, DONE, FAILED = "new", "done", "failed"
#: Processed events are kept this long (past Meta's 36-hour retries) to recognise a retry
#: before it is parsed; the messages' own ids keep each message once after that.
KEEP_PROCESSED = timedelta(days=3)
#: An event that failed to process this many times is left for a person (``failed``).
MAX_ATTEMPTS = 5

_TABLE = InboundEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RawEvent:
    """One event to store: its platform, channel, the platform's id of it and the bytes."""

    platform: str
    channel: str | None
    event_id: str
    occurred_at: datetime | None
    body: bytes


def store(engine: Engine, sealer: Sealer, events: Sequence[RawEvent], *, now: datetime) -> int:
    """Store ``events`` in one transaction; returns how many were new (retries are not)."""
    if not events:
        return 0
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        key = sealer.index(f"{event.platform}\0{event.channel or ''}\0{event.event_id}")
        rows.setdefault(
            key,
            {
                "platform": event.platform,
                "channel": event.channel,
                "dedupe_key": key,
                "received_at": now,
                "occurred_at": event.occurred_at,
                "body_enc": sealer.seal_bytes(event.body),
                "state": NEW,
                "attempts": 0,
            },
        )
    with session_scope(engine) as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(_TABLE)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        result = session.execute(statement)
        return int(cast(CursorResult[Any], result).rowcount or 0)


def claim(session: Session, limit: int) -> list[InboundEvent]:
    """The oldest unprocessed events, locked for the caller's transaction.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so the receiver's worker and a daemon share the
    work without waiting on each other. SQLite: the caller's write transaction is exclusive.
    """
    query = (
        select(InboundEvent)
        .where(InboundEvent.state == NEW)
        .order_by(col(InboundEvent.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.exec(query).all())


def pending(engine: Engine) -> int:
    """How many events wait to be processed."""
    with session_scope(engine, write=False) as session:
        return int(
            session.exec(
                select(func.count()).select_from(InboundEvent).where(InboundEvent.state == NEW)
            ).one()
        )


def done(event: InboundEvent, now: datetime) -> None:
    """``event`` is processed: its body goes (the messages hold what is kept)."""
    event.state = DONE
    event.body_enc = None
    event.processed_at = now
    event.error = None


def failed(event: InboundEvent, now: datetime, reason: str) -> None:
    """``event`` could not be processed: tried again later, left ``failed`` after a few."""
    event.attempts += 1
    event.error = reason[:500]
    event.processed_at = now
    if event.attempts >= MAX_ATTEMPTS:
        event.state = FAILED


def purge(engine: Engine, *, now: datetime, retention: timedelta) -> int:
    """Forget processed events after :data:`KEEP_PROCESSED`, and every event (a failed one's
    sealed body included) after the retention period."""
    with session_scope(engine) as session:
        result = session.execute(
            delete(InboundEvent).where(
                (
                    (col(InboundEvent.state) == DONE)
                    & (col(InboundEvent.received_at) < now - KEEP_PROCESSED)
                )
                | (col(InboundEvent.received_at) < now - retention)
            )
        )
        return int(cast(CursorResult[Any], result).rowcount or 0)


def cursor(engine: Engine, channel: str, stream: str = "all") -> datetime | None:
    """Up to when ``channel``'s conversations are known complete (None: never fetched)."""
    with session_scope(engine, write=False) as session:
        row = session.get(InboxCursor, (channel, stream))
        return row.done_until if row is not None else None


def advance_cursor(
    engine: Engine, channel: str, until: datetime, *, now: datetime, stream: str = "all"
) -> None:
    """Record that ``channel``'s conversations are complete up to ``until`` (never back)."""
    for attempt in range(2):
        try:
            with session_scope(engine) as session:
                row = session.get(InboxCursor, (channel, stream))
                if row is None:
                    session.add(
                        InboxCursor(
                            channel=channel, stream=stream, done_until=until, updated_at=now
                        )
                    )
                elif until > row.done_until:
                    row.done_until, row.updated_at = until, now
                    session.add(row)
            return
        except IntegrityError:
            if attempt:  # two daemons created the row at once: the second try updates it
                raise
