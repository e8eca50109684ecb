"""Engagement collection: new posts often, old posts rarely, every figure kept as a sample.

A published delivery is refreshed every 15 minutes during its first day, hourly during its
first week, daily up to 30 days, then no more (its numbers have settled). Each channel is
asked for all its due posts at once, so a client can batch them (Facebook: 50 per call).

The same run reads each channel's follower count at most once a day
(:data:`FOLLOWERS_EVERY`): the ranking divides reach and engagement by it
(:mod:`content.evaluation`). A channel that cannot say is logged and asked again on a later
run; it never stops the figures of the posts.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from content.db import session_scope
from content.engagement import followers_counted_after, record_followers
from content.models import Delivery, DeliveryState, MetricSample
from content.times import utcnow
from scheduler.channels.base import Channel, ChannelError

log = logging.getLogger("loa.metrics")

#: (age of the post up to, refresh interval) - the collection cadence.
CADENCE: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=1), timedelta(minutes=15)),
    (timedelta(days=7), timedelta(hours=1)),
    (timedelta(days=30), timedelta(days=1)),
)

#: A channel's follower count is read at most once in this time (it moves slowly, and the
#: ranking needs one count per span's end).
FOLLOWERS_EVERY = timedelta(days=1)


def refresh_interval(age: timedelta) -> timedelta | None:
    """How often a post of this age is refreshed; None once it is past collecting."""
    for limit, interval in CADENCE:
        if age < limit:
            return interval
    return None


@dataclass(frozen=True)
class CollectionReport:
    """What one collection run did."""

    asked: int
    samples: int
    failed_channels: dict[str, str]
    #: Follower counts stored, and the channels whose count could not be read (message).
    followers: int = 0
    followers_failed: dict[str, str] = field(default_factory=dict)


def due_for_refresh(engine: Engine, now: datetime) -> dict[str, dict[str, int]]:
    """Per channel, the remote ids due for a refresh and their delivery ids."""
    oldest = now - CADENCE[-1][0]
    with session_scope(engine, write=False) as session:
        last = (
            select(MetricSample.delivery_id, func.max(MetricSample.collected_at).label("last"))
            .group_by(col(MetricSample.delivery_id))
            .subquery()
        )
        # Five columns: past sqlmodel.select()'s typed overloads, so SQLAlchemy's own.
        rows = session.execute(
            sa_select(
                col(Delivery.id),
                col(Delivery.channel),
                col(Delivery.remote_id),
                col(Delivery.published_at),
                last.c.last,
            )
            .outerjoin(last, last.c.delivery_id == col(Delivery.id))
            .where(col(Delivery.state) == DeliveryState.PUBLISHED)
            .where(col(Delivery.remote_id).is_not(None))
            .where(col(Delivery.published_at) >= oldest)
        ).all()
    due: dict[str, dict[str, int]] = defaultdict(dict)
    for delivery_id, channel, remote_id, published_at, last_at in rows:
        interval = refresh_interval(now - published_at)
        if interval is None or (last_at is not None and now - last_at < interval):
            continue
        due[channel][remote_id] = delivery_id
    return dict(due)


async def collect(
    engine: Engine,
    channels: Mapping[str, Channel],
    clock: Callable[[], datetime] = utcnow,
) -> CollectionReport:
    """Ask each channel for the figures of its due posts and store them as samples."""
    now = clock()
    due = await asyncio.to_thread(due_for_refresh, engine, now)
    asked = sum(len(ids) for ids in due.values())
    failed: dict[str, str] = {}

    async def one(channel_id: str, ids: dict[str, int]) -> list[MetricSample]:
        channel = channels.get(channel_id)
        if channel is None:
            return []
        try:
            figures = await channel.fetch_metrics(list(ids))
        except ChannelError as exc:
            failed[channel_id] = exc.message
            log.warning("metrics for %s failed: %s", channel_id, exc.message)
            return []
        return [
            MetricSample(delivery_id=ids[remote], collected_at=now, name=name, value=float(value))
            for remote, values in figures.items()
            if remote in ids
            for name, value in values.items()
        ]

    batches = await asyncio.gather(*(one(c, ids) for c, ids in due.items()))
    samples = [s for batch in batches for s in batch]
    if samples:
        await asyncio.to_thread(_store, engine, samples)
    counted, not_counted = await collect_followers(engine, channels, now)
    log.info(
        "metrics: %d posts asked, %d samples stored, %d follower counts",
        asked,
        len(samples),
        counted,
    )
    return CollectionReport(
        asked=asked,
        samples=len(samples),
        failed_channels=failed,
        followers=counted,
        followers_failed=not_counted,
    )


async def collect_followers(
    engine: Engine, channels: Mapping[str, Channel], now: datetime
) -> tuple[int, dict[str, str]]:
    """Read and store the follower count of each channel not counted in the last
    :data:`FOLLOWERS_EVERY`; returns (counts stored, {channel: why not} for failures).

    A failure is logged and left for a later run: the count is a slow figure, and the
    collection of the posts' figures must not depend on it.
    """
    recent = await asyncio.to_thread(followers_counted_after, engine, now - FOLLOWERS_EVERY)
    failed: dict[str, str] = {}

    async def one(channel_id: str, channel: Channel) -> tuple[str, int | None]:
        try:
            return channel_id, await channel.followers()
        except ChannelError as exc:
            failed[channel_id] = exc.message
            log.warning("followers of %s failed: %s", channel_id, exc.message)
        except Exception as exc:
            # An auxiliary figure: an unexpected answer is logged, the run goes on.
            failed[channel_id] = f"{type(exc).__name__}: {exc}"
            log.exception("followers of %s failed", channel_id)
        return channel_id, None

    # A client without a follower count (a stand-in that only publishes) is not asked.
    due = [
        (cid, ch)
        for cid, ch in channels.items()
        if cid not in recent and callable(getattr(ch, "followers", None))
    ]
    answers = await asyncio.gather(*(one(cid, ch) for cid, ch in due))
    counts = {cid: value for cid, value in answers if value is not None}
    if counts:
        await asyncio.to_thread(record_followers, engine, counts, now)
    return len(counts), failed


def _store(engine: Engine, samples: list[MetricSample]) -> None:
    with session_scope(engine) as session:
        session.add_all(samples)
