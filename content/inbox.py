"""The citizens' inbox: the only module that changes a thread's state.

Citizens answer the office on the same channels it publishes to: messages to a Zalo OA,
Messenger messages to a Page, comments under the Page's posts. Each citizen has one
*thread* per channel and kind of conversation; his messages and the office's replies are
its messages. A thread goes::

    open -> assigned -> answered -> closed
      \\________________/   |  ^        |
              (a reply)     v  |        v
                 the citizen writes again: open (or assigned when someone has it)

Every change goes through :data:`TRANSITIONS`; the webhook processor and the backfill feed
:func:`ingest`, the faces call :class:`Inbox`. Two clocks run on each thread: the office's
response target (from the oldest unanswered message) and the platform's reply window
(:func:`reply_window`). What citizens send is personal data: sealed at rest
(:mod:`content.sealed`), purged after the retention period (:func:`purge_expired`) or when
the citizen withdraws consent (:func:`withdraw`), and every opening of a thread is audited.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, and_, case, func, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from content import audit, inbox_media
from content.accounts import Access, account_channels, any_active, fold
from content.db import session_scope
from content.errors import LoaError, NotFound, StateError
from content.models import (
    Account,
    InboxMessage,
    InboxThread,
    Role,
    ThreadKind,
    ThreadState,
)
from content.office import ChannelDirectory
from content.sealed import Sealer
from content.times import utcnow

# --- the rules as data ---------------------------------------------------------------------

#: What a citizen (or the Page) may do to a comment already stored (``Inbound.event``).
COMMENT_CHANGES = ("edit", "remove", "hide", "unhide")

#: The tags an officer may put on a thread.
TAGS = ("tip", "scam_report", "question", "complaint", "spam")

#: Events that move a thread (see :data:`TRANSITIONS`).
ASSIGN = "assign"
ANSWER = "answer"  # the office answered (through Loa, or natively on the platform)
CITIZEN = "citizen"  # the citizen wrote (or did something that asks for an answer)
CLOSE = "close"
WITHDRAW = "withdraw"
#: A target meaning "open again": assigned when a unit or officer has it, else open.
REOPEN = "reopen"

_O, _A, _N, _C = ThreadState.OPEN, ThreadState.ASSIGNED, ThreadState.ANSWERED, ThreadState.CLOSED
#: (state, event) -> the state after. A pair not listed is refused.
TRANSITIONS: Mapping[tuple[str, str], str] = {
    (_O, ASSIGN): _A,
    (_A, ASSIGN): _A,
    (_N, ASSIGN): _N,  # a new owner for an answered thread: still answered
    (_O, ANSWER): _N,
    (_A, ANSWER): _N,
    (_N, ANSWER): _N,
    (_O, CITIZEN): _O,
    (_A, CITIZEN): _A,
    (_N, CITIZEN): REOPEN,
    (_C, CITIZEN): REOPEN,
    (_O, CLOSE): _C,
    (_A, CLOSE): _C,
    (_N, CLOSE): _C,
    (_O, WITHDRAW): _C,
    (_A, WITHDRAW): _C,
    (_N, WITHDRAW): _C,
    (_C, WITHDRAW): _C,
}

#: How long after the citizen's last interaction the platform lets the office write
#: (shared/reference/inbox.md): Zalo consultation messages 7 days (§A7), Messenger 24 hours
#: (§B9), 7 days with the Human Agent tag (a reviewed Meta feature), one private reply to a
#: comment within 7 days (§B8). A public reply to a comment has no window.
ZALO_WINDOW = timedelta(days=7)
MESSENGER_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
#: Longest reply each platform takes (Zalo §A7: 2,000; Messenger: 2,000 by common practice;
#: a comment takes far more, 8,000 keeps a reply readable).
REPLY_LIMITS = {ThreadKind.ZALO_CHAT: 2000, ThreadKind.MESSENGER: 2000, ThreadKind.COMMENTS: 8000}
#: Reply modes: a message in the conversation, or a public or private answer to a comment.
MESSAGE, PUBLIC, PRIVATE = "message", "public", "private"
#: The daemon and the receiver act under this name in the audit log.
SYSTEM_ACTOR = "loa-inbox"


@dataclass(frozen=True)
class InboxSettings:
    """The office's inbox settings (``[inbox]`` in channels.toml), as plain values."""

    #: The office's own promise: answer a citizen within this long.
    response_target: timedelta = timedelta(hours=24)
    #: Personal data older than this is purged.
    retention: timedelta = timedelta(days=180)
    #: Facebook channels whose Meta app has the Human Agent feature (replies up to 7 days).
    human_agent: frozenset[str] = frozenset()


# --- errors a user can cause ---------------------------------------------------------------


class InboxRefused(StateError):
    """A thread change the rules refuse; nothing was written. Worded in
    :data:`content.messages.CATALOGUE` by its ``code``; every refusal names the ``thread``.

    Codes: ``inbox_state`` (not allowed in the thread's state: ``tstate``, ``taction``),
    ``inbox_withdrawn`` (the citizen withdrew consent), ``inbox_purged`` (his data is gone),
    ``inbox_tag`` (unknown tag: ``tag``, ``known``), ``inbox_assignee`` (no such account, or
    it cannot see the channel: ``user``, ``channel``), ``inbox_unit`` (``unit``, ``known``),
    ``inbox_assign_whom``, ``reply_empty``, ``reply_too_long`` (``length``, ``tkind``,
    ``limit``), ``reply_mode`` (``tkind``, ``rmode``, ``rmodes``), ``reply_target`` and
    ``reply_target_id`` (``target_id``), ``private_reply_used`` (``target_id``).
    """


class ThreadNotFound(NotFound):
    """No thread with that id, or none the person may see: the same answer, on purpose."""

    def __init__(self, thread_id: int) -> None:
        super().__init__("thread_not_found", thread=thread_id)


class ReplyRefused(LoaError):
    """The platform refused a reply, or its outcome is unknown.

    Codes: ``reply_window_closed`` (the platform's reply window has passed: ``rule``),
    ``reply_private_used`` (a comment takes one private reply), ``citizen_unavailable`` (he
    blocked the Page/OA, is inactive, or restricted messages), ``reply_refused`` (any other
    refusal), ``reply_unknown`` (no answer: the reply may have gone out), ``reply_failed``
    (surely not sent). ``params`` name the ``platform``, its own ``platform_code`` and
    ``platform_message`` (``said``: both together), and the ``thread``.
    """


# --- what the platforms deliver, normalised --------------------------------------------------


@dataclass(frozen=True)
class Inbound:
    """One thing a citizen (or the Page/OA itself) did, as a channel client parsed it.

    ``event``: ``message`` (a message or comment, in or out), ``interaction`` (Zalo: a
    follow, a tap on "Nhắn tin": opens the reply window, asks for no answer), ``info`` (the
    citizen submitted his details), ``withdraw`` (he exercised his data-subject rights),
    ``edit``/``remove``/``hide``/``unhide`` (a comment already stored, by ``platform_id``:
    an edit carries the new ``text``).
    """

    channel: str
    kind: ThreadKind
    event: str
    occurred_at: datetime
    #: The platform's id of the citizen (scoped to the channel); None for the Page's own
    #: comment, whose thread is found through ``reply_to``.
    citizen_id: str | None = None
    #: Another id of the same citizen (Zalo ``user_id_by_app``).
    citizen_alt_id: str | None = None
    citizen_name: str | None = None
    direction: str = "in"
    platform_id: str | None = None
    message_kind: str = "text"
    text: str | None = None
    attachments: tuple[Mapping[str, Any], ...] = ()
    reply_to: str | None = None
    post_ref: str | None = None
    #: ``info``: what the citizen submitted (name, phone, address...).
    info: Mapping[str, str] | None = None
    #: ``withdraw``: the channels the withdrawal applies to when the platform named no
    #: channel (Zalo sends ``oa_id: ""`` when the app is not linked to an OA).
    scope: tuple[str, ...] = ()
    #: ``webhook`` or ``backfill``.
    source: str = "webhook"
    #: Outbound sent natively on the platform by this admin (Zalo console), when known.
    native_by: str | None = None


@dataclass
class IngestOutcome:
    """What :func:`ingest` did with a batch."""

    messages: int = 0
    duplicates: int = 0
    interactions: int = 0
    withdrawn_threads: int = 0
    blocked: int = 0
    threads_created: int = 0
    ignored: int = 0
    #: Comments edited, removed, hidden or shown again.
    changed: int = 0

    def add(self, other: IngestOutcome) -> None:
        """Add ``other``'s counts to these."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


# --- the two clocks --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyWindow:
    """Until when the platform lets the office answer, and by which rule.

    ``rule``: ``zalo_7d``, ``messenger_24h``, ``messenger_human_agent_7d``,
    ``private_reply_7d`` (comments: the public reply has no window), ``none`` (nothing from
    the citizen yet). ``closes_at`` None means no end; ``private_used``: the latest comment
    already had its one private reply.
    """

    rule: str
    closes_at: datetime | None
    private_used: bool = False

    def is_open(self, now: datetime) -> bool:
        """Whether a reply under this rule is still possible at ``now``."""
        if self.rule == "none":
            return False
        return self.closes_at is None or now < self.closes_at


def reply_window(
    thread: InboxThread,
    *,
    human_agent: bool = False,
    latest_comment_at: datetime | None = None,
    private_used: bool = False,
) -> ReplyWindow:
    """The platform's reply window of ``thread`` (the second clock).

    ``latest_comment_at`` (comments) is the citizen's newest comment, which a private reply
    must answer within 7 days; ``human_agent`` (Messenger) when the Page's app may tag
    replies HUMAN_AGENT.
    """
    if thread.kind == ThreadKind.ZALO_CHAT:
        start = thread.last_interaction_at or thread.last_inbound_at
        return ReplyWindow("zalo_7d", start + ZALO_WINDOW if start else None) if start else _NONE
    if thread.kind == ThreadKind.MESSENGER:
        if thread.last_inbound_at is None:
            return _NONE
        if human_agent:
            return ReplyWindow(
                "messenger_human_agent_7d", thread.last_inbound_at + HUMAN_AGENT_WINDOW
            )
        return ReplyWindow("messenger_24h", thread.last_inbound_at + MESSENGER_WINDOW)
    start = latest_comment_at or thread.last_inbound_at
    if start is None:
        return _NONE
    return ReplyWindow("private_reply_7d", start + PRIVATE_REPLY_WINDOW, private_used)


_NONE = ReplyWindow("none", None)


def response_due(thread: InboxThread, target: timedelta) -> datetime | None:
    """When the office's response target for ``thread`` runs out (the first clock)."""
    return thread.waiting_since + target if thread.waiting_since else None


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


# --- the inbox as a person uses it -------------------------------------------------------------


class Inbox:
    """Threads as ``access`` may see and handle them (his units' channels once accounts exist)."""

    def __init__(
        self,
        engine: Engine,
        directory: ChannelDirectory,
        sealer: Sealer,
        *,
        access: Access,
        settings: InboxSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.sealer = sealer
        self.access = access
        self.settings = settings or InboxSettings()
        self.clock = clock

    # --- reads (for the CLI, the TUI and the reports)

    def threads(self, wanted: ThreadFilter | None = None) -> list[ThreadSummary]:
        """Threads the person may see, those waiting longest first, then the newest."""
        wanted = wanted or ThreadFilter()
        now = self.clock()
        query = select(InboxThread)
        if self.access.channels is not None:
            query = query.where(col(InboxThread.channel).in_(sorted(self.access.channels)))
        if wanted.states:
            query = query.where(col(InboxThread.state).in_(wanted.states))
        if wanted.channels:
            query = query.where(col(InboxThread.channel).in_(wanted.channels))
        if wanted.kind:
            query = query.where(InboxThread.kind == wanted.kind)
        if wanted.assignee:
            query = query.where(InboxThread.assignee == fold(wanted.assignee))
        if wanted.unit:
            query = query.where(InboxThread.unit == wanted.unit)
        if wanted.waiting or wanted.overdue:
            query = query.where(col(InboxThread.waiting_since).is_not(None))
        if wanted.overdue:
            query = query.where(
                col(InboxThread.waiting_since) < now - self.settings.response_target
            )
        query = query.order_by(
            col(InboxThread.waiting_since).is_(None),
            col(InboxThread.waiting_since),
            col(InboxThread.last_inbound_at).desc(),
            col(InboxThread.id).desc(),
        )
        with session_scope(self.engine, write=False) as session:
            rows = list(session.exec(query).all())
            if wanted.tag:
                tag = parse_tag(wanted.tag)
                rows = [r for r in rows if tag in (r.tags or [])]
            if wanted.limit is not None:
                rows = rows[: wanted.limit]
            return _summaries(session, rows, self.settings)

    def thread(self, thread_id: int) -> ThreadView:
        """Open a thread: the citizen and every message in clear. Audited (who read which tip)."""
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "read citizens' threads")
            messages = session.exec(
                select(InboxMessage)
                .where(InboxMessage.thread_id == thread_id)
                .order_by(col(InboxMessage.occurred_at), col(InboxMessage.id))
            ).all()
            summary = _summaries(session, [thread], self.settings)[0]
            kept = inbox_media.of_thread(session, thread_id)
            view = ThreadView(
                summary=summary,
                citizen_name=self.sealer.open(thread.citizen_name_enc),
                citizen_info=self.sealer.open_json(thread.citizen_info_enc) or {},
                messages=tuple(
                    _restricted(_message_view(m, self.sealer, kept.get(m.id or 0, ())))
                    if thread.minor and self._restricted()
                    else _message_view(m, self.sealer, kept.get(m.id or 0, ()))
                    for m in messages
                ),
            )
            self._audit(session, "inbox_read", thread, None, None)
            return view

    def counts(self, *, by: str = "unit") -> dict[str, Counts]:
        """Threads per unit (``by="unit"``: a thread counts for its assigned unit, else for
        every channel group holding its channel) or per channel (``by="channel"``)."""
        result: dict[str, Counts] = {}
        for channel, unit, piece in self.count_rows():
            if by == "channel":
                keys: Iterable[str] = (channel,)
            elif unit:
                keys = (unit,)
            else:
                keys = [g for g, members in self.directory.groups.items() if channel in members]
                keys = keys or [channel]
            for key in keys:
                result[key] = result.get(key, Counts()).plus(piece)
        return dict(sorted(result.items()))

    def count_rows(self) -> list[tuple[str, str | None, Counts]]:
        """Threads the person may see, counted per channel and assigned unit (the pieces
        :meth:`counts` and :func:`content.inbox_counts.by_unit` add up)."""
        now = self.clock()
        late_before = now - self.settings.response_target
        query = sa_select(
            col(InboxThread.channel),
            col(InboxThread.unit),
            col(InboxThread.state),
            func.count(),
            func.count(col(InboxThread.waiting_since)),
            func.sum(_case_overdue(late_before)),
        ).group_by(col(InboxThread.channel), col(InboxThread.unit), col(InboxThread.state))
        if self.access.channels is not None:
            query = query.where(col(InboxThread.channel).in_(sorted(self.access.channels)))
        rows = []
        with session_scope(self.engine, write=False) as session:
            for channel, unit, state, n, waiting, overdue in session.execute(query).all():
                piece = Counts(
                    open=n if state == _O else 0,
                    assigned=n if state == _A else 0,
                    answered=n if state == _N else 0,
                    closed=n if state == _C else 0,
                    waiting=int(waiting or 0),
                    overdue=int(overdue or 0),
                )
                rows.append((channel, unit, piece))
        return rows

    # --- changes by a person

    def assign(
        self, thread_id: int, *, officer: str | None = None, unit: str | None = None
    ) -> ThreadSummary:
        """Give the thread to an officer and/or a unit.

        Anyone who sees the thread may take it himself; giving it to someone else takes an
        approver. The officer must have an active account that sees the channel, and the unit
        must be a channel group (or the channel) that holds it.
        """
        if officer is None and unit is None:
            raise InboxRefused("inbox_assign_whom", thread=thread_id)
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "assign citizens' threads")
            before = _record(thread)
            if officer is not None:
                thread.assignee = self._assignee(session, thread, officer)
            if unit is not None:
                thread.unit = self._unit(thread, unit)
            self._move(thread, ASSIGN)
            return self._changed(session, thread, "inbox_assign", before)

    def tag(
        self, thread_id: int, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> ThreadSummary:
        """Add and remove tags (tip, scam_report, question, complaint, spam)."""
        adding = [parse_tag(t) for t in add]
        removing = {parse_tag(t) for t in remove}
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "tag citizens' threads")
            before = _record(thread)
            tags = [t for t in (thread.tags or []) if t not in removing]
            tags += [t for t in adding if t not in tags]
            thread.tags = [t for t in TAGS if t in tags]  # one stable order
            return self._changed(session, thread, "inbox_tag", before)

    def close(self, thread_id: int) -> ThreadSummary:
        """Close the thread (it opens again when the citizen writes)."""
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "close citizens' threads")
            before = _record(thread)
            self._move(thread, CLOSE)
            thread.waiting_since = None
            return self._changed(session, thread, "inbox_close", before)

    # --- replies: recorded before the platform is called, settled with its answer

    def begin_reply(
        self, thread_id: int, text: str, *, mode: str | None = None, to: int | None = None
    ) -> ReplyPlan:
        """Check a reply and record it as ``sending`` before anything leaves.

        ``mode``: ``message`` (Zalo, Messenger), ``public`` or ``private`` (a comment; public
        by default); ``to`` the message id of the comment to answer (default: the citizen's
        newest). A private reply to a comment that already had one is refused here, before
        the platform is asked.
        """
        body = unicodedata.normalize("NFC", text).strip()
        now = self.clock()
        with session_scope(self.engine) as session:
            thread = self._visible(session, thread_id, "answer citizens", lock=True)
            self._require_live(thread)
            if (thread.state, ANSWER) not in TRANSITIONS:
                raise InboxRefused(
                    "inbox_state", thread=thread_id, tstate=thread.state, taction="answer"
                )
            kind = ThreadKind(thread.kind)
            chosen = _reply_mode(kind, mode, thread_id)
            if not body:
                raise InboxRefused("reply_empty", thread=thread_id)
            limit = REPLY_LIMITS[kind]
            if len(body) > limit:
                raise InboxRefused(
                    "reply_too_long",
                    thread=thread_id,
                    length=len(body),
                    tkind=kind.value,
                    limit=limit,
                )
            target: InboxMessage | None = None
            if kind == ThreadKind.COMMENTS:
                target = self._comment_target(session, thread, to)
                if chosen == PRIVATE and target.private_replied_at is not None:
                    raise InboxRefused("private_reply_used", thread=thread_id, target_id=target.id)
                recipient = target.platform_id or ""
            else:
                recipient = self.sealer.open(thread.citizen_ref_enc) or ""
            if not recipient:
                raise InboxRefused("inbox_purged", thread=thread_id)
            human_agent = (
                kind == ThreadKind.MESSENGER
                and thread.channel in self.settings.human_agent
                and thread.last_inbound_at is not None
                and now - thread.last_inbound_at >= MESSENGER_WINDOW
            )
            message = InboxMessage(
                thread_id=thread_id,
                channel=thread.channel,
                direction="out",
                kind="text",
                occurred_at=now,
                received_at=now,
                text_enc=self.sealer.seal(body),
                reply_to=target.platform_id if target else None,
                post_ref=target.post_ref if target else None,
                author=self.access.actor,
                source="loa",
                reply_mode=chosen,
                state="sending",
            )
            session.add(message)
            session.flush()
            assert message.id is not None
            self._audit(
                session,
                "inbox_reply",
                thread,
                None,
                {"message": message.id, "mode": chosen, "state": "sending"},
            )
            return ReplyPlan(
                message_id=message.id,
                thread_id=thread_id,
                channel=thread.channel,
                kind=kind.value,
                mode=chosen,
                recipient=recipient,
                text=body,
                human_agent=human_agent,
            )

    def finish_reply(self, plan: ReplyPlan, platform_id: str | None) -> ThreadSummary:
        """The platform accepted the reply (``platform_id`` its message or comment id)."""
        now = self.clock()
        with session_scope(self.engine) as session:
            thread = _thread_for_update(session, plan.thread_id)
            message = session.get(InboxMessage, plan.message_id)
            if thread is None or message is None:  # pragma: no cover - never deleted
                raise ThreadNotFound(plan.thread_id)
            echo = None
            if platform_id:
                echo = session.exec(
                    select(InboxMessage).where(
                        InboxMessage.channel == plan.channel,
                        InboxMessage.platform_id == platform_id,
                    )
                ).first()
            if echo is not None and echo.id != message.id:
                # The platform's echo of this very reply came in before its answer: keep one
                # row, the echo's place, with who sent it and how.
                echo.author, echo.reply_mode, echo.source = message.author, plan.mode, "loa"
                echo.reply_to, echo.post_ref = message.reply_to, message.post_ref
                echo.state = "sent"
                session.add(echo)
                session.delete(message)
            else:
                message.platform_id = platform_id
                message.state = "sent"
                message.occurred_at = now
                session.add(message)
            if plan.mode == PRIVATE and message.reply_to:
                session.execute(
                    update(InboxMessage)
                    .where(
                        col(InboxMessage.channel) == plan.channel,
                        col(InboxMessage.platform_id) == message.reply_to,
                    )
                    .values(private_replied_at=now)
                )
            before = _record(thread)
            _answered(thread, now)
            thread.updated_at = now
            session.add(thread)
            session.flush()
            self._audit(
                session,
                "inbox_reply_sent",
                thread,
                before,
                {"message": plan.message_id, "mode": plan.mode, "state": thread.state},
            )
            return _summaries(session, [thread], self.settings)[0]

    def refuse_reply(self, plan: ReplyPlan, refusal: ReplyRefused) -> None:
        """The platform refused the reply: keep it as ``refused`` with the platform's reason
        (reports count replies attempted outside the window)."""
        self._settle_failed(plan, "refused", refusal)

    def reply_failed(self, plan: ReplyPlan, refusal: ReplyRefused) -> None:
        """The reply surely did not go out (the platform unreachable, the channel's token
        refused): kept as ``failed`` with the reason; the officer may send it again."""
        self._settle_failed(plan, "failed", refusal)

    def reply_unknown(self, plan: ReplyPlan, refusal: ReplyRefused) -> None:
        """The platform did not answer: the reply may have gone out (the echo settles it)."""
        self._settle_failed(plan, "unknown", refusal)

    def _settle_failed(self, plan: ReplyPlan, state: str, refusal: ReplyRefused) -> None:
        with session_scope(self.engine) as session:
            message = session.get(InboxMessage, plan.message_id)
            thread = session.get(InboxThread, plan.thread_id)
            if message is None or thread is None:  # pragma: no cover - purged meanwhile
                return
            message.state = state
            # The refusal's own code, so each face says it in its reader's language and the
            # reports count the replies refused for the window; the platform's own code and
            # words are kept as it said them.
            message.error_code = refusal.code[:50]
            message.error_message = str(refusal.params.get("said") or refusal)
            session.add(message)
            self._audit(
                session,
                "inbox_reply_" + state,
                thread,
                None,
                {"message": plan.message_id, "code": refusal.code},
            )

    # --- helpers

    def _visible(
        self, session: Session, thread_id: int, what: str, *, lock: bool = False
    ) -> InboxThread:
        thread = _thread_for_update(session, thread_id) if lock else None
        thread = thread or session.get(InboxThread, thread_id)
        if thread is None or not self.access.sees(thread.channel):
            # An officer outside the unit learns nothing, not even that the thread exists.
            raise ThreadNotFound(thread_id)
        self.access.require_channels([thread.channel], what)
        return thread

    def _restricted(self) -> bool:
        """Whether a minor's sensitive data is withheld from this person: once accounts
        exist, from everyone but approvers and admins (inbox.md §F4)."""
        return self.access.enforced and self.access.role not in (Role.APPROVER, Role.ADMIN)

    def _require_live(self, thread: InboxThread) -> None:
        if thread.citizen_ref_enc is None and thread.withdrawn_at is not None:
            raise InboxRefused("inbox_withdrawn", thread=thread.id)

    def _move(self, thread: InboxThread, event: str) -> None:
        target = TRANSITIONS.get((thread.state, event))
        if target is None:
            raise InboxRefused("inbox_state", thread=thread.id, tstate=thread.state, taction=event)
        thread.state = _resolve(target, thread)

    def _assignee(self, session: Session, thread: InboxThread, officer: str) -> str:
        name = fold(officer)
        if name != self.access.actor:
            self.access.require(Role.APPROVER, "assign threads to others")
        if not any_active(session):
            return name
        account = session.get(Account, name)
        sees = (
            account is not None
            and account.active
            and (
                (channels := account_channels(account, self.directory)) is None
                or thread.channel in channels
            )
        )
        if not sees:
            raise InboxRefused(
                "inbox_assignee", thread=thread.id, user=name, channel=thread.channel
            )
        return name

    def _unit(self, thread: InboxThread, unit: str) -> str:
        name = unit.strip()
        # A channel, a group of channels or a unit of the tree (its subtree's channels).
        if thread.channel not in (self.directory.members(name) or ()):
            holding = units_holding(self.directory, thread.channel)[:-1]
            raise InboxRefused(
                "inbox_unit",
                thread=thread.id,
                unit=name,
                channel=thread.channel,
                known=[*holding, thread.channel],
            )
        return name

    def _comment_target(
        self, session: Session, thread: InboxThread, to: int | None
    ) -> InboxMessage:
        query = select(InboxMessage).where(
            InboxMessage.thread_id == thread.id,
            InboxMessage.direction == "in",
            col(InboxMessage.platform_id).is_not(None),
        )
        if to is not None:
            query = query.where(InboxMessage.id == to)
        target = session.exec(
            query.order_by(col(InboxMessage.occurred_at).desc(), col(InboxMessage.id).desc())
        ).first()
        if target is None:
            if to is not None:
                raise InboxRefused("reply_target_id", thread=thread.id, target_id=to)
            raise InboxRefused("reply_target", thread=thread.id)
        return target

    def _changed(
        self, session: Session, thread: InboxThread, action: str, before: dict[str, Any]
    ) -> ThreadSummary:
        thread.updated_at = self.clock()
        session.add(thread)
        session.flush()
        self._audit(session, action, thread, before, _record(thread))
        return _summaries(session, [thread], self.settings)[0]

    def _audit(
        self,
        session: Session,
        action: str,
        thread: InboxThread,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> None:
        # Never a citizen's words or name: the audit log is not encrypted.
        audit.write(
            session,
            [
                dict(
                    at=self.clock(),
                    actor=self.access.actor,
                    action=action,
                    post_id=None,
                    before=before,
                    after={"thread": thread.id, **(after or {})},
                    detail=f"thread {thread.id} ({thread.channel})",
                    **self.access.audit_fields(),
                )
            ],
        )


def parse_tag(raw: str) -> str:
    """A tag as typed (``scam report``, ``Scam-Report``) to its name (``scam_report``)."""
    name = "_".join(raw.strip().lower().replace("-", " ").split())
    if name not in TAGS:
        raise InboxRefused("inbox_tag", tag=raw, known=list(TAGS))
    return name


def _reply_mode(kind: ThreadKind, mode: str | None, thread_id: int) -> str:
    allowed = (PUBLIC, PRIVATE) if kind == ThreadKind.COMMENTS else (MESSAGE,)
    chosen = mode or allowed[0]
    if chosen not in allowed:
        raise InboxRefused(
            "reply_mode", thread=thread_id, tkind=kind.value, rmode=chosen, rmodes=list(allowed)
        )
    return chosen


def _resolve(target: str, thread: InboxThread) -> str:
    if target == REOPEN:
        return _A if (thread.assignee or thread.unit) else _O
    return target


def _record(thread: InboxThread) -> dict[str, Any]:
    """The audit view of a thread: its handling, never its content."""
    return {
        "state": thread.state,
        "unit": thread.unit,
        "assignee": thread.assignee,
        "tags": list(thread.tags or []),
    }


def _thread_for_update(session: Session, thread_id: int) -> InboxThread | None:
    query = select(InboxThread).where(InboxThread.id == thread_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.exec(query).first()


def _case_overdue(late_before: datetime) -> Any:
    return case((col(InboxThread.waiting_since) < late_before, 1), else_=0)


def _summaries(
    session: Session, threads: Sequence[InboxThread], settings: InboxSettings
) -> list[ThreadSummary]:
    """Summaries with message counts and, for comment threads, the private-reply clock."""
    ids = [t.id for t in threads if t.id is not None]
    counts: dict[tuple[int, str], int] = {}
    latest: dict[int, tuple[datetime, bool]] = {}
    if ids:
        for thread_id, direction, n in session.execute(
            select(InboxMessage.thread_id, InboxMessage.direction, func.count())
            .where(col(InboxMessage.thread_id).in_(ids))
            .where(col(InboxMessage.state).in_(("received", "sent")))
            .group_by(col(InboxMessage.thread_id), col(InboxMessage.direction))
        ).all():
            counts[(thread_id, direction)] = n
        comment_ids = [t.id for t in threads if t.kind == ThreadKind.COMMENTS and t.id]
        if comment_ids:
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


def _answered(thread: InboxThread, at: datetime) -> None:
    """The office answered at ``at``: the first clock stops (if the answer is the newest)."""
    if thread.waiting_since is not None and at >= thread.waiting_since:
        if thread.first_response_at is None:
            thread.first_response_at = at
        thread.waiting_since = None
        target = TRANSITIONS.get((thread.state, ANSWER))
        if target is not None:
            thread.state = _resolve(target, thread)
    elif thread.waiting_since is None and thread.state in (_O, _A) and thread.last_inbound_at:
        target = TRANSITIONS.get((thread.state, ANSWER))
        if target is not None:
            thread.state = _resolve(target, thread)
    if thread.last_outbound_at is None or at > thread.last_outbound_at:
        thread.last_outbound_at = at


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
        self.rows.append(
            {
                "thread_id": thread.id,
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
        )
        if record.direction == "in":
            _citizen_wrote(thread, record.occurred_at)
        else:
            _answered(thread, record.occurred_at)
        thread.updated_at = self.now
        self.session.add(thread)
        done.messages = 1
        return done

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


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def _earlier(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a


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
        old = (
            sa_select(col(InboxMessage.id))
            .where(col(InboxMessage.occurred_at) < cutoff)
            .where(col(InboxMessage.purged_at).is_(None))
        )
        inbox_media.purge_messages(session, list(session.execute(old).scalars()))
        messages = _rowcount(
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
        stale = or_(
            col(InboxThread.last_inbound_at) < cutoff,
            and_(
                col(InboxThread.last_inbound_at).is_(None),
                col(InboxThread.updated_at) < cutoff,
            ),
        )
        threads = _rowcount(
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


def _rowcount(result: Any) -> int:
    # An UPDATE's result is a CursorResult: its rowcount is reliable for UPDATE on both.
    return int(cast(CursorResult[Any], result).rowcount or 0)


# --- figures for the reports -------------------------------------------------------------------


@dataclass
class ResponseFigures:
    """How the office answered citizens over a period, for one channel or a sum of them.

    ``received``: the citizens' messages dated in the period. ``answered``: those of them
    the office answered before the period's end (a reply accepted by the platform, through
    Loa or on the platform itself, dated after them in the same thread). ``waits``: for
    each time a citizen started waiting in the period (his message when nothing of his was
    unanswered), the seconds until the office's first answer, when it came before the end.
    ``outside_window``: the office's replies in the period that the platform refused
    because its reply window had closed.
    """

    received: int = 0
    answered: int = 0
    waits: list[float] = field(default_factory=list)
    outside_window: int = 0

    def add(self, other: ResponseFigures) -> None:
        """Count ``other`` in too (a unit's channels, the office's total)."""
        self.received += other.received
        self.answered += other.answered
        self.waits += other.waits
        self.outside_window += other.outside_window

    @property
    def median_first_response(self) -> timedelta | None:
        """The median wait for a first answer; None when no wait ended in an answer."""
        if not self.waits:
            return None
        ordered = sorted(self.waits)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return timedelta(seconds=ordered[middle])
        return timedelta(seconds=(ordered[middle - 1] + ordered[middle]) / 2)


def response_figures(engine: Engine, start: datetime, end: datetime) -> dict[str, ResponseFigures]:
    """Per channel, how citizens were answered in ``[start, end)`` (see
    :class:`ResponseFigures`). Only what was known before ``end`` counts, so the figures of
    a past period stay as they were; purged messages still count (their rows remain).
    """
    result: dict[str, ResponseFigures] = {}
    written = (
        sa_select(col(InboxMessage.thread_id))
        .where(col(InboxMessage.direction) == "in")
        .where(col(InboxMessage.occurred_at) >= start)
        .where(col(InboxMessage.occurred_at) < end)
    )
    with session_scope(engine, write=False) as session:
        rows = session.execute(
            sa_select(
                col(InboxMessage.thread_id),
                col(InboxMessage.channel),
                col(InboxMessage.direction),
                col(InboxMessage.occurred_at),
            )
            .where(col(InboxMessage.thread_id).in_(written))
            .where(col(InboxMessage.occurred_at) < end)
            # An answer counts once the platform took it (a refused one answered nobody).
            .where(col(InboxMessage.state).in_(("received", "sent")))
            .order_by(
                col(InboxMessage.thread_id), col(InboxMessage.occurred_at), col(InboxMessage.id)
            )
        ).all()
        refused = session.execute(
            sa_select(col(InboxMessage.channel), func.count())
            .where(col(InboxMessage.direction) == "out")
            .where(col(InboxMessage.state) == "refused")
            .where(col(InboxMessage.error_code) == "reply_window_closed")
            .where(col(InboxMessage.occurred_at) >= start)
            .where(col(InboxMessage.occurred_at) < end)
            .group_by(col(InboxMessage.channel))
        ).all()
    thread: int | None = None
    waiting_since: datetime | None = None
    unanswered = 0  # the citizen's messages of the period waiting for this thread's answer
    for thread_id, channel, direction, at in rows:
        if thread_id != thread:
            thread, waiting_since, unanswered = thread_id, None, 0
        figures = result.setdefault(channel, ResponseFigures())
        if direction == "in":
            if waiting_since is None:
                waiting_since = at
            if at >= start:
                figures.received += 1
                unanswered += 1
        elif waiting_since is not None:
            if waiting_since >= start:
                figures.waits.append((at - waiting_since).total_seconds())
            figures.answered += unanswered
            waiting_since, unanswered = None, 0
    for channel, count in refused:
        result.setdefault(channel, ResponseFigures()).outside_window += int(count)
    return dict(sorted(result.items()))


def units_holding(directory: ChannelDirectory, channel: str) -> list[str]:
    """The names a thread on ``channel`` may be assigned to: the channel groups and units
    holding the channel (a unit holds its subtree's), then the channel itself."""
    names = [*directory.groups, *directory.units.units]
    return [n for n in names if channel in (directory.members(n) or ())] + [channel]


__all__ = [
    "TAGS",
    "TRANSITIONS",
    "Counts",
    "ResponseFigures",
    "Inbound",
    "Inbox",
    "InboxRefused",
    "InboxSettings",
    "IngestOutcome",
    "MessageView",
    "ReplyPlan",
    "ReplyRefused",
    "ReplyWindow",
    "ThreadFilter",
    "ThreadNotFound",
    "ThreadSummary",
    "ThreadView",
    "ingest",
    "parse_tag",
    "purge_expired",
    "reply_window",
    "response_due",
    "response_figures",
    "units_holding",
    "withdraw",
]
