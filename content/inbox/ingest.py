"""What the platforms deliver into threads and messages (:func:`ingest`): each platform
message stored once per channel, the clocks kept, comment edits and removals applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from content import inbox_media
from content.inbox.retention import withdraw
from content.inbox.rules import (
    CITIZEN,
    COMMENT_CHANGES,
    SYSTEM_ACTOR,
    TRANSITIONS,
    Inbound,
    IngestOutcome,
    _answered,
    _earlier,
    _later,
    _resolve,
)
from content.models import (
    InboxMessage,
    InboxThread,
    ThreadState,
)
from content.sealed import Sealer

# --- what the platforms deliver ----------------------------------------------------------------


def ingest(
    session: Session,
    sealer: Sealer,
    records: Sequence[Inbound],
    *,
    now: datetime,
    actor: str = SYSTEM_ACTOR,
) -> IngestOutcome:
    """Apply parsed events in the caller's transaction: threads, messages and the clocks.

    Each platform message is stored once per channel, whether it came by webhook (retried
    or not), by backfill or as the echo of Loa's own reply. A message dated before the
    citizen withdrew consent is not stored again.

    The batch is read with a few queries and its messages written in one statement (a
    receiver under a burst processes hundreds of events a second). On PostgreSQL another
    process may create the same thread or store the same message meanwhile: the batch's
    savepoint then rolls back and its records are applied again one by one, each in its
    own savepoint, against what the other process wrote.
    """
    try:
        with session.begin_nested():
            return _Batch(session, sealer, records, now, actor).apply()
    except IntegrityError:
        pass
    outcome = IngestOutcome()
    for record in records:
        for attempt in range(2):
            try:
                with session.begin_nested():
                    outcome.add(_Batch(session, sealer, [record], now, actor).apply())
                break
            except IntegrityError:
                if attempt == 1:
                    raise
    return outcome


_MESSAGE_TABLE = InboxMessage.__table__  # type: ignore[attr-defined]


class _Batch:
    """One batch of records: what the database already has is read once, up front; the new
    messages are inserted together at the end (or before a withdrawal, which must see them).
    """

    def __init__(
        self,
        session: Session,
        sealer: Sealer,
        records: Sequence[Inbound],
        now: datetime,
        actor: str,
    ) -> None:
        self.session = session
        self.sealer = sealer
        self.records = records
        self.now = now
        self.actor = actor
        self.rows: list[dict[str, Any]] = []
        #: (channel, platform id) -> thread id, of messages stored or about to be.
        self.known: dict[tuple[str, str], int] = {}
        #: (channel, kind, citizen index) -> thread.
        self.threads: dict[tuple[str, str, str], InboxThread] = {}
        self._prefetch()

    def _prefetch(self) -> None:
        ids: dict[str, set[str]] = {}
        citizens: set[str] = set()
        for record in self.records:
            for pid in (
                _platform_id(record),
                record.reply_to if record.citizen_id is None else None,
            ):
                if pid:
                    ids.setdefault(record.channel, set()).add(pid)
            if record.citizen_id:
                citizens.add(self.sealer.index(record.citizen_id))
        for channel, pids in ids.items():
            for thread_id, pid in self.session.execute(
                sa_select(col(InboxMessage.thread_id), col(InboxMessage.platform_id)).where(
                    col(InboxMessage.channel) == channel,
                    col(InboxMessage.platform_id).in_(sorted(pids)),
                )
            ).all():
                self.known[(channel, pid)] = thread_id
        if citizens:
            for thread in self.session.exec(
                select(InboxThread).where(col(InboxThread.citizen_index).in_(sorted(citizens)))
            ).all():
                self.threads[(thread.channel, thread.kind, thread.citizen_index)] = thread

    def apply(self) -> IngestOutcome:
        outcome = IngestOutcome()
        for record in self.records:
            outcome.add(self._apply(record))
        self._write()
        return outcome

    def _write(self) -> None:
        if self.rows:
            self.session.execute(insert(_MESSAGE_TABLE), self.rows)
            self.rows = []
        self.session.flush()

    def _thread(self, record: Inbound) -> InboxThread | None:
        if record.citizen_id:
            key = (record.channel, record.kind.value, self.sealer.index(record.citizen_id))
            return self.threads.get(key)
        if record.reply_to:
            # The Page's own comment: the thread of the comment it answers.
            parent = self.known.get((record.channel, record.reply_to))
            return self.session.get(InboxThread, parent) if parent is not None else None
        return None

    def _apply(self, record: Inbound) -> IngestOutcome:
        done = IngestOutcome()
        if record.event == "withdraw":
            self._write()  # the purge must reach the messages of this batch too
            done.withdrawn_threads = withdraw(
                self.session, self.sealer, record, now=self.now, actor=self.actor
            )
            return done
        if record.event in COMMENT_CHANGES:
            return self._change(record)
        platform_id = _platform_id(record)
        if platform_id and (record.channel, platform_id) in self.known:
            done.duplicates = 1
            return done
        thread = self._thread(record)
        skipped = self._not_a_message(record, thread)
        if skipped is not None:
            return skipped
        if thread is None:
            thread = _new_thread(self.session, self.sealer, record, self.now)
            self.threads[(thread.channel, thread.kind, thread.citizen_index)] = thread
            done.threads_created = 1
        self._update_citizen(thread, record)
        text = record.text
        if record.event == "info":
            info = _info(record)
            known = self.sealer.open_json(thread.citizen_info_enc) or {}
            thread.citizen_info_enc = self.sealer.seal_json({**known, **info})
            text = "; ".join(f"{k}: {v}" for k, v in info.items())
        assert thread.id is not None
        if platform_id:
            self.known[(record.channel, platform_id)] = thread.id
        self.rows.append(self._message_row(thread.id, record, platform_id, text))
        if record.direction == "in":
            _citizen_wrote(thread, record.occurred_at)
        else:
            _answered(thread, record.occurred_at)
        thread.updated_at = self.now
        self.session.add(thread)
        done.messages = 1
        return done

    def _not_a_message(self, record: Inbound, thread: InboxThread | None) -> IngestOutcome | None:
        """What a record that stores no message counts as (None: it stores one).

        The Page's own reply to a comment Loa never saw is ignored; the echo of a reply Loa
        sent settles that reply (a duplicate); what precedes the citizen's withdrawal is
        blocked; an interaction only marks the thread.
        """
        done = IngestOutcome()
        if thread is None and record.direction == "out":
            done.ignored = 1  # the Page's own comment on a comment Loa never saw
            return done
        if thread is not None and record.direction == "out" and self._settles(thread, record):
            done.duplicates = 1
            return done
        if thread is not None and thread.withdrawn_at is not None:
            if record.occurred_at <= thread.withdrawn_at:
                done.blocked = 1  # re-ingest of what the citizen had deleted
                return done
        if record.event == "interaction":
            if thread is not None:
                thread.last_interaction_at = _later(thread.last_interaction_at, record.occurred_at)
                thread.updated_at = self.now
            done.interactions = 1
            return done
        return None

    def _message_row(
        self, thread_id: int, record: Inbound, platform_id: str | None, text: str | None
    ) -> dict[str, object]:
        """The message table's row for ``record`` (its text and attachments sealed)."""
        return {
            "thread_id": thread_id,
            "channel": record.channel,
            "platform_id": platform_id,
            "direction": record.direction,
            "kind": "info" if record.event == "info" else record.message_kind,
            "occurred_at": record.occurred_at,
            "received_at": self.now,
            "text_enc": self.sealer.seal(text),
            "attachments_enc": self.sealer.seal_json([dict(a) for a in record.attachments]),
            # A citizen's image or file: downloaded right after, before its URL expires.
            "media_pending": record.direction == "in"
            and inbox_media.downloadable(record.attachments),
            "edits_enc": None,
            "edited_at": None,
            "removed": None,
            "removed_at": None,
            "reply_to": record.reply_to,
            "post_ref": record.post_ref,
            "author": None,
            "source": "echo" if record.direction == "out" else record.source,
            "reply_mode": None,
            "state": "received" if record.direction == "in" else "sent",
            "error_code": None,
            "error_message": None,
            "private_replied_at": None,
            "purged_at": None,
        }

    def _change(self, record: Inbound) -> IngestOutcome:
        """A comment edited (its earlier text kept with the new), removed or hidden."""
        done = IngestOutcome()
        key = (record.channel, record.platform_id or "")
        if key not in self.known:
            done.ignored = 1  # a comment Loa never stored (or one from before the inbox)
            return done
        self._write()  # the comment may be among this batch's new rows
        message = self.session.exec(
            select(InboxMessage).where(
                InboxMessage.channel == record.channel,
                InboxMessage.platform_id == record.platform_id,
            )
        ).first()
        if message is None or message.purged_at is not None:
            done.ignored = 1  # its words are gone: nothing to change
            return done
        if record.event == "edit":
            old = self.sealer.open(message.text_enc) or ""
            new = record.text or ""
            if new == old:
                done.duplicates = 1
                return done
            edits = list(self.sealer.open_json(message.edits_enc) or [])
            since = message.edited_at or message.occurred_at
            edits.append({"at": since.isoformat(), "text": old})
            message.edits_enc = self.sealer.seal_json(edits)
            message.text_enc = self.sealer.seal(new)
            message.edited_at = record.occurred_at
        elif record.event == "remove":
            message.removed, message.removed_at = "remove", record.occurred_at
        elif record.event == "hide" and message.removed != "remove":
            message.removed, message.removed_at = "hide", record.occurred_at
        elif record.event == "unhide" and message.removed == "hide":
            message.removed, message.removed_at = None, None
        else:
            done.duplicates = 1
            return done
        self.session.add(message)
        done.changed = 1
        return done

    def _settles(self, thread: InboxThread, record: Inbound) -> bool:
        """Whether ``record`` (the platform's echo of an outbound message) is a reply of
        Loa's whose outcome was unknown (or whose answer is still awaited): that reply is
        then settled as sent, with the platform's id, instead of being stored twice."""
        if not record.platform_id:
            return False
        waiting = self.session.exec(
            select(InboxMessage).where(
                InboxMessage.thread_id == thread.id,
                InboxMessage.direction == "out",
                col(InboxMessage.platform_id).is_(None),
                col(InboxMessage.state).in_(("unknown", "sending")),
            )
        ).all()
        text = (record.text or "").strip()
        for message in waiting:
            if text and (self.sealer.open(message.text_enc) or "").strip() == text:
                message.platform_id = record.platform_id
                if message.state == "unknown":
                    message.state, message.error_code, message.error_message = "sent", None, None
                    _answered(thread, message.occurred_at)
                self.session.add(message)
                self.known[(record.channel, record.platform_id)] = thread.id or 0
                return True
        return False

    def _update_citizen(self, thread: InboxThread, record: Inbound) -> None:
        if record.direction == "in" and record.citizen_id and thread.citizen_ref_enc is None:
            # He writes again after a purge or a withdrawal: he can be answered again.
            thread.citizen_ref_enc = self.sealer.seal(record.citizen_id)
            thread.purged_at = None
        if record.citizen_name and thread.citizen_ref_enc is not None:
            thread.citizen_name_enc = self.sealer.seal(record.citizen_name)
        if record.citizen_alt_id and thread.citizen_alt_index is None:
            thread.citizen_alt_index = self.sealer.index(record.citizen_alt_id)


def _platform_id(record: Inbound) -> str | None:
    """The id a record is stored under: the platform's, or one made from the time of an
    info form (Zalo gives it none; a retried delivery carries the same time)."""
    if record.event == "info" and not record.platform_id:
        return f"info:{int(record.occurred_at.timestamp() * 1000)}"
    return record.platform_id


def _info(record: Inbound) -> dict[str, str]:
    return {k: str(v) for k, v in (record.info or {}).items() if v not in (None, "")}


def _citizen_wrote(thread: InboxThread, at: datetime) -> None:
    """A citizen's message dated ``at``: the clocks, and the thread opens if it was answered."""
    thread.first_inbound_at = _earlier(thread.first_inbound_at, at)
    thread.last_inbound_at = _later(thread.last_inbound_at, at)
    thread.last_interaction_at = _later(thread.last_interaction_at, at)
    if thread.last_outbound_at is not None and at <= thread.last_outbound_at:
        return  # older than the office's last answer (a late backfill): nothing waits on it
    if thread.waiting_since is None or at < thread.waiting_since:
        thread.waiting_since = at
    target = TRANSITIONS.get((thread.state, CITIZEN))
    if target is not None:
        thread.state = _resolve(target, thread)


def _new_thread(session: Session, sealer: Sealer, record: Inbound, now: datetime) -> InboxThread:
    assert record.citizen_id, "a thread is always a citizen's"
    thread = InboxThread(
        channel=record.channel,
        kind=record.kind.value,
        citizen_index=sealer.index(record.citizen_id),
        citizen_alt_index=sealer.index(record.citizen_alt_id) if record.citizen_alt_id else None,
        citizen_ref_enc=sealer.seal(record.citizen_id),
        state=ThreadState.OPEN if record.direction == "in" else ThreadState.ANSWERED,
        tags=[],
        created_at=now,
        updated_at=now,
    )
    session.add(thread)
    session.flush()
    return thread
