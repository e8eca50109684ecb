"""The figures of the reports, computed only from collected :class:`MetricSample` rows.

Definitions (the weekly mail and ``loa report range`` say the same):

* A *publication* is one post published on one channel (a published :class:`Delivery`).
  A post published on three channels is three publications; "posts" in the reports counts
  publications, so every unit is judged on what it published itself.
* A publication belongs to a period when its ``published_at`` falls in it; periods are
  half-open ``[start, end)`` in the office's time zone (an ISO week runs from Monday 00:00
  to the next Monday 00:00 local time).
* Its figures are, for each metric name, the *latest sample collected before the period's
  end* (``collected_at < end``): a report for a past week never changes when newer samples
  arrive. A metric never collected counts as 0.
* engagement = reactions + comments + shares;
  engagement rate = engagement / views (``None`` when there were no views). For a group of
  publications both sums are taken first: the rate is sum(engagement) / sum(views), not a
  mean of rates.
* engagement per post = engagement / publications, used to rank units (channels and the
  groups of channels in channels.toml) fairly whatever their volume.
* Citizens' messages (received, answered, the median wait for a first answer, replies
  refused outside the platform's window) are :func:`content.inbox.response_figures` of the
  period, per channel, summed for a unit over its subtree's channels and for a group over
  its channels (:func:`inbox_lines`).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from content.db import session_scope
from content.engagement import ENGAGEMENT, METRICS, samples_before
from content.errors import ValidationError
from content.evaluation import UnitStatus, week_of
from content.evaluation import status as unit_status
from content.inbox import ResponseFigures, response_figures
from content.models import Delivery, DeliveryState, Post, PostState
from content.office import ChannelDirectory

#: The top list of the weekly report.
TOP_COUNT = 5

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


# ---------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A half-open span ``[start, end)`` (aware UTC) with the name people know it by."""

    start: datetime
    end: datetime
    label: str
    tz: ZoneInfo

    @property
    def first_day(self) -> date:
        """The first local day of the period."""
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        """The last local day of the period (inclusive)."""
        return (self.end.astimezone(self.tz) - timedelta(microseconds=1)).date()


def week_label(day: date) -> str:
    """The ISO week of ``day``: ``2026-W47``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str, *, field_name: str = "--week") -> tuple[int, int]:
    """``2026-W48`` (or ``2026W48``) as (ISO year, week). Raises ValidationError otherwise."""
    match = _WEEK.match(text)
    if match:
        year, week = int(match.group(1)), int(match.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            pass
        else:
            return year, week
    raise ValidationError("week_format", field=field_name, text=text)


def week_period(week: str, tz: ZoneInfo) -> Period:
    """ISO week ``week`` in the office time zone: Monday 00:00 to the next Monday 00:00."""
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    return days_period(monday, monday + timedelta(days=6), tz, label=f"{year}-W{number:02d}")


def days_period(first: date, last: date, tz: ZoneInfo, *, label: str | None = None) -> Period:
    """Local days ``first`` to ``last`` inclusive."""
    if last < first:
        raise ValidationError(
            "day_before", field="--to", last=last.isoformat(), first=first.isoformat()
        )
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return Period(start, end, label or f"{first.isoformat()}_{last.isoformat()}", tz)


def week_just_ended(now: datetime, tz: ZoneInfo) -> str:
    """The ISO week that ended at the last local Monday 00:00 before ``now``."""
    today = now.astimezone(tz).date()
    this_monday = today - timedelta(days=today.weekday())
    return week_label(this_monday - timedelta(days=7))


def previous_week(week: str) -> str:
    """The ISO week before ``week``."""
    year, number = parse_week(week)
    return week_label(date.fromisocalendar(year, number, 1) - timedelta(days=7))


# ---------------------------------------------------------------------- figures


class _Engagement(ABC):
    """Engagement and its rate from ``value(name)``: one definition for a post and a sum."""

    @abstractmethod
    def value(self, name: str) -> float:
        """One metric's value."""

    @property
    def engagement(self) -> float:
        """reactions + comments + shares."""
        return sum(self.value(n) for n in ENGAGEMENT)

    @property
    def rate(self) -> float | None:
        """engagement / views (for sums: sum over sum); None without views."""
        views = self.value("views")
        return self.engagement / views if views else None


@dataclass(frozen=True)
class PostRow(_Engagement):
    """One publication (a post on a channel) and its figures for a period."""

    post_id: int
    delivery_id: int
    channel: str
    channel_name: str
    title: str
    campaign: str | None
    author: str
    published_at: datetime
    permalink: str | None
    metrics: Mapping[str, float]

    def value(self, name: str) -> float:
        """One metric (0 when never collected)."""
        return self.metrics.get(name, 0.0)


@dataclass
class Totals(_Engagement):
    """Sums over publications."""

    publications: int = 0
    post_ids: set[int] = field(default_factory=set)
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(METRICS, 0.0))

    def add(self, row: PostRow) -> None:
        """Count one publication."""
        self.publications += 1
        self.post_ids.add(row.post_id)
        for name in METRICS:
            self.sums[name] += row.value(name)

    def value(self, name: str) -> float:
        """The sum of one metric."""
        return self.sums.get(name, 0.0)

    @property
    def per_post(self) -> float | None:
        """engagement / publications; None without publications."""
        return self.engagement / self.publications if self.publications else None


def totals(rows: Iterable[PostRow]) -> Totals:
    """The sums over ``rows``."""
    result = Totals()
    for row in rows:
        result.add(row)
    return result


@dataclass(frozen=True)
class Unit:
    """A line of the ranking: a group of channels or one channel."""

    key: str
    name: str
    kind: str  # "group" | "channel"
    totals: Totals


@dataclass
class PeriodFigures:
    """Everything published in one period, summed several ways."""

    period: Period
    rows: list[PostRow]
    total: Totals
    by_channel: dict[str, Totals]
    by_group: dict[str, Totals]
    by_campaign: dict[str | None, Totals]
    channel_names: dict[str, str]
    #: How citizens were answered in the period: units, groups, channels, then the total.
    inbox: list[InboxLine] = field(default_factory=list)

    def ranking(self) -> list[Unit]:
        """Groups and channels by engagement per post, best first; idle units last."""
        units = [Unit(k, k, "group", t) for k, t in self.by_group.items()]
        units += [
            Unit(k, self.channel_names.get(k, k), "channel", t) for k, t in self.by_channel.items()
        ]
        return sorted(
            units,
            key=lambda u: (
                u.totals.per_post is None,
                -(u.totals.per_post or 0.0),
                -u.totals.publications,
                u.kind,
                u.key,
            ),
        )

    def top(self, count: int = TOP_COUNT) -> list[PostRow]:
        """The publications with the most engagement (then views, then earliest)."""
        ordered = sorted(
            self.rows,
            key=lambda r: (-r.engagement, -r.value("views"), r.published_at, r.delivery_id),
        )
        return ordered[:count]


def period_figures(engine: Engine, directory: ChannelDirectory, period: Period) -> PeriodFigures:
    """Publications of ``period`` with their latest figures, summed per channel/group/campaign."""
    names = {cid: info.name for cid, info in directory.channels.items()}
    rows = load_rows(engine, period, names)
    by_channel: dict[str, Totals] = {cid: Totals() for cid in directory.channels}
    by_group: dict[str, Totals] = {g: Totals() for g in directory.groups}
    by_campaign: dict[str | None, Totals] = {}
    for row in rows:
        by_channel.setdefault(row.channel, Totals()).add(row)
        for group, members in directory.groups.items():
            if row.channel in members:
                by_group[group].add(row)
        by_campaign.setdefault(row.campaign, Totals()).add(row)
    # Named campaigns alphabetically, posts without a campaign last.
    ordered = dict(sorted(by_campaign.items(), key=lambda kv: (kv[0] is None, kv[0] or "")))
    return PeriodFigures(
        period,
        rows,
        totals(rows),
        by_channel,
        by_group,
        ordered,
        names,
        inbox=inbox_lines(engine, directory, period),
    )


# ---------------------------------------------------------------------- citizens' messages

UNIT, GROUP, CHANNEL, TOTAL = "unit", "group", "channel", "total"


@dataclass(frozen=True)
class InboxLine:
    """How citizens writing to a unit, a group of channels or a channel were answered."""

    key: str
    name: str
    kind: str  # UNIT | GROUP | CHANNEL | TOTAL
    #: A unit's depth in the tree (0: the province), for indenting; 0 for the others.
    depth: int
    figures: ResponseFigures


def inbox_lines(engine: Engine, directory: ChannelDirectory, period: Period) -> list[InboxLine]:
    """Citizens' messages of ``period`` per unit of the tree (its subtree's channels, as a
    figure rolled up to the unit), per group of channels, per channel, and the total (every
    channel, including one since removed from channels.toml)."""
    by_channel = response_figures(engine, period.start, period.end)
    tree = directory.units

    def summed(channels: Iterable[str]) -> ResponseFigures:
        total = ResponseFigures()
        for channel in channels:
            if channel in by_channel:
                total.add(by_channel[channel])
        return total

    lines = [
        InboxLine(u.id, u.name, UNIT, tree.depth(u.id), summed(tree.channels_of(u.id)))
        for u in tree
    ]
    lines += [InboxLine(g, g, GROUP, 0, summed(m)) for g, m in directory.groups.items()]
    lines += [
        InboxLine(cid, info.name, CHANNEL, 0, summed([cid]))
        for cid, info in directory.channels.items()
    ]
    lines.append(InboxLine("", "", TOTAL, 0, summed(by_channel)))
    return lines


def load_rows(engine: Engine, period: Period, channel_names: Mapping[str, str]) -> list[PostRow]:
    """Every publication of ``period``, with its latest samples collected before the end."""
    with session_scope(engine) as session:
        published = session.exec(
            select(Delivery, Post)
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .where(Delivery.state == DeliveryState.PUBLISHED)
            .where(col(Delivery.published_at) >= period.start)
            .where(col(Delivery.published_at) < period.end)
            .order_by(col(Delivery.published_at), col(Delivery.id))
        ).all()
        metrics = samples_before(session, period.start, period.end)
    rows = []
    for delivery, post in published:
        assert delivery.id is not None and post.id is not None and delivery.published_at
        rows.append(
            PostRow(
                post_id=post.id,
                delivery_id=delivery.id,
                channel=delivery.channel,
                channel_name=channel_names.get(delivery.channel, delivery.channel),
                title=post_title(post),
                campaign=post.campaign,
                author=post.author,
                published_at=delivery.published_at,
                permalink=delivery.permalink,
                metrics=metrics.get(delivery.id, {}),
            )
        )
    return rows


def post_title(post: Post) -> str:
    """The title, else the first line of the text, shortened for tables."""
    text = (post.title or post.text or "").strip()
    first = text.splitlines()[0] if text else f"#{post.id}"
    return first if len(first) <= 90 else first[:89] + "…"


# ---------------------------------------------------------------------- open problems


@dataclass(frozen=True)
class OpenProblem:
    """A delivery that failed or needs a person to check it, not yet dealt with."""

    delivery_id: int
    post_id: int
    channel: str
    channel_name: str
    state: str
    title: str
    reason: str
    since: datetime


def open_problems(engine: Engine, channel_names: Mapping[str, str]) -> list[OpenProblem]:
    """Deliveries now ``failed`` or ``needs_review`` whose post was not cancelled, oldest first.

    They stay in every weekly report until someone retries, reschedules or cancels the post:
    a failure nobody handled is still news to the office head.
    """
    with session_scope(engine) as session:
        found = session.exec(
            select(Delivery, Post)
            .join(Post, col(Post.id) == col(Delivery.post_id))
            .where(col(Delivery.state).in_([DeliveryState.FAILED, DeliveryState.NEEDS_REVIEW]))
            .where(Post.state != PostState.CANCELLED)
            .order_by(col(Delivery.updated_at), col(Delivery.id))
        ).all()
    problems = []
    for delivery, post in found:
        assert delivery.id is not None and post.id is not None
        code = f" {delivery.last_error_code}" if delivery.last_error_code else ""
        reason = delivery.last_error_message or ""
        if delivery.last_error_class:
            reason = f"{delivery.last_error_class}{code}: {reason}".rstrip(": ")
        problems.append(
            OpenProblem(
                delivery_id=delivery.id,
                post_id=post.id,
                channel=delivery.channel,
                channel_name=channel_names.get(delivery.channel, delivery.channel),
                state=delivery.state,
                title=post_title(post),
                reason=reason,
                since=delivery.updated_at,
            )
        )
    return problems


# ---------------------------------------------------------------------- the week


@dataclass
class WeeklyFigures:
    """Week W against week W-1, plus the open problems as of now."""

    office: str
    language: str
    week: str
    current: PeriodFigures
    previous: PeriodFigures
    problems: list[OpenProblem]
    #: Units behind target in the week (content.evaluation); None without units configured.
    behind: list[UnitStatus] | None = None

    @property
    def top(self) -> list[PostRow]:
        """The week's top publications."""
        return self.current.top()


def weekly_figures(engine: Engine, directory: ChannelDirectory, week: str) -> WeeklyFigures:
    """The figures of ISO week ``week`` (e.g. ``2026-W47``) in the office's time zone."""
    tz = directory.office.timezone
    current = week_period(week, tz)
    before = week_period(previous_week(current.label), tz)
    names = {cid: info.name for cid, info in directory.channels.items()}
    return WeeklyFigures(
        office=directory.office.name,
        language=directory.office.language,
        week=current.label,
        current=period_figures(engine, directory, current),
        previous=period_figures(engine, directory, before),
        problems=open_problems(engine, names),
        behind=_behind(engine, directory, current),
    )


def _behind(engine: Engine, directory: ChannelDirectory, week: Period) -> list[UnitStatus] | None:
    """The units behind target over the whole week (judged as of its end)."""
    if not directory.units:
        return None
    span = week_of(week.first_day, week.tz)
    return unit_status(engine, directory, span, now=week.end).behind()
