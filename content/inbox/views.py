"""What a person sees of the inbox: threads as a list shows them (no personal data), a thread
opened (messages in clear), counts, and a reply recorded before it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from content import inbox_media
from content.inbox.rules import InboxSettings, ReplyWindow, reply_window, response_due
from content.models import (
    InboxMessage,
    InboxThread,
    ThreadKind,
)
from content.sealed import Sealer

# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadFilter:
    """Which threads to list; None means any."""

    states: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    kind: str | None = None
    tag: str | None = None
    assignee: str | None = None
    unit: str | None = None
    #: Only threads where a citizen waits for an answer.
    waiting: bool = False
    #: Only threads past the office's response target.
    overdue: bool = False
    limit: int | None = None


@dataclass(frozen=True)
class ThreadSummary:
    """A thread as a list shows it: no personal data (reading it is :meth:`Inbox.thread`)."""

    id: int
    channel: str
    kind: str
    state: str
    unit: str | None
    assignee: str | None
    tags: tuple[str, ...]
    created_at: datetime
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    waiting_since: datetime | None
    response_due_at: datetime | None
    window: ReplyWindow
    messages_in: int
    messages_out: int
    withdrawn: bool
    purged: bool
    #: Zalo says the citizen is under 18 (his profile's ``is_sensitive``).
    minor: bool = False

    def overdue(self, now: datetime) -> bool:
        """The office's response target has passed with the citizen still waiting."""
        return self.response_due_at is not None and now > self.response_due_at


@dataclass(frozen=True)
class MessageView:
    """One message, opened (personal data in clear: only through an audited read)."""

    id: int
    direction: str
    kind: str
    occurred_at: datetime
    text: str | None
    attachments: tuple[Mapping[str, Any], ...]
    author: str | None
    source: str
    state: str
    reply_mode: str | None
    reply_to: str | None
    post_ref: str | None
    platform_id: str | None
    error_code: str | None
    error_message: str | None
    private_replied: bool
    purged: bool
    #: The attachments Loa downloaded (or tried to), in their order.
    kept: tuple[inbox_media.AttachmentView, ...] = ()
    #: A comment the citizen edited: his earlier texts, oldest first (``{"at", "text"}``).
    edits: tuple[Mapping[str, str], ...] = ()
    edited_at: datetime | None = None
    #: ``remove`` or ``hide``: the comment is gone from the platform (or hidden).
    removed: str | None = None
    removed_at: datetime | None = None


@dataclass(frozen=True)
class ThreadView:
    """A thread opened by a person: its summary, the citizen and every message."""

    summary: ThreadSummary
    citizen_name: str | None
    citizen_info: Mapping[str, Any]
    messages: tuple[MessageView, ...]


@dataclass(frozen=True)
class Counts:
    """Threads by state, and how many wait and are overdue (for a unit or a channel)."""

    open: int = 0
    assigned: int = 0
    answered: int = 0
    closed: int = 0
    waiting: int = 0
    overdue: int = 0

    def plus(self, other: Counts) -> Counts:
        """The sum of two counts."""
        return Counts(*(getattr(self, n) + getattr(other, n) for n in self.__dataclass_fields__))

    def as_dict(self) -> dict[str, int]:
        """The JSON form."""
        return {n: getattr(self, n) for n in self.__dataclass_fields__}


@dataclass(frozen=True)
class ReplyPlan:
    """A reply recorded as ``sending``, with what the channel client needs to send it."""

    message_id: int
    thread_id: int
    channel: str
    kind: str
    mode: str
    #: The citizen's platform id (Zalo UID, Messenger PSID) or the comment answered.
    recipient: str = field(repr=False)
    text: str = field(repr=False)
    #: Messenger outside the 24 hours: send with the HUMAN_AGENT tag.
    human_agent: bool = False


def _case_overdue(late_before: datetime) -> Any:
    return case((col(InboxThread.waiting_since) < late_before, 1), else_=0)


def _summaries(
    session: Session, threads: Sequence[InboxThread], settings: InboxSettings
) -> list[ThreadSummary]:
    """Summaries with message counts and, for comment threads, the private-reply clock."""
    counts = _message_counts(session, [t.id for t in threads if t.id is not None])
    latest = _latest_comments(session, threads)
    out = []
    for t in threads:
        assert t.id is not None
        newest = latest.get(t.id)
        window = reply_window(
            t,
            human_agent=t.channel in settings.human_agent,
            latest_comment_at=newest[0] if newest else None,
            private_used=newest[1] if newest else False,
        )
        out.append(
            ThreadSummary(
                id=t.id,
                channel=t.channel,
                kind=t.kind,
                state=t.state,
                unit=t.unit,
                assignee=t.assignee,
                tags=tuple(t.tags or ()),
                created_at=t.created_at,
                last_inbound_at=t.last_inbound_at,
                last_outbound_at=t.last_outbound_at,
                waiting_since=t.waiting_since,
                response_due_at=response_due(t, settings.response_target),
                window=window,
                messages_in=counts.get((t.id, "in"), 0),
                messages_out=counts.get((t.id, "out"), 0),
                withdrawn=t.withdrawn_at is not None,
                purged=t.purged_at is not None,
                minor=bool(t.minor),
            )
        )
    return out


def _message_counts(session: Session, ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """Per (thread, direction): its messages received or sent."""
    counts: dict[tuple[int, str], int] = {}
    if not ids:
        return counts
    for thread_id, direction, n in session.execute(
        select(InboxMessage.thread_id, InboxMessage.direction, func.count())
        .where(col(InboxMessage.thread_id).in_(ids))
        .where(col(InboxMessage.state).in_(("received", "sent")))
        .group_by(col(InboxMessage.thread_id), col(InboxMessage.direction))
    ).all():
        counts[(thread_id, direction)] = n
    return counts


def _latest_comments(
    session: Session, threads: Sequence[InboxThread]
) -> dict[int, tuple[datetime, bool]]:
    """Per comment thread: when the citizen's newest comment came, and whether it already
    had its private reply."""
    latest: dict[int, tuple[datetime, bool]] = {}
    comment_ids = [t.id for t in threads if t.kind == ThreadKind.COMMENTS and t.id]
    if not comment_ids:
        return latest
    for row in session.execute(
        select(
            InboxMessage.thread_id,
            InboxMessage.occurred_at,
            InboxMessage.private_replied_at,
        )
        .where(col(InboxMessage.thread_id).in_(comment_ids))
        .where(InboxMessage.direction == "in")
        .order_by(col(InboxMessage.occurred_at).desc(), col(InboxMessage.id).desc())
    ).all():
        latest.setdefault(row[0], (row[1], row[2] is not None))
    return latest


def _message_view(
    message: InboxMessage, sealer: Sealer, kept: tuple[inbox_media.AttachmentView, ...] = ()
) -> MessageView:
    assert message.id is not None
    return MessageView(
        id=message.id,
        direction=message.direction,
        kind=message.kind,
        occurred_at=message.occurred_at,
        text=sealer.open(message.text_enc),
        attachments=tuple(sealer.open_json(message.attachments_enc) or ()),
        author=message.author,
        source=message.source,
        state=message.state,
        reply_mode=message.reply_mode,
        reply_to=message.reply_to,
        post_ref=message.post_ref,
        platform_id=message.platform_id,
        error_code=message.error_code,
        error_message=message.error_message,
        private_replied=message.private_replied_at is not None,
        purged=message.purged_at is not None,
        kept=kept,
        edits=tuple(sealer.open_json(message.edits_enc) or ()),
        edited_at=message.edited_at,
        removed=message.removed,
        removed_at=message.removed_at,
    )


def _restricted(view: MessageView) -> MessageView:
    """A minor's message as an officer without the right sees it: where he is, withheld."""
    withheld = tuple(
        {"type": "location", "restricted": True} if a.get("type") == "location" else a
        for a in view.attachments
    )
    return replace(view, attachments=withheld)
