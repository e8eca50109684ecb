"""The figures units are judged on: spans of office days, publications and their sums,
followers.

What each figure means is defined once, in :mod:`content.evaluation`'s docstring
(Publications, Followers, Own and rolled up); this module computes them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import col

from content.db import session_scope
from content.engagement import METRICS, audience, engagement, followers_before, samples_before
from content.errors import ValidationError
from content.inbox import ResponseFigures
from content.models import Delivery, DeliveryState, Post
from content.times import local_start_of_day
from content.units import UnitInfo

#: A publication this late after its post's scheduled time still counts as on time (a
#: retried attempt, a Zalo article still being processed).
ON_TIME_GRACE = timedelta(hours=1)


# ---------------------------------------------------------------------- spans


@dataclass(frozen=True)
class Span:
    """Office days ``first_day`` to ``last_day`` inclusive, in the office's time zone."""

    first_day: date
    last_day: date
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first day's 00:00, office time (aware)."""
        return local_start_of_day(self.first_day, self.tz)

    @property
    def end(self) -> datetime:
        """The 00:00 after the last day, office time (aware): the span is ``[start, end)``."""
        return local_start_of_day(self.last_day + timedelta(days=1), self.tz)

    @property
    def days(self) -> int:
        """How many days the span has."""
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Span:
        """The span of the same length just before this one."""
        return Span(
            self.first_day - timedelta(days=self.days),
            self.first_day - timedelta(days=1),
            self.tz,
        )

    def elapsed(self, now: datetime) -> float:
        """The share of the span past at ``now``: 0 before it starts, 1 once it has ended."""
        total = (self.end - self.start).total_seconds()
        return min(1.0, max(0.0, (now - self.start).total_seconds() / total))


def span(first: date, last: date, tz: ZoneInfo) -> Span:
    """The span of days ``first`` to ``last``; refuses a last day before the first."""
    if last < first:
        raise ValidationError(
            "day_before", field="--to", last=last.isoformat(), first=first.isoformat()
        )
    return Span(first, last, tz)


def week_of(day: date, tz: ZoneInfo) -> Span:
    """The ISO week (Monday to Sunday) holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return Span(monday, monday + timedelta(days=6), tz)


# ---------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Publication:
    """One post published on one channel, with its figures for a span."""

    delivery_id: int
    post_id: int
    channel: str
    author: str
    campaign: str | None
    published_at: datetime
    on_time: bool
    metrics: Mapping[str, float]


@dataclass
class Figures:
    """Sums over publications (own channels, or a subtree's when rolled up)."""

    publications: int = 0
    on_time: int = 0
    audience: float = 0.0
    engagement: float = 0.0
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(METRICS, 0.0))

    def add(self, pub: Publication) -> None:
        """Count one publication."""
        self.publications += 1
        self.on_time += pub.on_time
        self.audience += audience(pub.metrics)
        self.engagement += engagement(pub.metrics)
        for name in METRICS:
            self.sums[name] += pub.metrics.get(name, 0.0)

    def plus(self, other: Figures) -> None:
        """Add ``other``'s sums to these."""
        self.publications += other.publications
        self.on_time += other.on_time
        self.audience += other.audience
        self.engagement += other.engagement
        for name in METRICS:
            self.sums[name] += other.sums.get(name, 0.0)

    def per_publication(self, value: float) -> float:
        """``value`` divided by the publications (0 without any)."""
        return value / self.publications if self.publications else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The JSON form."""
        return {
            "publications": self.publications,
            "on_time": self.on_time,
            "audience": self.audience,
            "engagement": self.engagement,
            **self.sums,
        }


def publications(engine: Engine, start: datetime, end: datetime) -> list[Publication]:
    """Every publication of ``[start, end)`` with its figures, oldest first."""
    with session_scope(engine, write=False) as session:
        rows = session.execute(
            sa_select(
                col(Delivery.id),
                col(Delivery.channel),
                col(Delivery.published_at),
                col(Post.id),
                col(Post.author),
                col(Post.campaign),
                col(Post.scheduled_at),
            )
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .where(col(Delivery.state) == DeliveryState.PUBLISHED)
            .where(col(Delivery.published_at) >= start)
            .where(col(Delivery.published_at) < end)
            .order_by(col(Delivery.published_at), col(Delivery.id))
        ).all()
        metrics = samples_before(session, start, end)
    result = []
    for delivery_id, channel, published_at, post_id, author, campaign, scheduled_at in rows:
        assert delivery_id is not None and post_id is not None and published_at is not None
        result.append(
            Publication(
                delivery_id=delivery_id,
                post_id=post_id,
                channel=channel,
                author=author,
                campaign=campaign,
                published_at=published_at,
                on_time=scheduled_at is None or published_at <= scheduled_at + ON_TIME_GRACE,
                metrics=metrics.get(delivery_id, {}),
            )
        )
    return result


def figures_by_channel(pubs: Iterable[Publication]) -> dict[str, Figures]:
    """Per channel: the sums of its publications among ``pubs``."""
    result: dict[str, Figures] = defaultdict(Figures)
    for pub in pubs:
        result[pub.channel].add(pub)
    return result


def sum_figures(figures: Iterable[Figures]) -> Figures:
    """The sums of ``figures`` together (own figures rolled up, channels into a unit)."""
    total = Figures()
    for one in figures:
        total.plus(one)
    return total


def follower_counts(engine: Engine, at: datetime) -> dict[str, int]:
    """Per channel: its follower count as last collected before ``at`` (a channel never
    counted by then is absent)."""
    with session_scope(engine, write=False) as session:
        return followers_before(session, at)


def unit_followers(counts: Mapping[str, int], channels: Iterable[str]) -> int | None:
    """The sum of ``channels``' follower counts; None unless every one of them has a count."""
    total = 0
    for channel in channels:
        if channel not in counts:
            return None
        total += counts[channel]
    return total


def per_follower(value: float, followers: int | None) -> float | None:
    """``value`` divided by ``followers`` (None when unknown, 0 with no follower)."""
    if followers is None:
        return None
    return value / followers if followers else 0.0


def unit_responses(by_channel: Mapping[str, ResponseFigures], unit: UnitInfo) -> ResponseFigures:
    """How citizens writing to ``unit``'s own channels were answered."""
    total = ResponseFigures()
    for channel in unit.channels:
        if channel in by_channel:
            total.add(by_channel[channel])
    return total
