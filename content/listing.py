"""Reading posts back: filtered, ordered and paged, with their deliveries in one extra query."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, exists
from sqlmodel import col, select

from content.db import session_scope
from content.models import Delivery, DeliveryState, Post
from content.search import fold, matches

#: The pseudo state "needs attention": a delivery failed or must be checked by hand.
ATTENTION = "attention"
ATTENTION_STATES = (DeliveryState.FAILED, DeliveryState.NEEDS_REVIEW)


@dataclass(frozen=True)
class PostCriteria:
    """Which posts: what the CLI's ``post list`` and the TUI's queue both narrow by.

    Every field narrows the result; None means any. ``text`` is searched in the title,
    text and author without case or diacritics (:mod:`content.search`); ``scheduled_from``
    is inclusive, ``scheduled_to`` exclusive (aware datetimes).
    """

    state: str | None = None  # a PostState value, or ATTENTION
    channel: str | None = None
    campaign: str | None = None
    text: str | None = None
    scheduled_from: datetime | None = None
    scheduled_to: datetime | None = None
    series_id: str | None = None


@dataclass(frozen=True)
class PostFilter(PostCriteria):
    """Which posts to list, and which page of them."""

    limit: int | None = None
    offset: int = 0
    #: Only posts with a delivery to one of these channels (an account's units); None: all.
    visible: frozenset[str] | None = None


def narrowed(query: Any, criteria: PostCriteria) -> Any:
    """``query`` (over Post) narrowed to the posts ``criteria`` asks for.

    The one definition of every filter, for the CLI and the TUI alike: one database, one
    answer. The search is a LIKE on the folded column, so SQLite and PostgreSQL agree and
    the queue's ORDER BY can still walk the scheduled_at index (no function per row).
    """
    if criteria.state == ATTENTION:
        query = query.where(
            exists().where(
                col(Delivery.post_id) == col(Post.id),
                col(Delivery.state).in_(list(ATTENTION_STATES)),
            )
        )
    elif criteria.state:
        query = query.where(col(Post.state) == criteria.state)
    if criteria.campaign:
        query = query.where(col(Post.campaign) == criteria.campaign)
    if criteria.series_id:
        query = query.where(col(Post.series_id) == criteria.series_id)
    if criteria.channel:
        query = query.where(
            exists().where(
                col(Delivery.post_id) == col(Post.id), col(Delivery.channel) == criteria.channel
            )
        )
    if criteria.text and fold(criteria.text):
        query = query.where(matches(col(Post.search_text), criteria.text))
    if criteria.scheduled_from:
        query = query.where(col(Post.scheduled_at) >= criteria.scheduled_from)
    if criteria.scheduled_to:
        query = query.where(col(Post.scheduled_at) < criteria.scheduled_to)
    return query


def visible_to(query: Any, channels: Collection[str] | None) -> Any:
    """``query`` narrowed to posts an account with ``channels`` may see (None: every post).

    One of the post's channels in the account's units is enough to see it (a province post
    that also goes to his ward); changing it needs all of them (see content.accounts).
    """
    if channels is None:
        return query
    return query.where(
        exists().where(
            col(Delivery.post_id) == col(Post.id), col(Delivery.channel).in_(sorted(channels))
        )
    )


def find_posts(engine: Engine, flt: PostFilter) -> list[tuple[Post, list[Delivery]]]:
    """Posts matching ``flt`` ordered by time (untimed last), each with its deliveries."""
    query = narrowed(visible_to(select(Post), flt.visible), flt)
    # NULLS LAST, as the TUI orders: both databases then put untimed posts last.
    query = query.order_by(col(Post.scheduled_at).asc().nulls_last(), col(Post.id))
    if flt.limit is not None:
        query = query.limit(flt.limit)
    if flt.offset:
        query = query.offset(flt.offset)
    with session_scope(engine, write=False) as session:
        posts = list(session.exec(query).all())
        ids = [p.id for p in posts]
        by_post: dict[int, list[Delivery]] = {i: [] for i in ids if i is not None}
        if ids:
            rows = session.exec(
                select(Delivery).where(col(Delivery.post_id).in_(ids)).order_by(col(Delivery.id))
            ).all()
            for delivery in rows:
                by_post[delivery.post_id].append(delivery)
    return [(p, by_post.get(p.id or 0, [])) for p in posts]
