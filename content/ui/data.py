"""The TUI's database reads. Every function here blocks: call them from thread workers only.

Writes go through :class:`content.queue.Queue`; these are the extra reads a screen needs
that the library does not offer (a sortable, paged queue with a total, the count of
deliveries needing attention). Which posts match is :func:`content.listing.narrowed`, the
CLI's definition; the next free posting slot is :func:`content.slots.next_free_slot`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, func
from sqlmodel import col, select

from content.db import session_scope
from content.engagement import latest_metrics

# ATTENTION and next_free_slot are re-exported: the screens know them as data.*.
from content.listing import ATTENTION as ATTENTION
from content.listing import ATTENTION_STATES, PostCriteria, narrowed, visible_to
from content.models import (
    AuditEvent,
    ChannelState,
    Delivery,
    DeliveryState,
    MediaFile,
    Post,
    PostState,
)
from content.slots import next_free_slot as next_free_slot

#: Rows mounted in the queue table at most: DataTable cost grows with rows
#: (docs/libraries.md#textual-datatable); 100 (three screens) keeps a filter keypress under
#: 100 ms, 200 did not (bench/tui.py).
PAGE_SIZE = 100
#: How the queue can be ordered; each maps to ORDER BY columns (id last: stable pages).
SORTS = ("time", "newest", "state", "author", "campaign")


@dataclass(frozen=True)
class QueueQuery(PostCriteria):
    """What the queue screen shows: filters (the CLI's, see PostCriteria), order and page."""

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


def _ordered(query: Any, sort: str) -> Any:
    # NULLS LAST rather than an "IS NULL" key: SQLite then walks the scheduled_at index and
    # stops at the page's last row, where it used to sort every match (a search keystroke
    # over 20,000 posts: 13 ms -> under 1 ms), and both databases put untimed posts last.
    timed = col(Post.scheduled_at).asc().nulls_last()
    if sort == "newest":
        return query.order_by(col(Post.created_at).desc(), col(Post.id).desc())
    if sort == "state":
        return query.order_by(col(Post.state), timed, col(Post.id))
    if sort == "author":
        return query.order_by(col(Post.author), timed, col(Post.id))
    if sort == "campaign":
        return query.order_by(col(Post.campaign).asc().nulls_last(), timed, col(Post.id))
    return query.order_by(timed, col(Post.id))


#: What a queue row shows of a post: plain columns, not Post objects (no image lists, no
#: ORM bookkeeping; half the Python time of a search keystroke went to building Posts).
_ROW_COLUMNS = (
    col(Post.id),
    col(Post.scheduled_at),
    col(Post.state),
    col(Post.title),
    col(Post.text),
    col(Post.author),
    col(Post.campaign),
)


def _queue_rows(session: Any, query: Any) -> list[QueueRow]:
    """Run ``query`` (over :data:`_ROW_COLUMNS`) and attach each post's deliveries."""
    found = session.execute(query).all()
    by_post: dict[int, list[DeliveryView]] = {r.id: [] for r in found}
    if found:
        for channel, state, post_id in session.exec(
            select(Delivery.channel, Delivery.state, Delivery.post_id)
            .where(col(Delivery.post_id).in_(list(by_post)))
            .order_by(col(Delivery.id))
        ).all():
            by_post[post_id].append(DeliveryView(channel, state))
    return [
        QueueRow(
            id=r.id,
            scheduled_at=r.scheduled_at,
            state=r.state,
            deliveries=tuple(by_post[r.id]),
            title=r.title,
            text=r.text,
            author=r.author,
            campaign=r.campaign,
        )
        for r in found
    ]


def load_queue(
    engine: Engine, q: QueueQuery, *, visible: frozenset[str] | None = None
) -> QueuePage:
    """One page of posts matching ``q``, the total that match, and the attention count.

    ``visible``: the channels of the account's units (None: every post); see
    :func:`content.listing.visible_to`.
    """
    page = _ordered(narrowed(visible_to(sa.select(*_ROW_COLUMNS), visible), q), q.sort)
    counted = visible_to(select(func.count()).select_from(Post), visible)
    with session_scope(engine, write=False) as session:
        total = session.exec(narrowed(counted, q)).one()
        rows = _queue_rows(session, page.offset(q.offset).limit(q.limit))
        attention = _attention(session, visible)
        campaigns = [
            c
            for c in session.exec(
                select(Post.campaign).where(col(Post.campaign).is_not(None)).distinct()
            ).all()
            if c
        ]
    return QueuePage(rows=rows, total=int(total), attention=attention, campaigns=sorted(campaigns))


def _attention(session: Any, visible: frozenset[str] | None = None) -> int:
    """Deliveries that failed or need a person, on posts nobody has cancelled."""
    query = (
        select(func.count())
        .select_from(Delivery)
        .join(Post, col(Post.id) == col(Delivery.post_id))
        .where(col(Delivery.state).in_(list(ATTENTION_STATES)))
        .where(col(Post.state) != PostState.CANCELLED)
    )
    if visible is not None:
        query = query.where(col(Delivery.channel).in_(sorted(visible)))
    return int(session.exec(query).one())


def campaign_names(engine: Engine) -> list[str]:
    """Every campaign name used so far, for suggestions while typing."""
    with session_scope(engine, write=False) as session:
        names = session.exec(
            select(Post.campaign).where(col(Post.campaign).is_not(None)).distinct()
        ).all()
    return sorted(n for n in names if n)


def attention_count(engine: Engine, *, visible: frozenset[str] | None = None) -> int:
    """How many deliveries need attention (failed or to check by hand) on ``visible``."""
    with session_scope(engine, write=False) as session:
        return _attention(session, visible)


@dataclass(frozen=True)
class PostDetail:
    """Everything the post detail screen shows."""

    post: Post
    deliveries: list[Delivery]
    audit: list[AuditEvent]


@dataclass(frozen=True)
class StoredImage:
    """An attached image as the database keeps it (plain values, safe between threads)."""

    filename: str
    data: bytes


def stored_image(engine: Engine, media_id: int) -> StoredImage | None:
    """The bytes of one attached image (None when it is gone)."""
    with session_scope(engine, write=False) as session:
        row = session.get(MediaFile, media_id)
        return StoredImage(row.filename, row.data) if row is not None else None


# ---------------------------------------------------------------------------- calendar


def week_posts(
    engine: Engine, start: datetime, end: datetime, *, visible: frozenset[str] | None = None
) -> list[QueueRow]:
    """Posts timed in ``[start, end)`` (not cancelled), by time, for the week view."""
    with session_scope(engine, write=False) as session:
        return _queue_rows(
            session,
            visible_to(sa.select(*_ROW_COLUMNS), visible)
            .where(col(Post.scheduled_at) >= start)
            .where(col(Post.scheduled_at) < end)
            .where(col(Post.state) != PostState.CANCELLED)
            .order_by(col(Post.scheduled_at), col(Post.id))
            .limit(2000),
        )


# ---------------------------------------------------------------------------- channels


@dataclass(frozen=True)
class ChannelRow:
    """One channel's health as the Channels screen shows it."""

    channel: str
    waiting: int
    failed: int
    needs_review: int
    published: int
    paused: bool
    paused_reason: str | None
    last_success_at: datetime | None
    last_failure_at: datetime | None


def channel_overview(engine: Engine, channel_ids: Sequence[str]) -> list[ChannelRow]:
    """Counts of deliveries per state and the daemon's pause flag, per configured channel."""
    with session_scope(engine, write=False) as session:
        counts: dict[tuple[str, str], int] = {
            (channel, state): int(n)
            for channel, state, n in session.exec(
                select(Delivery.channel, Delivery.state, func.count()).group_by(
                    col(Delivery.channel), col(Delivery.state)
                )
            ).all()
        }
        states = {s.channel: s for s in session.exec(select(ChannelState)).all()}
    rows = []
    for channel in channel_ids:
        state = states.get(channel)
        rows.append(
            ChannelRow(
                channel=channel,
                waiting=counts.get((channel, DeliveryState.PENDING), 0),
                failed=counts.get((channel, DeliveryState.FAILED), 0),
                needs_review=counts.get((channel, DeliveryState.NEEDS_REVIEW), 0),
                published=counts.get((channel, DeliveryState.PUBLISHED), 0),
                paused=bool(state and state.paused),
                paused_reason=state.paused_reason if state else None,
                last_success_at=state.last_success_at if state else None,
                last_failure_at=state.last_failure_at if state else None,
            )
        )
    return rows


# ---------------------------------------------------------------------------- engagement


@dataclass(frozen=True)
class EngagementRow:
    """One published delivery and the newest value of each of its metrics."""

    post_id: int
    channel: str
    published_at: datetime | None
    title: str
    metrics: dict[str, float]
    #: The publication itself, for its history (content.engagement.metric_series).
    delivery_id: int = 0


def engagement(
    engine: Engine, *, limit: int = PAGE_SIZE, visible: frozenset[str] | None = None
) -> list[EngagementRow]:
    """The most recently published deliveries (on ``visible``) with their latest figures."""
    # Six columns: more than sqlmodel's typed select() overloads cover.
    query = (
        select(  # type: ignore[call-overload]
            Delivery.id,
            Delivery.post_id,
            Delivery.channel,
            Delivery.published_at,
            Post.title,
            Post.text,
        )
        .join(Post, col(Post.id) == col(Delivery.post_id))
        .where(Delivery.state == DeliveryState.PUBLISHED)
    )
    if visible is not None:
        query = query.where(col(Delivery.channel).in_(sorted(visible)))
    with session_scope(engine, write=False) as session:
        published = session.exec(
            query.order_by(col(Delivery.published_at).desc(), col(Delivery.id).desc()).limit(limit)
        ).all()
    newest = latest_metrics(engine, [row[0] for row in published])
    metrics = {row[0]: newest.get(row[0], {}) for row in published}
    return [
        EngagementRow(
            post_id=post_id,
            channel=channel,
            published_at=published_at,
            title=(title or text or "").strip(),
            metrics=metrics[delivery_id],
            delivery_id=delivery_id,
        )
        for delivery_id, post_id, channel, published_at, title, text in published
    ]
