"""Citizens' personal data removed: when one withdraws his consent (:func:`withdraw`) and
after the retention period (:func:`purge_expired`), attachments included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, and_, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from content import audit, inbox_media
from content.db import session_scope
from content.inbox.rules import SYSTEM_ACTOR, Inbound, _later, _record
from content.models import (
    InboxMessage,
    InboxThread,
    ThreadState,
)
from content.sealed import Sealer

# --- personal data: withdrawal and retention ---------------------------------------------------


def withdraw(
    session: Session, sealer: Sealer, record: Inbound, *, now: datetime, actor: str = SYSTEM_ACTOR
) -> int:
    """The citizen named by ``record`` exercised his rights: delete his data everywhere.

    Every thread of his (by his id on ``record.channel``, or by his other id on the channels
    in ``record.scope``) loses the citizen's id, name, details and every message's content,
    and is closed; messages dated before now are never stored again. Returns the number of
    threads purged; each is audited.
    """
    conditions = []
    if record.citizen_id:
        conditions.append(
            and_(
                col(InboxThread.channel) == record.channel,
                col(InboxThread.citizen_index) == sealer.index(record.citizen_id),
            )
        )
    if record.citizen_alt_id:
        channels = record.scope or (record.channel,)
        conditions.append(
            and_(
                col(InboxThread.channel).in_(channels),
                col(InboxThread.citizen_alt_index) == sealer.index(record.citizen_alt_id),
            )
        )
    if not conditions:
        return 0
    threads = session.exec(select(InboxThread).where(or_(*conditions))).all()
    for thread in threads:
        before = _record(thread)
        _purge_thread(session, thread, now)
        thread.withdrawn_at = _later(thread.withdrawn_at, max(now, record.occurred_at))
        thread.state = ThreadState.CLOSED
        thread.waiting_since = None
        session.add(thread)
        audit.write(
            session,
            [
                dict(
                    at=now,
                    actor=actor,
                    action="inbox_withdraw",
                    post_id=None,
                    before=before,
                    after={"thread": thread.id, "state": thread.state},
                    detail=f"thread {thread.id} ({thread.channel}): the citizen withdrew "
                    "consent; his data was deleted",
                )
            ],
        )
    return len(threads)


def _purge_thread(session: Session, thread: InboxThread, now: datetime) -> None:
    thread.citizen_ref_enc = None
    thread.citizen_name_enc = None
    thread.citizen_info_enc = None
    thread.purged_at = now
    session.execute(
        update(InboxMessage)
        .where(col(InboxMessage.thread_id) == thread.id)
        .values(
            text_enc=None, attachments_enc=None, edits_enc=None, media_pending=False, purged_at=now
        )
    )
    assert thread.id is not None
    inbox_media.purge_thread(session, thread.id)


@dataclass(frozen=True)
class PurgeOutcome:
    """What :func:`purge_expired` deleted."""

    messages: int
    threads: int


def purge_expired(
    engine: Engine, *, now: datetime, retention: timedelta, actor: str = SYSTEM_ACTOR
) -> PurgeOutcome:
    """Delete personal data older than ``retention``: message contents, and the citizen's id,
    name and details on threads with nothing newer. Counts stay (the reports need them).
    One audit row says how much went."""
    cutoff = now - retention
    with session_scope(engine) as session:
        messages = _purge_messages(session, cutoff, now)
        threads = _purge_threads(session, cutoff, now)
        if messages or threads:
            audit.write(
                session,
                [
                    dict(
                        at=now,
                        actor=actor,
                        action="inbox_purge",
                        post_id=None,
                        after={"messages": messages, "threads": threads},
                        detail=f"citizens' data older than {retention.days} days deleted",
                    )
                ],
            )
    return PurgeOutcome(messages, threads)


def _purge_messages(session: Session, cutoff: datetime, now: datetime) -> int:
    """Empty the messages that occurred before ``cutoff`` (their files too); how many."""
    old = (
        sa_select(col(InboxMessage.id))
        .where(col(InboxMessage.occurred_at) < cutoff)
        .where(col(InboxMessage.purged_at).is_(None))
    )
    inbox_media.purge_messages(session, list(session.execute(old).scalars()))
    return _rowcount(
        session.execute(
            update(InboxMessage)
            .where(col(InboxMessage.occurred_at) < cutoff)
            .where(col(InboxMessage.purged_at).is_(None))
            .values(
                text_enc=None,
                attachments_enc=None,
                edits_enc=None,
                media_pending=False,
                purged_at=now,
            )
        )
    )


def _purge_threads(session: Session, cutoff: datetime, now: datetime) -> int:
    """Forget the citizen on threads with nothing in or out since ``cutoff``; how many."""
    stale = or_(
        col(InboxThread.last_inbound_at) < cutoff,
        and_(
            col(InboxThread.last_inbound_at).is_(None),
            col(InboxThread.updated_at) < cutoff,
        ),
    )
    return _rowcount(
        session.execute(
            update(InboxThread)
            .where(stale)
            .where(
                or_(
                    col(InboxThread.last_outbound_at).is_(None),
                    col(InboxThread.last_outbound_at) < cutoff,
                )
            )
            .where(col(InboxThread.purged_at).is_(None))
            .values(
                citizen_ref_enc=None,
                citizen_name_enc=None,
                citizen_info_enc=None,
                purged_at=now,
                waiting_since=None,
            )
        )
    )


def _rowcount(result: Any) -> int:
    # An UPDATE's result is a CursorResult: its rowcount is reliable for UPDATE on both.
    return int(cast(CursorResult[Any], result).rowcount or 0)
