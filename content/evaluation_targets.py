"""Units' targets and how they stand (met, on track, behind), and the pieces a period is
charted in.

The targets and the rules of their status are defined once, in :mod:`content.evaluation`'s
docstring (Targets); this module applies them.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from content.db import session_scope
from content.evaluation_figures import (
    Figures,
    Publication,
    Span,
    figures_by_channel,
    follower_counts,
    publications,
    sum_figures,
    unit_followers,
    unit_responses,
)
from content.inbox import ResponseFigures, response_figures
from content.models import Delivery, DeliveryState, Post, PostState
from content.office import ChannelDirectory
from content.units import CampaignQuota, UnitInfo, UnitTree

MET = "met"
ON_TRACK = "on_track"
BEHIND = "behind"
NO_TARGET = "no_target"
#: Worst first: the order a unit's status is taken from its targets'.
_SEVERITY = (BEHIND, ON_TRACK, MET)

POSTS_PER_WEEK = "posts_per_week"
CAMPAIGN = "campaign"
RESPONSE = "response"


# ---------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One target of one unit and how it stands at the moment asked."""

    #: POSTS_PER_WEEK (subject: a channel), CAMPAIGN (subject: the campaign), RESPONSE
    #: (required and done in minutes: the target and the median wait; done None when
    #: nothing was answered).
    kind: str
    subject: str
    first_day: date
    last_day: date
    required: int
    done: int | None
    #: What the target asks by now (pro rata of its window): behind below this.
    expected: int
    #: Posts already scheduled for the rest of the window (not yet counted in ``done``).
    scheduled: int
    status: str
    #: RESPONSE: the citizens' messages received and answered.
    received: int | None = None
    answered: int | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON form."""
        extra = {}
        if self.kind == RESPONSE:
            extra = {"received": self.received, "answered": self.answered}
        return {
            **extra,
            "kind": self.kind,
            "subject": self.subject,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "required": self.required,
            "done": self.done,
            "expected_by_now": self.expected,
            "scheduled": self.scheduled,
            "status": self.status,
        }


def required_posts(posts_per_week: int, days: int) -> int:
    """Publications a channel owes in ``days`` days at ``posts_per_week``: ceil(N x days / 7)."""
    return -(-posts_per_week * days // 7)


def target_status(required: int, done: int, elapsed: float) -> tuple[str, int]:
    """(status, expected by now) of a target whose window is ``elapsed`` (0..1) past."""
    expected = required if elapsed >= 1.0 else math.floor(required * elapsed)
    if done >= required:
        return MET, expected
    if elapsed >= 1.0 or done < expected:
        return BEHIND, expected
    return ON_TRACK, expected


def _overall(statuses: Iterable[str]) -> str:
    found = set(statuses)
    for status in _SEVERITY:
        if status in found:
            return status
    return NO_TARGET


@dataclass
class UnitStatus:
    """A unit's targets at one moment, its own figures and its subtree's."""

    unit: UnitInfo
    depth: int
    targets: list[Target]
    status: str
    own: Figures
    #: Rolled up: the unit and every unit under it.
    total: Figures
    #: Rolled up: the publications the subtree's channel targets require, and what counts.
    required: int = 0
    done: int = 0
    #: Units of the subtree (this one included) that are behind.
    behind_below: int = 0
    #: Followers of its own channels, and of its subtree's, at the moment judged (None
    #: unless every one of those channels has a count).
    followers: int | None = None
    total_followers: int | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "unit": self.unit.id,
            "name": self.unit.name,
            "parent": self.unit.parent,
            "status": self.status,
            "targets": [t.as_dict() for t in self.targets],
            "own": {**self.own.as_dict(), "followers": self.followers},
            "rolled_up": {
                **self.total.as_dict(),
                "followers": self.total_followers,
                "required": self.required,
                "done": self.done,
                "units_behind": self.behind_below,
            },
        }


@dataclass
class StatusReport:
    """Every unit's targets over a span, as of ``now``."""

    span: Span
    now: datetime
    units: list[UnitStatus]

    def behind(self) -> list[UnitStatus]:
        """The units behind target, in tree order."""
        return [u for u in self.units if u.status == BEHIND]

    def as_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "from": self.span.first_day.isoformat(),
            "to": self.span.last_day.isoformat(),
            "now": self.now.astimezone(self.span.tz).isoformat(),
            "units": [u.as_dict() for u in self.units],
        }


def status(
    engine: Engine,
    directory: ChannelDirectory,
    period: Span,
    *,
    now: datetime,
    pubs: list[Publication] | None = None,
) -> StatusReport:
    """Each unit's targets over ``period`` as of ``now`` (as :mod:`content.evaluation` says).

    ``pubs`` are the span's publications when the caller already read them.
    """
    tree = directory.units
    if pubs is None:
        pubs = publications(engine, period.start, period.end)
    channel_figures = figures_by_channel(pubs)
    scheduled = _scheduled_per_channel(engine, max(now, period.start), period.end)
    elapsed = period.elapsed(now)
    quotas = [q for q in tree.quotas if _overlaps(q, period)]
    campaign_done = {q.campaign: _campaign_posts(engine, q, period.tz, now) for q in quotas}
    answers = response_figures(engine, period.start, min(max(now, period.start), period.end))
    counts = follower_counts(engine, min(now, period.end))
    result: dict[str, UnitStatus] = {}
    for unit in tree:
        targets = _channel_targets(unit, period, channel_figures, scheduled, elapsed)
        for quota in quotas:
            if quota.applies_to(unit.id):
                posts = campaign_done[quota.campaign]
                targets.append(_quota_target(quota, unit, posts, period.tz, now))
        replies = unit_responses(answers, unit)
        if tree.response_target is not None and replies.received:
            targets.append(_response_target(replies, tree.response_target, period, elapsed))
        own = sum_figures(channel_figures.get(c, Figures()) for c in unit.channels)
        result[unit.id] = UnitStatus(
            unit=unit,
            depth=tree.depth(unit.id),
            targets=targets,
            status=_overall(t.status for t in targets),
            own=own,
            total=Figures(),
            followers=unit_followers(counts, unit.channels),
        )
    _roll_up(result, tree, counts)
    return StatusReport(period, now, list(result.values()))


def _channel_targets(
    unit: UnitInfo,
    period: Span,
    channel_figures: Mapping[str, Figures],
    scheduled: Mapping[str, int],
    elapsed: float,
) -> list[Target]:
    """The posts-per-week target of each of ``unit``'s own channels over ``period``."""
    if not unit.posts_per_week:
        return []
    required = required_posts(unit.posts_per_week, period.days)
    targets = []
    for channel in unit.channels:
        done = channel_figures.get(channel, Figures()).publications
        state, expected = target_status(required, done, elapsed)
        targets.append(
            Target(
                POSTS_PER_WEEK,
                channel,
                period.first_day,
                period.last_day,
                required,
                done,
                expected,
                scheduled.get(channel, 0),
                state,
            )
        )
    return targets


def _roll_up(result: Mapping[str, UnitStatus], tree: UnitTree, counts: Mapping[str, int]) -> None:
    """Fill each unit's rolled-up figures from its subtree's own (``result`` holds every unit)."""
    for unit_id, unit_status in result.items():
        below = [result[u] for u in tree.subtree(unit_id)]
        unit_status.total = sum_figures(u.own for u in below)
        channel_targets = [t for u in below for t in u.targets if t.kind == POSTS_PER_WEEK]
        unit_status.required = sum(t.required for t in channel_targets)
        unit_status.done = sum(t.done or 0 for t in channel_targets)
        unit_status.behind_below = sum(u.status == BEHIND for u in below)
        unit_status.total_followers = unit_followers(counts, tree.channels_of(unit_id))


def _response_target(
    replies: ResponseFigures, target: timedelta, period: Span, elapsed: float
) -> Target:
    median = replies.median_first_response
    required = round(target.total_seconds() / 60)
    if median is None or median > target:
        state = BEHIND
    else:
        state = MET if elapsed >= 1.0 else ON_TRACK
    return Target(
        RESPONSE,
        "",
        period.first_day,
        period.last_day,
        required,
        None if median is None else round(median.total_seconds() / 60),
        required,
        0,
        state,
        received=replies.received,
        answered=replies.answered,
    )


def _overlaps(quota: CampaignQuota, period: Span) -> bool:
    return quota.first_day <= period.last_day and quota.last_day >= period.first_day


def _quota_target(
    quota: CampaignQuota,
    unit: UnitInfo,
    posts: Mapping[str, tuple[set[int], set[int]]],
    tz: ZoneInfo,
    now: datetime,
) -> Target:
    done: set[int] = set()
    waiting: set[int] = set()
    for channel in unit.channels:
        published, scheduled = posts.get(channel, (set(), set()))
        done |= published
        waiting |= scheduled
    window = Span(quota.first_day, quota.last_day, tz)
    state, expected = target_status(quota.posts_per_unit, len(done), window.elapsed(now))
    return Target(
        CAMPAIGN,
        quota.campaign,
        quota.first_day,
        quota.last_day,
        quota.posts_per_unit,
        len(done),
        expected,
        len(waiting - done),
        state,
    )


def _campaign_posts(
    engine: Engine, quota: CampaignQuota, tz: ZoneInfo, now: datetime
) -> dict[str, tuple[set[int], set[int]]]:
    """Per channel: posts of the campaign published in the quota's days (up to ``now``),
    and posts of it still scheduled in them."""
    window = Span(quota.first_day, quota.last_day, tz)
    result: dict[str, tuple[set[int], set[int]]] = defaultdict(lambda: (set(), set()))
    with session_scope(engine, write=False) as session:
        published = session.exec(
            select(Delivery.channel, Post.id)
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .where(Post.campaign == quota.campaign)
            .where(Delivery.state == DeliveryState.PUBLISHED)
            .where(col(Delivery.published_at) >= window.start)
            .where(col(Delivery.published_at) < min(window.end, max(now, window.start)))
        ).all()
        waiting = session.exec(
            select(Delivery.channel, Post.id)
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .where(Post.campaign == quota.campaign)
            .where(Post.state == PostState.SCHEDULED)
            .where(col(Delivery.state).in_([DeliveryState.PENDING, DeliveryState.SENDING]))
            .where(col(Post.scheduled_at) >= max(now, window.start))
            .where(col(Post.scheduled_at) < window.end)
        ).all()
    for channel, post_id in published:
        assert post_id is not None
        result[channel][0].add(post_id)
    for channel, post_id in waiting:
        assert post_id is not None
        result[channel][1].add(post_id)
    return result


def _scheduled_per_channel(engine: Engine, start: datetime, end: datetime) -> dict[str, int]:
    """Per channel: deliveries of scheduled posts due in ``[start, end)``, not yet sent."""
    if start >= end:
        return {}
    with session_scope(engine, write=False) as session:
        rows = session.exec(
            select(Delivery.channel, Delivery.id)
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .where(Post.state == PostState.SCHEDULED)
            .where(col(Delivery.state).in_([DeliveryState.PENDING, DeliveryState.SENDING]))
            .where(col(Post.scheduled_at) >= start)
            .where(col(Post.scheduled_at) < end)
        ).all()
    counts: dict[str, int] = defaultdict(int)
    for channel, _id in rows:
        counts[channel] += 1
    return dict(counts)


# ---------------------------------------------------------------------- over time


def buckets(period: Span) -> list[Span]:
    """The pieces a period is charted in: its weeks (Monday to Sunday) up to two months,
    else its calendar months; the first and last are cut to the period."""
    pieces = []
    first = period.first_day
    while first <= period.last_day:
        if period.days <= 62:
            last = first + timedelta(days=6 - first.weekday())
        else:
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            last = following - timedelta(days=1)
        last = min(last, period.last_day)
        pieces.append(Span(first, last, period.tz))
        first = last + timedelta(days=1)
    return pieces


@dataclass(frozen=True)
class Point:
    """A unit's own publications in one piece of a period, and what its targets require."""

    span: Span
    publications: int
    required: int


def series(tree: UnitTree, period: Span, pubs: Iterable[Publication]) -> dict[str, list[Point]]:
    """Per unit: its own publications and required publications in each of ``buckets``."""
    pieces = buckets(period)
    counts: dict[tuple[str, int], int] = defaultdict(int)
    starts = [p.start for p in pieces]
    for pub in pubs:
        counts[(pub.channel, bisect_right(starts, pub.published_at) - 1)] += 1
    return {
        unit.id: [
            Point(
                piece,
                sum(counts[(c, i)] for c in unit.channels),
                required_posts(unit.posts_per_week or 0, piece.days) * len(unit.channels),
            )
            for i, piece in enumerate(pieces)
        ]
        for unit in tree
    }
