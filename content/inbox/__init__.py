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

The package is split along its seams: :mod:`~content.inbox.rules` (the state table, windows,
errors, what the platforms deliver), :mod:`~content.inbox.views` (what a person sees),
:mod:`~content.inbox.box` (:class:`Inbox`, a person's actions), :mod:`~content.inbox.ingest`
(webhook events and backfills into threads), :mod:`~content.inbox.retention` (withdrawal and
the retention purge) and :mod:`~content.inbox.figures` (the reports' figures). Everything
public is importable from ``content.inbox`` itself.
"""

from __future__ import annotations

from content.inbox.box import (
    Inbox,
)
from content.inbox.figures import (
    ResponseFigures,
    response_figures,
    units_holding,
)
from content.inbox.ingest import (
    ingest,
)
from content.inbox.retention import (
    PurgeOutcome,
    purge_expired,
    withdraw,
)
from content.inbox.rules import (
    ANSWER,
    ASSIGN,
    CITIZEN,
    CLOSE,
    COMMENT_CHANGES,
    HUMAN_AGENT_WINDOW,
    MESSAGE,
    MESSENGER_WINDOW,
    PRIVATE,
    PRIVATE_REPLY_WINDOW,
    PUBLIC,
    REOPEN,
    REPLY_LIMITS,
    SYSTEM_ACTOR,
    TAGS,
    TRANSITIONS,
    WITHDRAW,
    ZALO_WINDOW,
    Inbound,
    InboxRefused,
    InboxSettings,
    IngestOutcome,
    ReplyRefused,
    ReplyWindow,
    ThreadNotFound,
    parse_tag,
    reply_window,
    response_due,
)
from content.inbox.views import (
    Counts,
    MessageView,
    ReplyPlan,
    ThreadFilter,
    ThreadSummary,
    ThreadView,
)

__all__ = [
    "ANSWER",
    "ASSIGN",
    "CITIZEN",
    "CLOSE",
    "COMMENT_CHANGES",
    "Counts",
    "HUMAN_AGENT_WINDOW",
    "Inbound",
    "Inbox",
    "InboxRefused",
    "InboxSettings",
    "IngestOutcome",
    "MESSAGE",
    "MESSENGER_WINDOW",
    "MessageView",
    "PRIVATE",
    "PRIVATE_REPLY_WINDOW",
    "PUBLIC",
    "PurgeOutcome",
    "REOPEN",
    "REPLY_LIMITS",
    "ReplyPlan",
    "ReplyRefused",
    "ReplyWindow",
    "ResponseFigures",
    "SYSTEM_ACTOR",
    "TAGS",
    "TRANSITIONS",
    "ThreadFilter",
    "ThreadNotFound",
    "ThreadSummary",
    "ThreadView",
    "WITHDRAW",
    "ZALO_WINDOW",
    "ingest",
    "parse_tag",
    "purge_expired",
    "reply_window",
    "response_due",
    "response_figures",
    "units_holding",
    "withdraw",
]
