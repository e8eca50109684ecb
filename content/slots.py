"""The next free posting slot: what the TUI's "next free slot" and ``loa ... --at next`` give."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, exists
from sqlmodel import col, select

from content.db import session_scope
from content.models import Delivery, DeliveryState, Post, PostState
from content.office import ChannelDirectory


def next_free_slot(
    engine: Engine,
    directory: ChannelDirectory,
    channels: Sequence[str],
    now: datetime,
    *,
    days: int = 14,
    taken: Sequence[datetime] = (),
    ignore_post: int | None = None,
) -> datetime | None:
    """The first posting slot after ``now`` with no other post on ``channels`` nearby.

    "Nearby" is the office's minimum spacing, the same rule that makes the queue warn
    about a crowded slot. ``taken``: times to count as busy too (slots the caller is about
    to give, e.g. several posts moved one after another); ``ignore_post``: the post being
    moved, whose own current time does not count against it. Returns aware UTC, or None when
    the office has no slots or every slot in the next ``days`` days is taken.
    """
    office = directory.office
    if not office.posting_slots:
        return None
    tz = office.timezone
    start_day = now.astimezone(tz).date()
    candidates = [
        datetime.combine(start_day + timedelta(days=d), slot, tzinfo=tz)
        for d in range(days)
        for slot in sorted(office.posting_slots)
    ]
    candidates = [c for c in candidates if c > now]
    if not candidates:
        return None
    spacing = office.min_spacing
    with session_scope(engine, write=False) as session:
        query = (
            select(Post.scheduled_at)
            .where(col(Post.scheduled_at).is_not(None))
            .where(col(Post.scheduled_at) >= candidates[0] - spacing)
            .where(col(Post.scheduled_at) <= candidates[-1] + spacing)
            .where(col(Post.state) != PostState.CANCELLED)
        )
        if ignore_post is not None:
            query = query.where(col(Post.id) != ignore_post)
        if channels:
            query = query.where(
                exists().where(
                    col(Delivery.post_id) == col(Post.id),
                    col(Delivery.channel).in_(list(channels)),
                    col(Delivery.state) != DeliveryState.CANCELLED,
                )
            )
        busy = [t for t in session.exec(query).all() if t is not None] + list(taken)
    for candidate in candidates:
        if all(abs(candidate - t) >= spacing for t in busy):
            return candidate.astimezone(UTC)
    return None
