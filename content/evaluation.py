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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

# The figures and the targets live beside this module; importers keep reading every name of
# the evaluation from here, where its definitions are.
from content.evaluation_figures import ON_TIME_GRACE as ON_TIME_GRACE
from content.evaluation_figures import Figures as Figures
from content.evaluation_figures import Publication as Publication
from content.evaluation_figures import Span as Span
from content.evaluation_figures import (
    figures_by_channel,
    follower_counts,
    sum_figures,
    unit_followers,
    unit_responses,
)
from content.evaluation_figures import per_follower as per_follower
from content.evaluation_figures import publications as publications
from content.evaluation_figures import span as span
from content.evaluation_figures import week_of as week_of
from content.evaluation_targets import BEHIND as BEHIND
from content.evaluation_targets import CAMPAIGN as CAMPAIGN
from content.evaluation_targets import MET as MET
from content.evaluation_targets import NO_TARGET as NO_TARGET
from content.evaluation_targets import ON_TRACK as ON_TRACK
from content.evaluation_targets import POSTS_PER_WEEK as POSTS_PER_WEEK
from content.evaluation_targets import RESPONSE as RESPONSE
from content.evaluation_targets import Point as Point
from content.evaluation_targets import StatusReport as StatusReport
from content.evaluation_targets import Target as Target
from content.evaluation_targets import UnitStatus as UnitStatus
from content.evaluation_targets import required_posts
from content.evaluation_targets import series as series
from content.evaluation_targets import status as status
from content.inbox import ResponseFigures, response_figures
from content.office import ChannelDirectory
from content.units import UnitInfo, UnitTree

#: The score's weights: delivery against target, audience, engagement and response to
#: citizens (they sum to 100).
WEIGHTS = {"delivery": 40.0, "audience": 20.0, "engagement": 20.0, "response": 20.0}

#: What A and E are divided by (see the module's docstring): followers where every channel
#: has a count, else publications, for every unit alike.
PER_FOLLOWER = "follower"
PER_PUBLICATION = "publication"


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
    by_channel = figures_by_channel(pubs)
    parts: dict[str, tuple[float, Figures, int]] = {}
    for unit in tree:
        own = sum_figures(by_channel.get(c, Figures()) for c in unit.channels)
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
    ranked = _ranked(tree, now_scores, then_scores)
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


def _ranked(
    tree: UnitTree, now_scores: Mapping[str, UnitScore], then_scores: Mapping[str, UnitScore]
) -> list[RankedUnit]:
    """The units in rank order (by score, then on-time publications, then engagement, then
    tree order), each with its previous span's score when it had one."""
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
    return ranked


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
