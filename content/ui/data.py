"""The TUI's database reads. Every function here blocks: call them from thread workers only.

Writes go through :class:`content.queue.Queue`; these are the extra reads a screen needs
that the library does not offer (a sortable, paged queue with a total, the count of
deliveries needing attention, the next free posting slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, exists, func, or_
from sqlmodel import col, select

from content.db import session_scope
from content.models import AuditEvent, Delivery, DeliveryState, Post, PostState
from content.office import ChannelDirectory

#: Rows mounted in the queue table at most: DataTable cost grows with rows (reference B).
PAGE_SIZE = 200
#: The pseudo state "needs attention": a delivery failed or must be checked by hand.
ATTENTION = "attention"
ATTENTION_STATES = (DeliveryState.FAILED, DeliveryState.NEEDS_REVIEW)
#: How the queue can be ordered; each maps to ORDER BY columns (id last: stable pages).
SORTS = ("time", "newest", "state", "author", "campaign")


@dataclass(frozen=True)
class QueueQuery:
    """What the queue screen shows: filters, order and page."""

    state: str | None = None  # a PostState value, ATTENTION, or None for all
    channel: str | None = None
    campaign: str | None = None
    text: str | None = None
    sort: str = "time"
    offset: int = 0
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class DeliveryView:
    """A delivery as the queue shows it."""

    channel: str
    state: str


@dataclass(frozen=True)
class QueueRow:
    """One post as the queue shows it (plain values, safe to pass between threads)."""

    id: int
    scheduled_at: datetime | None
    state: str
    deliveries: tuple[DeliveryView, ...]
    title: str | None
    text: str
    author: str
    campaign: str | None


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue plus the figures shown around it."""

    rows: list[QueueRow]
    total: int
    attention: int
    campaigns: list[str]


def _filtered(query: Any, q: QueueQuery) -> Any:
    if q.state == ATTENTION:
        query = query.where(
            exists().where(
                col(Delivery.post_id) == col(Post.id),
                col(Delivery.state).in_(list(ATTENTION_STATES)),
            )
        )
    elif q.state:
        query = query.where(Post.state == q.state)
    if q.campaign:
        query = query.where(Post.campaign == q.campaign)
    if q.channel:
        query = query.where(
            exists().where(col(Delivery.post_id) == col(Post.id), Delivery.channel == q.channel)
        )
    if q.text:
        pattern = f"%{q.text}%"
        query = query.where(
            or_(
                col(Post.text).ilike(pattern),
                col(Post.title).ilike(pattern),
                col(Post.author).ilike(pattern),
            )
        )
    return query


def _ordered(query: Any, sort: str) -> Any:
    untimed_last = col(Post.scheduled_at).is_(None)
    if sort == "newest":
        return query.order_by(col(Post.created_at).desc(), col(Post.id).desc())
    if sort == "state":
        return query.order_by(col(Post.state), untimed_last, col(Post.scheduled_at), col(Post.id))
    if sort == "author":
        return query.order_by(col(Post.author), untimed_last, col(Post.scheduled_at), col(Post.id))
    if sort == "campaign":
        return query.order_by(
            col(Post.campaign).is_(None), col(Post.campaign), col(Post.scheduled_at), col(Post.id)
        )
    return query.order_by(untimed_last, col(Post.scheduled_at), col(Post.id))


def load_queue(engine: Engine, q: QueueQuery) -> QueuePage:
    """One page of posts matching ``q``, the total that match, and the attention count."""
    with session_scope(engine) as session:
        total = session.exec(_filtered(select(func.count()).select_from(Post), q)).one()
        posts = list(
            session.exec(
                _ordered(_filtered(select(Post), q), q.sort).offset(q.offset).limit(q.limit)
            ).all()
        )
        ids = [p.id for p in posts]
        by_post: dict[int, list[DeliveryView]] = {i: [] for i in ids if i is not None}
        if ids:
            for channel, state, post_id in session.exec(
                select(Delivery.channel, Delivery.state, Delivery.post_id)
                .where(col(Delivery.post_id).in_(ids))
                .order_by(col(Delivery.id))
            ).all():
                by_post[post_id].append(DeliveryView(channel, state))
        attention = _attention(session)
        campaigns = [
            c
            for c in session.exec(
                select(Post.campaign).where(col(Post.campaign).is_not(None)).distinct()
            ).all()
            if c
        ]
        rows = [
            QueueRow(
                id=p.id or 0,
                scheduled_at=p.scheduled_at,
                state=p.state,
                deliveries=tuple(by_post.get(p.id or 0, ())),
                title=p.title,
                text=p.text,
                author=p.author,
                campaign=p.campaign,
            )
            for p in posts
        ]
    return QueuePage(rows=rows, total=int(total), attention=attention, campaigns=sorted(campaigns))


def _attention(session: Any) -> int:
    """Deliveries that failed or need a person, on posts nobody has cancelled."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Delivery)
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .where(col(Delivery.state).in_(list(ATTENTION_STATES)))
            .where(col(Post.state) != PostState.CANCELLED)
        ).one()
    )


def attention_count(engine: Engine) -> int:
    """How many deliveries need attention (failed or to check by hand)."""
    with session_scope(engine) as session:
        return _attention(session)


def next_free_slot(
    engine: Engine,
    directory: ChannelDirectory,
    channels: Sequence[str],
    now: datetime,
    *,
    days: int = 14,
) -> datetime | None:
    """The first posting slot after ``now`` with no other post on ``channels`` nearby.

    "Nearby" is the office's minimum spacing, the same rule that makes the queue warn
    about a crowded slot. Returns aware UTC, or None when the office has no slots or
    every slot in the next ``days`` days is taken.
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
    with session_scope(engine) as session:
        query = (
            select(Post.scheduled_at)
            .where(col(Post.scheduled_at).is_not(None))
            .where(col(Post.scheduled_at) >= candidates[0] - spacing)
            .where(col(Post.scheduled_at) <= candidates[-1] + spacing)
            .where(col(Post.state) != PostState.CANCELLED)
        )
        if channels:
            query = query.where(
                exists().where(
                    col(Delivery.post_id) == col(Post.id),
                    col(Delivery.channel).in_(list(channels)),
                    col(Delivery.state) != DeliveryState.CANCELLED,
                )
            )
        taken = [t for t in session.exec(query).all() if t is not None]
    for candidate in candidates:
        if all(abs(candidate - t) >= spacing for t in taken):
            return candidate.astimezone(UTC)
    return None


@dataclass(frozen=True)
class PostDetail:
    """Everything the post detail screen shows."""

    post: Post
    deliveries: list[Delivery]
    audit: list[AuditEvent]
