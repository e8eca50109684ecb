"""How the units do: their targets (who is on track, who is behind) and the ranking for reward.

Every figure here is defined once, in this docstring, and the README says the same
("Units, targets and rankings").

**Publications.** A publication is one post published on one channel (a published
:class:`Delivery`); it belongs to a span of office days when its ``published_at`` falls in
``[first day 00:00, day after the last 00:00)`` office time. It is **on time** when it was
published no later than :data:`ON_TIME_GRACE` after its post's scheduled time. Its figures
are each metric's latest sample collected before the span's end
(:func:`content.engagement.samples_before`): **audience** is the reach where the platform
reports it, else the views (:func:`content.engagement.audience`); **engagement** is
reactions + comments + shares.

**Followers.** A channel's followers at a moment are its follower count as last collected
before that moment (the Page's ``followers_count``, the OA's ``num_follower``; the
engagement job reads them about once a day, :mod:`scheduler.metrics`). A unit's followers
for a span are the sum of its own channels' followers at the span's end; they are
**known** when every one of its own channels has a count by then.

**Own and rolled up.** A unit's own figures count its own channels; rolled up, they count
its whole subtree (the unit and every unit under it).

**Targets.**

* *Posts per week on each channel*: each channel of a unit with ``posts_per_week = N``
  must publish ``required = ceil(N x days / 7)`` publications in a span of ``days`` days
  (N in a week). Every publication counts, on time or not.
* *A campaign's quota*: each unit held to it publishes at least ``posts_per_unit``
  different posts of the campaign on its own channels between the quota's two days. A
  quota is always judged over its own days; a span shows the quotas whose days overlap it.
* *Response to citizens*: a unit whose own channels citizens wrote to in the span is held
  to the office's response target (``[inbox] response_target_hours``): the median wait for
  a first answer (:func:`content.inbox.response_figures`) must not exceed it, and a unit
  that answered none of them misses it.

A target is **met** once done >= required. Before its window ends it is **on track** while
done >= floor(required x share of the window elapsed), else **behind**; once the window has
ended, a target not met is **behind**. The response target is on track (met, once the span
has ended) while the median wait is within it, else behind. A unit is behind when one of
its own targets is, on track when none is behind and one is on track, met when all are met,
and has "no target" without any. Rolled up, a unit also says how many units of its subtree
are behind.

**Score** (0 to 100) of a unit for a span, on its own channels::

    score = 40 x D + 20 x A + 20 x E + 20 x R

* D, delivery: the mean over its channels with a target of min(1, on-time publications /
  required); a unit without any channel target scores 1 if it published on time at all.
* A, audience: its audience per follower divided by the highest audience per follower
  among the ranked units.
* E, engagement: its engagement per follower divided by the highest among them.
* R, response: the share of the citizens' messages to its channels in the span that were
  answered before the span's end (1 when citizens wrote nothing: nothing went unanswered).

A and E are **per follower** only when every channel of every unit has a follower count
collected before the span's end. When one channel has none (counts not collected yet, a
channel added since, a platform that would not say), A and E are **per publication for
every unit** (its audience, or engagement, divided by its publications), so that all units
are measured the same way; the ranking says which (``basis``: ``follower`` or
``publication``) and names the channels without a count. A unit without publications
scores 0 on A and E; per follower, so does a unit whose channels count 0 followers in all
(there is nothing to divide by); and every unit does when the highest is 0.

Units rank by score, then more on-time publications, then more engagement, then tree order.
The **most improved** unit is the one whose score rose most against the previous span of
the same length (none when no score rose); the previous span's scores follow the same
rules with the counts known at its own end, so its basis may differ from the span's.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from content.db import session_scope
from content.engagement import METRICS, audience, engagement, followers_before, samples_before
from content.errors import ValidationError
from content.inbox import ResponseFigures, response_figures
from content.models import Delivery, DeliveryState, Post, PostState
from content.office import ChannelDirectory
from content.times import local_start_of_day
from content.units import CampaignQuota, UnitInfo, UnitTree

#: A publication this late after its post's scheduled time still counts as on time (a
#: retried attempt, a Zalo article still being processed).
ON_TIME_GRACE = timedelta(hours=1)
#: The score's weights: delivery against target, audience, engagement and response to
#: citizens (they sum to 100).
WEIGHTS = {"delivery": 40.0, "audience": 20.0, "engagement": 20.0, "response": 20.0}

MET = "met"
ON_TRACK = "on_track"
BEHIND = "behind"
NO_TARGET = "no_target"
#: Worst first: the order a unit's status is taken from its targets'.
_SEVERITY = (BEHIND, ON_TRACK, MET)

#: What A and E are divided by (see the module's docstring): followers where every channel
#: has a count, else publications, for every unit alike.
PER_FOLLOWER = "follower"
PER_PUBLICATION = "publication"

POSTS_PER_WEEK = "posts_per_week"
CAMPAIGN = "campaign"
RESPONSE = "response"


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


def _by_channel(pubs: Iterable[Publication]) -> dict[str, Figures]:
    result: dict[str, Figures] = defaultdict(Figures)
    for pub in pubs:
        result[pub.channel].add(pub)
    return result


def _sum(figures: Iterable[Figures]) -> Figures:
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
    """Each unit's targets over ``period`` as of ``now`` (see the module's definitions).

    ``pubs`` are the span's publications when the caller already read them.
    """
    tree = directory.units
    if pubs is None:
        pubs = publications(engine, period.start, period.end)
    channel_figures = _by_channel(pubs)
    scheduled = _scheduled_per_channel(engine, max(now, period.start), period.end)
    elapsed = period.elapsed(now)
    quotas = [q for q in tree.quotas if _overlaps(q, period)]
    campaign_done = {q.campaign: _campaign_posts(engine, q, period.tz, now) for q in quotas}
    answers = response_figures(engine, period.start, min(max(now, period.start), period.end))
    counts = follower_counts(engine, min(now, period.end))
    result: dict[str, UnitStatus] = {}
    for unit in tree:
        targets = []
        if unit.posts_per_week:
            required = required_posts(unit.posts_per_week, period.days)
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
        for quota in quotas:
            if quota.applies_to(unit.id):
                posts = campaign_done[quota.campaign]
                targets.append(_quota_target(quota, unit, posts, period.tz, now))
        replies = unit_responses(answers, unit)
        if tree.response_target is not None and replies.received:
            targets.append(_response_target(replies, tree.response_target, period, elapsed))
        own = _sum(channel_figures.get(c, Figures()) for c in unit.channels)
        result[unit.id] = UnitStatus(
            unit=unit,
            depth=tree.depth(unit.id),
            targets=targets,
            status=_overall(t.status for t in targets),
            own=own,
            total=Figures(),
            followers=unit_followers(counts, unit.channels),
        )
    for unit_id, unit_status in result.items():
        below = [result[u] for u in tree.subtree(unit_id)]
        unit_status.total = _sum(u.own for u in below)
        channel_targets = [t for u in below for t in u.targets if t.kind == POSTS_PER_WEEK]
        unit_status.required = sum(t.required for t in channel_targets)
        unit_status.done = sum(t.done or 0 for t in channel_targets)
        unit_status.behind_below = sum(u.status == BEHIND for u in below)
        unit_status.total_followers = unit_followers(counts, tree.channels_of(unit_id))
    return StatusReport(period, now, list(result.values()))


def unit_responses(by_channel: Mapping[str, ResponseFigures], unit: UnitInfo) -> ResponseFigures:
    """How citizens writing to ``unit``'s own channels were answered."""
    total = ResponseFigures()
    for channel in unit.channels:
        if channel in by_channel:
            total.add(by_channel[channel])
    return total


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


# ---------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class Score:
    """A unit's score for a span and the three parts it is made of (each 0..1)."""

    delivery: float
    audience: float
    engagement: float
    response: float

    @property
    def value(self) -> float:
        """40 x delivery + 20 x audience + 20 x engagement + 20 x response."""
        return (
            WEIGHTS["delivery"] * self.delivery
            + WEIGHTS["audience"] * self.audience
            + WEIGHTS["engagement"] * self.engagement
            + WEIGHTS["response"] * self.response
        )


@dataclass(frozen=True)
class RankedUnit:
    """A line of the ranking: the unit, its figures and its score."""

    rank: int
    unit: UnitInfo
    depth: int
    figures: Figures
    #: The publications its channel targets require in the span.
    required: int
    score: Score
    #: The score in the previous span of the same length (None: no unit published then).
    previous: float | None
    #: How citizens writing to its channels were answered.
    replies: ResponseFigures = field(default_factory=ResponseFigures)
    #: Its own channels' followers at the span's end (None unless each has a count).
    followers: int | None = None

    @property
    def change(self) -> float | None:
        """Score now minus score in the previous span."""
        return None if self.previous is None else self.score.value - self.previous

    def as_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "rank": self.rank,
            "unit": self.unit.id,
            "name": self.unit.name,
            "score": round(self.score.value, 2),
            "delivery": round(self.score.delivery, 4),
            "audience_part": round(self.score.audience, 4),
            "engagement_part": round(self.score.engagement, 4),
            "response_part": round(self.score.response, 4),
            "citizens_messages": self.replies.received,
            "citizens_answered": self.replies.answered,
            "median_first_response_minutes": _minutes(self.replies.median_first_response),
            "required": self.required,
            **self.figures.as_dict(),
            "audience_per_publication": self.figures.per_publication(self.figures.audience),
            "engagement_per_publication": self.figures.per_publication(self.figures.engagement),
            "followers": self.followers,
            "audience_per_follower": per_follower(self.figures.audience, self.followers),
            "engagement_per_follower": per_follower(self.figures.engagement, self.followers),
            "previous_score": None if self.previous is None else round(self.previous, 2),
            "change": None if self.change is None else round(self.change, 2),
        }


def _minutes(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 60, 1)


@dataclass
class AuthorShare:
    """What one author's posts achieved in the span."""

    author: str
    figures: Figures
    posts: set[int]
    units: list[str]

    def as_dict(self) -> dict[str, object]:
        """The JSON form."""
        return {
            "author": self.author,
            "posts": len(self.posts),
            "units": self.units,
            **self.figures.as_dict(),
        }


@dataclass
class Ranking:
    """The units of one span ranked by score, the most improved one, and the authors."""

    span: Span
    units: list[RankedUnit]
    most_improved: RankedUnit | None
    authors: list[AuthorShare]
    #: What A and E were divided by: PER_FOLLOWER or PER_PUBLICATION.
    basis: str = PER_PUBLICATION
    #: The units' channels without a follower count at the span's end (why the basis is
    #: PER_PUBLICATION), in tree order.
    without_followers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The JSON form."""
        previous = self.span.previous()
        return {
            "from": self.span.first_day.isoformat(),
            "to": self.span.last_day.isoformat(),
            "previous_from": previous.first_day.isoformat(),
            "previous_to": previous.last_day.isoformat(),
            "weights": WEIGHTS,
            "basis": self.basis,
            "channels_without_followers": self.without_followers,
            "units": [u.as_dict() for u in self.units],
            "most_improved": None if self.most_improved is None else self.most_improved.unit.id,
            "authors": [a.as_dict() for a in self.authors],
        }


@dataclass(frozen=True)
class UnitScore:
    """A unit's score for a span and the figures it was computed from."""

    score: Score
    figures: Figures
    #: The publications its channel targets require in the span.
    required: int
    replies: ResponseFigures
    #: Its own channels' followers at the span's end (None unless each has a count).
    followers: int | None = None


def without_followers(tree: UnitTree, counts: Mapping[str, int]) -> list[str]:
    """The units' channels that have no follower count in ``counts``, in tree order."""
    missing: list[str] = []
    for unit in tree:
        missing.extend(c for c in unit.channels if c not in counts and c not in missing)
    return missing


def basis(tree: UnitTree, counts: Mapping[str, int]) -> str:
    """PER_FOLLOWER when every channel of every unit has a count, else PER_PUBLICATION."""
    has_channels = any(unit.channels for unit in tree)
    return PER_FOLLOWER if has_channels and not without_followers(tree, counts) else PER_PUBLICATION


def scores(
    tree: UnitTree,
    period: Span,
    pubs: Iterable[Publication],
    answers: Mapping[str, ResponseFigures],
    counts: Mapping[str, int] | None = None,
) -> dict[str, UnitScore]:
    """Per unit (own channels): its score and figures in ``period``; ``answers`` are the
    span's :func:`content.inbox.response_figures`, ``counts`` the channels' follower counts
    at the span's end (:func:`follower_counts`; None: none known)."""
    counts = counts or {}
    by_follower = basis(tree, counts) == PER_FOLLOWER
    by_channel = _by_channel(pubs)
    parts: dict[str, tuple[float, Figures, int]] = {}
    for unit in tree:
        own = _sum(by_channel.get(c, Figures()) for c in unit.channels)
        required = required_posts(unit.posts_per_week or 0, period.days)
        if required and unit.channels:
            delivery = sum(
                min(1.0, by_channel.get(c, Figures()).on_time / required) for c in unit.channels
            ) / len(unit.channels)
        else:
            delivery = 1.0 if own.on_time else 0.0
        parts[unit.id] = (delivery, own, required * len(unit.channels))
    followers = {unit.id: unit_followers(counts, unit.channels) for unit in tree}

    def rate(unit_id: str, value: float) -> float:
        """A and E before scaling: per follower or per publication (the span's basis)."""
        if by_follower:
            return per_follower(value, followers[unit_id]) or 0.0
        return parts[unit_id][1].per_publication(value)

    audiences = {u: rate(u, f.audience) for u, (_d, f, _r) in parts.items()}
    engagements = {u: rate(u, f.engagement) for u, (_d, f, _r) in parts.items()}
    best_audience = max(audiences.values(), default=0.0)
    best_engagement = max(engagements.values(), default=0.0)
    result = {}
    for unit_id, (delivery, own, required) in parts.items():
        replies = unit_responses(answers, tree[unit_id])
        score = Score(
            delivery,
            audiences[unit_id] / best_audience if best_audience else 0.0,
            engagements[unit_id] / best_engagement if best_engagement else 0.0,
            replies.answered / replies.received if replies.received else 1.0,
        )
        result[unit_id] = UnitScore(score, own, required, replies, followers[unit_id])
    return result


def ranking(
    engine: Engine,
    directory: ChannelDirectory,
    period: Span,
    *,
    pubs: list[Publication] | None = None,
) -> Ranking:
    """The units ranked for ``period``, against the previous span of the same length."""
    tree = directory.units
    if pubs is None:
        pubs = publications(engine, period.start, period.end)
    before = period.previous()
    earlier = publications(engine, before.start, before.end)
    counts = follower_counts(engine, period.end)
    answers = response_figures(engine, period.start, period.end)
    now_scores = scores(tree, period, pubs, answers, counts)
    then_scores = (
        scores(
            tree,
            before,
            earlier,
            response_figures(engine, before.start, before.end),
            follower_counts(engine, before.end),
        )
        if earlier
        else {}
    )
    order = {unit_id: i for i, unit_id in enumerate(tree.units)}
    ordered = sorted(
        now_scores.items(),
        key=lambda kv: (
            -kv[1].score.value,
            -kv[1].figures.on_time,
            -kv[1].figures.engagement,
            order[kv[0]],
        ),
    )
    ranked = []
    for rank, (unit_id, now_score) in enumerate(ordered, start=1):
        then = then_scores.get(unit_id)
        ranked.append(
            RankedUnit(
                rank=rank,
                unit=tree[unit_id],
                depth=tree.depth(unit_id),
                figures=now_score.figures,
                required=now_score.required,
                score=now_score.score,
                previous=None if then is None else then.score.value,
                replies=now_score.replies,
                followers=now_score.followers,
            )
        )
    risen = [u for u in ranked if u.change is not None and u.change > 0]
    # The largest rise; equal rises go to the better-ranked unit.
    improved = max(risen, key=lambda u: (u.change or 0.0, -u.rank), default=None)
    return Ranking(
        period,
        ranked,
        improved,
        _authors(tree, pubs),
        basis=basis(tree, counts),
        without_followers=without_followers(tree, counts),
    )


def _authors(tree: UnitTree, pubs: Iterable[Publication]) -> list[AuthorShare]:
    """Each author's publications in the span, most publications first."""
    shares: dict[str, AuthorShare] = {}
    for pub in pubs:
        share = shares.setdefault(pub.author, AuthorShare(pub.author, Figures(), set(), []))
        share.figures.add(pub)
        share.posts.add(pub.post_id)
        unit = tree.unit_of(pub.channel)
        if unit is not None and unit not in share.units:
            share.units.append(unit)
    order = {unit_id: i for i, unit_id in enumerate(tree.units)}
    for share in shares.values():
        share.units.sort(key=order.__getitem__)
    return sorted(
        shares.values(),
        key=lambda s: (-s.figures.publications, -s.figures.engagement, s.author),
    )
