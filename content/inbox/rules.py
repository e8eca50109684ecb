"""The inbox's rules as data: tags, the state table, the platforms' reply windows and limits,
the errors a person can cause, what the platforms deliver (normalised) and the two clocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from content.errors import LoaError, NotFound, StateError
from content.models import (
    InboxThread,
    ThreadKind,
    ThreadState,
)

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
#: (docs/platforms/zalo-oa.md#consultation-messages,
#: docs/platforms/facebook-graph.md#the-24-hour-window,
#: docs/platforms/facebook-graph.md#private-replies): Zalo consultation messages 7 days, Messenger
#: 24 hours, 7 days with the Human Agent tag (a reviewed Meta feature), one private reply to a
#: comment within 7 days. A public reply to a comment has no window.
ZALO_WINDOW = timedelta(days=7)
MESSENGER_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)
#: Longest reply each platform takes (Zalo 2,000, docs/platforms/zalo-oa.md#consultation-messages;
#: Messenger 2,000 by common practice, docs/platforms/facebook-graph.md#the-24-hour-window; a
#: comment takes far more, 8,000 keeps a reply readable).
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


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a


def _earlier(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b < a else a
