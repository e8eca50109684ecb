"""Reading posts back: filtered, ordered and paged, with their deliveries in one extra query."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, exists, or_
from sqlmodel import col, select

from content.db import session_scope
from content.models import Delivery, Post


@dataclass(frozen=True)
class PostFilter:
    """Which posts to list; every field narrows the result, None means any."""

    state: str | None = None
    channel: str | None = None
    campaign: str | None = None
    text: str | None = None
    scheduled_from: datetime | None = None
    scheduled_to: datetime | None = None
    limit: int | None = None
    offset: int = 0
    #: Only posts with a delivery to one of these channels (an account's units); None: all.
    visible: frozenset[str] | None = None


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
    query = visible_to(select(Post), flt.visible)
    if flt.state:
        query = query.where(Post.state == flt.state)
    if flt.campaign:
        query = query.where(Post.campaign == flt.campaign)
    if flt.channel:
        query = query.where(
            exists().where(
                col(Delivery.post_id) == col(Post.id), col(Delivery.channel) == flt.channel
            )
        )
    if flt.text:
        pattern = f"%{flt.text}%"
        query = query.where(or_(col(Post.text).ilike(pattern), col(Post.title).ilike(pattern)))
    if flt.scheduled_from:
        query = query.where(col(Post.scheduled_at) >= flt.scheduled_from)
    if flt.scheduled_to:
        query = query.where(col(Post.scheduled_at) < flt.scheduled_to)
    query = query.order_by(col(Post.scheduled_at).is_(None), col(Post.scheduled_at), col(Post.id))
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
