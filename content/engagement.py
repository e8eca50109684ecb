"""Reading engagement back: the newest value of each metric per delivery, a delivery's
history of one metric, totals per channel and per unit, and the channels' follower counts.

Shared by the TUI, the reports and the CLI; the collector that writes the samples is
:mod:`scheduler.metrics`. The figures' definitions every report and ranking reads are here:
:data:`METRICS`, :data:`ENGAGEMENT`, :func:`audience` and :func:`samples_before`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, and_, func
from sqlmodel import Session, col, select

from content.db import session_scope
from content.models import Delivery, DeliveryState, FollowerSample, MetricSample

#: The metric names Loa's channel clients store (see scheduler/channels/).
METRICS = ("views", "reach", "reactions", "comments", "shares", "clicks")
#: What counts as engagement: reactions + comments + shares.
ENGAGEMENT = ("reactions", "comments", "shares")


def engagement(metrics: Mapping[str, float]) -> float:
    """reactions + comments + shares of one publication (a metric never collected is 0)."""
    return sum(metrics.get(name, 0.0) for name in ENGAGEMENT)


def audience(metrics: Mapping[str, float]) -> float:
    """The people a publication reached: ``reach`` where the platform reports it (Facebook),
    else ``views`` (Zalo reports views only); 0 when neither was collected."""
    if "reach" in metrics:
        return metrics["reach"]
    return metrics.get("views", 0.0)


def samples_before(session: Session, start: datetime, end: datetime) -> dict[int, dict[str, float]]:
    """Per delivery published in ``[start, end)``: each metric's latest value collected
    before ``end``, so the figures of a past period never change when newer samples arrive."""
    in_period = and_(
        col(MetricSample.delivery_id) == col(Delivery.id),
        col(Delivery.state) == DeliveryState.PUBLISHED,
        col(Delivery.published_at) >= start,
        col(Delivery.published_at) < end,
    )
    newest = (
        select(
            MetricSample.delivery_id,
            MetricSample.name,
            func.max(MetricSample.collected_at).label("at"),
        )
        .join(Delivery, in_period)
        .where(col(MetricSample.collected_at) < end)
        .group_by(col(MetricSample.delivery_id), col(MetricSample.name))
        .subquery()
    )
    rows = session.exec(
        select(MetricSample.delivery_id, MetricSample.name, MetricSample.value)
        .join(
            newest,
            (newest.c.delivery_id == MetricSample.delivery_id)
            & (newest.c.name == MetricSample.name)
            & (newest.c.at == MetricSample.collected_at),
        )
        # Two samples at the same instant: the one stored last wins.
        .order_by(col(MetricSample.id))
    ).all()
    result: dict[int, dict[str, float]] = {}
    for delivery_id, name, value in rows:
        result.setdefault(delivery_id, {})[name] = float(value)
    return result


def latest_metrics(engine: Engine, delivery_ids: list[int]) -> dict[int, dict[str, float]]:
    """The newest value of each metric per delivery (for the TUI and reports)."""
    if not delivery_ids:
        return {}
    with session_scope(engine, write=False) as session:
        newest = (
            select(
                MetricSample.delivery_id,
                MetricSample.name,
                func.max(MetricSample.collected_at).label("at"),
            )
            .where(col(MetricSample.delivery_id).in_(delivery_ids))
            .group_by(col(MetricSample.delivery_id), col(MetricSample.name))
            .subquery()
        )
        rows = session.exec(
            select(MetricSample.delivery_id, MetricSample.name, MetricSample.value).join(
                newest,
                (newest.c.delivery_id == MetricSample.delivery_id)
                & (newest.c.name == MetricSample.name)
                & (newest.c.at == MetricSample.collected_at),
            )
        ).all()
    result: dict[int, dict[str, float]] = defaultdict(dict)
    for delivery_id, name, value in rows:
        result[delivery_id][name] = value
    return dict(result)


def metric_series(
    engine: Engine, delivery_ids: Sequence[int], name: str
) -> dict[int, list[tuple[datetime, float]]]:
    """Every sample of metric ``name`` per delivery, oldest first (for charts).

    Deliveries without a sample of ``name`` are left out. The collector keeps every figure
    it reads (:mod:`scheduler.metrics`), so this is the post's history as the platform
    reported it, not a reconstruction.
    """
    if not delivery_ids:
        return {}
    result: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    with session_scope(engine, write=False) as session:
        rows = session.exec(
            select(MetricSample.delivery_id, MetricSample.collected_at, MetricSample.value)
            .where(col(MetricSample.delivery_id).in_(list(delivery_ids)))
            .where(MetricSample.name == name)
            # Two samples at the same instant: the one stored last comes last (and wins).
            .order_by(col(MetricSample.collected_at), col(MetricSample.id))
        ).all()
    for delivery_id, collected_at, value in rows:
        result[delivery_id].append((collected_at, float(value)))
    return dict(result)


@dataclass(frozen=True)
class Totals:
    """Publications and the sum of each metric's newest value over them."""

    publications: int = 0
    sums: Mapping[str, float] = field(default_factory=dict)

    def value(self, name: str) -> float:
        """The sum of metric ``name`` (0 when none of the publications reported it)."""
        return self.sums.get(name, 0.0)


def channel_totals(
    engine: Engine, *, since: datetime | None = None, channels: Iterable[str] | None = None
) -> dict[str, Totals]:
    """Per channel: publications (published since ``since``) and each metric's newest value
    summed over them.

    ``channels`` narrows to those channels (an account's units); None reads every one.
    A channel with no publication is absent: :func:`unit_totals` and the faces add zeros.
    """
    published = [col(Delivery.state) == DeliveryState.PUBLISHED]
    if since is not None:
        published.append(col(Delivery.published_at) >= since)
    if channels is not None:
        published.append(col(Delivery.channel).in_(sorted(channels)))
    # Summed in the database: a month of a busy office is thousands of publications, each
    # with hundreds of samples, and only one figure per (publication, metric) counts.
    newest = (
        select(
            MetricSample.delivery_id,
            MetricSample.name,
            func.max(MetricSample.collected_at).label("at"),
        )
        .join(Delivery, col(Delivery.id) == col(MetricSample.delivery_id))
        .where(*published)
        .group_by(col(MetricSample.delivery_id), col(MetricSample.name))
        .subquery()
    )
    with session_scope(engine, write=False) as session:
        counts = session.exec(
            select(Delivery.channel, func.count()).where(*published).group_by(col(Delivery.channel))
        ).all()
        summed = session.exec(
            select(Delivery.channel, MetricSample.name, func.sum(MetricSample.value))
            .join(
                newest,
                (newest.c.delivery_id == MetricSample.delivery_id)
                & (newest.c.name == MetricSample.name)
                & (newest.c.at == MetricSample.collected_at),
            )
            .join(Delivery, col(Delivery.id) == col(MetricSample.delivery_id))
            .group_by(col(Delivery.channel), col(MetricSample.name))
        ).all()
    sums: dict[str, dict[str, float]] = defaultdict(dict)
    for channel, name, value in summed:
        sums[channel][name] = float(value or 0)
    return {c: Totals(int(n), sums.get(c, {})) for c, n in counts}


def unit_totals(
    by_channel: Mapping[str, Totals],
    groups: Mapping[str, Iterable[str]],
    *,
    channels: Iterable[str] | None = None,
) -> dict[str, Totals]:
    """Per unit (a channel group of channels.toml): the sum of its channels' totals.

    ``channels`` narrows each unit to those channels (an account sees only its units'
    channels, so a wider group counts only what he may see); a unit left with no channel
    is dropped. Units overlap (a channel may be in several), so they are not added up.
    """
    allowed = None if channels is None else set(channels)
    result: dict[str, Totals] = {}
    for unit, members in groups.items():
        seen = [c for c in members if allowed is None or c in allowed]
        if not seen:
            continue
        sums: dict[str, float] = defaultdict(float)
        publications = 0
        for channel in seen:
            totals = by_channel.get(channel, Totals())
            publications += totals.publications
            for name, value in totals.sums.items():
                sums[name] += value
        result[unit] = Totals(publications, dict(sums))
    return result


# ---------------------------------------------------------------------- followers


def record_followers(engine: Engine, counts: Mapping[str, int], at: datetime) -> None:
    """Store each channel's follower count as collected at ``at`` (one sample each)."""
    if not counts:
        return
    with session_scope(engine) as session:
        session.add_all(
            FollowerSample(channel=channel, collected_at=at, followers=int(value))
            for channel, value in counts.items()
        )


def followers_before(
    session: Session, end: datetime | None = None, channels: Iterable[str] | None = None
) -> dict[str, int]:
    """Per channel: its follower count as last collected before ``end`` (None: the newest
    one), so a past span's figures never change when newer counts arrive. A channel never
    counted before ``end`` is absent. ``channels`` narrows to those channels."""
    newest = select(
        FollowerSample.channel, func.max(FollowerSample.collected_at).label("at")
    ).group_by(col(FollowerSample.channel))
    if end is not None:
        newest = newest.where(col(FollowerSample.collected_at) < end)
    if channels is not None:
        newest = newest.where(col(FollowerSample.channel).in_(sorted(channels)))
    latest = newest.subquery()
    rows = session.exec(
        select(FollowerSample.channel, FollowerSample.followers)
        .join(
            latest,
            (latest.c.channel == FollowerSample.channel)
            & (latest.c.at == FollowerSample.collected_at),
        )
        # Two counts at the same instant (two daemons): the one stored last wins.
        .order_by(col(FollowerSample.id))
    ).all()
    return {channel: int(followers) for channel, followers in rows}


def latest_followers(
    engine: Engine, *, before: datetime | None = None, channels: Iterable[str] | None = None
) -> dict[str, int]:
    """:func:`followers_before` in a session of its own (for the faces and the collector)."""
    with session_scope(engine, write=False) as session:
        return followers_before(session, before, channels)


def followers_counted_after(engine: Engine, since: datetime) -> set[str]:
    """The channels whose follower count was collected after ``since``."""
    with session_scope(engine, write=False) as session:
        rows = session.exec(
            select(FollowerSample.channel)
            .where(col(FollowerSample.collected_at) > since)
            .distinct()
        ).all()
    return set(rows)
