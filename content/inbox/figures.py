"""The inbox's figures for the reports: messages received and answered, the first-response
wait and the replies refused outside the platform's window, per channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlmodel import col

from content.db import session_scope
from content.models import (
    InboxMessage,
)
from content.office import ChannelDirectory

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
