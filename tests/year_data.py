"""A year of a province's publishing, generated: for the units, targets, ranking and periodic
report tests (and the report's timing).

The office: the province, six wards and two communes under the third ward (three levels),
each with a Facebook Page and a Zalo OA (one commune has only a Page). Each channel publishes
a few posts a week at a rate of its own; some units are steady, one lags, one improves in the
second half of the year; some posts go to both of a unit's channels, a few are published
more than an hour late, a few fail; a campaign runs in August with a quota. Every
publication gets samples of its metrics a day and eight days after it was published.
Follower counts are collected every morning from :data:`FOLLOWERS_FROM` (a channel of
:data:`LATE_COUNTED` only from :data:`LATE_COUNTED_FROM`): before then the ranking falls back
to figures per publication.

:func:`generate` writes the rows in bulk (as the dispatcher and the metrics job would have)
and returns the same data as plain Python values, from which the tests recompute every
figure on their own.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from content.db import open_database
from content.models import (
    Delivery,
    FollowerSample,
    InboxMessage,
    InboxThread,
    MetricSample,
    Post,
)
from scheduler.config import Config, load
from tests.conftest import PG_URL, pg_unavailable
from tests.helpers import HCM
from tests.pg_schemas import fresh_schema

#: The year: 52 weeks from Monday 2025-11-24 to Sunday 2026-11-22 (office days).
FIRST_DAY = date(2025, 11, 24)
WEEKS = 52
LAST_DAY = FIRST_DAY + timedelta(weeks=WEEKS) - timedelta(days=1)
CAMPAIGN = "Ngày hội toàn dân bảo vệ ANTQ"
QUOTA_FROM, QUOTA_TO, QUOTA_POSTS = date(2026, 8, 1), date(2026, 8, 19), 4
#: Times of day posts are scheduled at (office time).
SLOTS = (time(7, 30), time(11, 30), time(16, 0), time(20, 0))
#: Samples are collected this long after publishing.
COLLECT_AFTER = (timedelta(days=1), timedelta(days=8))
#: Follower counts are collected each morning from this day; the commune's Page below is
#: counted only from the later day (its token lacked the permission until then).
FOLLOWERS_FROM = date(2026, 3, 2)
LATE_COUNTED, LATE_COUNTED_FROM = "x2-fb", date(2026, 6, 1)
FOLLOWERS_AT = time(9, 0)


@dataclass(frozen=True)
class UnitSpec:
    """A unit of the generated office and how it publishes."""

    id: str
    name: str
    parent: str | None
    channels: tuple[str, ...]
    posts_per_week: int
    #: Posts a week on each channel in the first and second half of the year.
    rate: tuple[float, float]
    #: How strongly its posts engage (multiplies every figure).
    appeal: float
    #: Citizens' messages a week on each channel; the share answered; the usual wait (hours).
    citizens: float = 1.0
    answers: float = 0.9
    wait_hours: float = 6.0
    #: Followers of each channel when counting starts (they grow over the year).
    followers: int = 4000


UNITS = (
    # The province reaches most per post, but it has far more followers than any ward.
    UnitSpec(
        "tinh",
        "Công an tỉnh Demo",
        None,
        ("tinh-fb", "tinh-zalo"),
        5,
        (5.5, 5.5),
        1.6,
        3,
        followers=30000,
    ),
    UnitSpec("p1", "Công an phường 1", "tinh", ("p1-fb", "p1-zalo"), 3, (3.4, 3.4), 1.0),
    UnitSpec(
        "p2", "Công an phường 2", "tinh", ("p2-fb", "p2-zalo"), 3, (3.0, 3.2), 1.2, followers=9000
    ),
    UnitSpec(
        "p3", "Công an phường 3", "tinh", ("p3-fb", "p3-zalo"), 3, (1.2, 4.2), 0.7, followers=2500
    ),
    # Ward 4 answers citizens late and not always: behind on the response target.
    UnitSpec(
        "p4", "Công an phường 4", "tinh", ("p4-fb", "p4-zalo"), 3, (2.0, 1.8), 0.9, 1, 0.6, 40
    ),
    UnitSpec("p5", "Công an phường 5", "tinh", ("p5-fb", "p5-zalo"), 3, (3.8, 3.8), 0.8),
    UnitSpec("p6", "Công an phường 6", "tinh", ("p6-fb", "p6-zalo"), 3, (2.9, 3.1), 1.1),
    UnitSpec(
        "x1",
        "Công an xã Hòa An",
        "p3",
        ("x1-fb", "x1-zalo"),
        2,
        (2.2, 2.4),
        0.6,
        0.5,
        followers=900,
    ),
    # Nobody writes to this commune's Page: no response target for it.
    UnitSpec("x2", "Công an xã Tân Phú", "p3", ("x2-fb",), 2, (1.5, 2.5), 0.5, 0, followers=700),
)


def office_toml(*, email_port: int | None = None, extra: str = "") -> str:
    """channels.toml of the generated office (``email_port``: an [email] table)."""
    lines = [
        "[office]",
        'name = "Công an tỉnh Demo"',
        'timezone = "Asia/Ho_Chi_Minh"',
        'language = "vi"',
        "",
    ]
    for number, unit in enumerate(UNITS):
        for channel in unit.channels:
            if channel.endswith("-fb"):
                lines += [
                    f"[channels.{channel}]",
                    'kind = "facebook"',
                    f'name = "{unit.name} (Facebook)"',
                    f'page_id = "1000000000{number:02d}{len(lines):03d}"',
                    'token = { env = "FB_TOKEN" }',
                    "",
                ]
            else:
                lines += [
                    f"[channels.{channel}]",
                    'kind = "zalo_oa"',
                    f'name = "{unit.name} (Zalo OA)"',
                    f'oa_id = "43000000000{number:02d}{len(lines):03d}"',
                    'app_id = "3100000000000000001"',
                    'app_secret = { env = "ZALO_SECRET" }',
                    "",
                ]
    lines += ["[groups]", 'facebook = ["tinh-fb", "p1-fb"]', ""]
    for unit in UNITS:
        lines += [f"[units.{unit.id}]", f'name = "{unit.name}"']
        if unit.parent:
            lines.append(f'parent = "{unit.parent}"')
        channels = ", ".join(f'"{c}"' for c in unit.channels)
        lines += [f"channels = [{channels}]"]
        if unit.posts_per_week != 3:
            lines.append(f"posts_per_week = {unit.posts_per_week}")
        lines.append("")
    lines += [
        "[targets]",
        "posts_per_week = 3",
        "",
        f'[targets.campaigns."{CAMPAIGN}"]',
        f"from = {QUOTA_FROM.isoformat()}",
        f"to = {QUOTA_TO.isoformat()}",
        f"posts_per_unit = {QUOTA_POSTS}",
        'units = ["p1", "p2", "p3", "p4", "p5", "p6"]',
        "",
        "[reporting]",
        'deadlines = ["09-05", "10-25"]',
        "remind_days = 7",
        'superior = "BỘ CÔNG AN"',
        'issuer = "CÔNG AN TỈNH DEMO"',
        'place = "Demo"',
        'symbol = "BC-CAT"',
        'signer_title = "GIÁM ĐỐC"',
        'signer_name = "Nguyễn Văn An"',
        'recipients = ["UBND tỉnh Demo (để báo cáo)", "Bộ Công an (V05)", "Lưu: VT, PV01"]',
        "",
    ]
    if email_port is not None:
        lines += [
            "[email]",
            'host = "127.0.0.1"',
            f"port = {email_port}",
            'security = "none"',
            'from = "loa@congan.example.vn"',
            'to = ["giamdoc@congan.example.vn"]',
            "",
        ]
    return "\n".join(lines) + extra


@dataclass(frozen=True)
class GenPublication:
    """One generated delivery: a post on a channel, published or not, and its samples."""

    delivery_id: int
    post_id: int
    channel: str
    author: str
    campaign: str | None
    scheduled_at: datetime
    #: None: not published (failed, or still scheduled).
    published_at: datetime | None
    #: (collected_at, name, value)
    samples: tuple[tuple[datetime, str, float], ...] = ()


@dataclass(frozen=True)
class GenMessage:
    """A citizen's message to a channel (a thread of its own) and the office's answer."""

    channel: str
    at: datetime
    #: None: not answered (yet).
    answered_at: datetime | None


@dataclass(frozen=True)
class GenFollowers:
    """A channel's follower count as collected at one moment."""

    channel: str
    at: datetime
    followers: int


@dataclass
class Year:
    """What :func:`generate` wrote, as plain values."""

    deliveries: list[GenPublication] = field(default_factory=list)
    messages: list[GenMessage] = field(default_factory=list)
    followers: list[GenFollowers] = field(default_factory=list)

    def published(self) -> list[GenPublication]:
        """The deliveries that were published."""
        return [d for d in self.deliveries if d.published_at is not None]


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=HCM).astimezone(UTC)


def _metrics(rng: random.Random, channel: str, appeal: float) -> dict[str, float]:
    """Final figures of one publication (Zalo reports views and shares only)."""
    views = round(rng.uniform(200, 1200) * appeal)
    if channel.endswith("-zalo"):
        return {"views": views, "shares": round(views * rng.uniform(0.002, 0.02))}
    reach = round(views * rng.uniform(0.5, 0.9))
    return {
        "views": views,
        "reach": reach,
        "reactions": round(reach * rng.uniform(0.01, 0.06) * appeal),
        "comments": round(reach * rng.uniform(0.0, 0.01) * appeal),
        "shares": round(reach * rng.uniform(0.0, 0.01)),
        "clicks": round(reach * rng.uniform(0.0, 0.03)),
    }


def generate(engine: Engine, *, seed: int = 20, now: datetime | None = None) -> Year:
    """Write a year of posts, deliveries and samples; ``now`` (default: after the year) leaves
    posts due after it scheduled and unpublished, and samples after it uncollected."""
    rng = random.Random(seed)
    now = now or _local(LAST_DAY + timedelta(days=30), time(0))
    year = Year()
    posts: list[dict[str, object]] = []
    deliveries: list[dict[str, object]] = []
    samples: list[dict[str, object]] = []
    post_id = delivery_id = 0
    for week in range(WEEKS):
        monday = FIRST_DAY + timedelta(weeks=week)
        half = 0 if week < WEEKS // 2 else 1
        for unit in UNITS:
            authors = [f"cb-{unit.id}-1", f"cb-{unit.id}-2"]
            for channel in unit.channels:
                count = int(unit.rate[half]) + (rng.random() < unit.rate[half] % 1)
                for _ in range(count):
                    day = monday + timedelta(days=rng.randrange(7))
                    scheduled = _local(day, rng.choice(SLOTS))
                    # A post to both of a unit's channels: two publications of one post.
                    both = (
                        len(unit.channels) == 2 and channel.endswith("-fb") and rng.random() < 0.2
                    )
                    in_campaign = QUOTA_FROM <= day <= QUOTA_TO and rng.random() < 0.5
                    author = rng.choice(authors)
                    if unit.parent == "tinh" and rng.random() < 0.05:
                        author = "cb-tinh-1"  # the province's officer helps a ward
                    post_id += 1
                    done = scheduled <= now
                    posts.append(
                        {
                            "id": post_id,
                            "title": f"Bài {post_id} của {unit.name}",
                            "text": f"Nội dung tuyên truyền số {post_id}",
                            "image_ids": [],
                            "tags": [],
                            "author": author,
                            "campaign": CAMPAIGN if in_campaign else None,
                            "state": "done" if done else "scheduled",
                            "scheduled_at": scheduled,
                            "fingerprint": hashlib.sha256(str(post_id).encode()).hexdigest(),
                            "approved_by": "lanh-dao",
                            "search_text": "",
                            "created_at": scheduled - timedelta(days=2),
                            "updated_at": scheduled,
                        }
                    )
                    targets = unit.channels if both else (channel,)
                    for target in targets:
                        delivery_id += 1
                        roll = rng.random()
                        published: datetime | None = None
                        if done and roll >= 0.02:  # 2% fail
                            # Most go out within minutes; one in ten more than an hour late.
                            late = roll > 0.9
                            delay = rng.uniform(61, 300) if late else rng.uniform(0, 20)
                            published = scheduled + timedelta(minutes=delay)
                            if published > now:
                                published = None
                        state = "published" if published else ("failed" if done else "pending")
                        pub_samples: list[tuple[datetime, str, float]] = []
                        if published is not None and rng.random() > 0.03:  # 3% never collected
                            final = _metrics(rng, target, unit.appeal)
                            for share, after in zip((0.6, 1.0), COLLECT_AFTER, strict=True):
                                at = published + after
                                if at > now:
                                    break
                                for name, value in final.items():
                                    pub_samples.append((at, name, float(round(value * share))))
                        deliveries.append(
                            {
                                "id": delivery_id,
                                "post_id": post_id,
                                "channel": target,
                                "state": state,
                                "attempts": 1 if done else 0,
                                "next_attempt_at": None if done else scheduled,
                                "published_at": published,
                                "remote_id": f"r{delivery_id}" if published else None,
                                "updated_at": published or scheduled,
                            }
                        )
                        for at, name, value in pub_samples:
                            samples.append(
                                {
                                    "delivery_id": delivery_id,
                                    "collected_at": at,
                                    "name": name,
                                    "value": value,
                                }
                            )
                        year.deliveries.append(
                            GenPublication(
                                delivery_id,
                                post_id,
                                target,
                                author,
                                CAMPAIGN if in_campaign else None,
                                scheduled,
                                published,
                                tuple(pub_samples),
                            )
                        )
    _citizens(rng, year, now)
    # A generator of their own: the posts and messages stay what they were before counts.
    _followers(random.Random(seed + 1), year, now)
    with engine.begin() as conn:
        _write_citizens(conn, year)
        if year.followers:
            conn.execute(
                insert(FollowerSample.__table__),  # type: ignore[attr-defined]
                [
                    {"channel": f.channel, "collected_at": f.at, "followers": f.followers}
                    for f in year.followers
                ],
            )
        conn.execute(insert(Post.__table__), posts)  # type: ignore[attr-defined]
        conn.execute(insert(Delivery.__table__), deliveries)  # type: ignore[attr-defined]
        for start in range(0, len(samples), 5000):
            conn.execute(insert(MetricSample.__table__), samples[start : start + 5000])  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            # The rows came with their ids: later inserts must not reuse them.
            for table in ("post", "delivery", "metricsample", "inboxthread", "inboxmessage"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))"
                )
    return year


def _followers(rng: random.Random, year: Year, now: datetime) -> None:
    """Each channel's count every morning from its first counted day up to ``now``: growing
    through the year, a little up or down from day to day; a Zalo OA has fewer followers
    than its unit's Page. Now and then a morning's collection is missed."""
    for unit in UNITS:
        for channel in unit.channels:
            start = LATE_COUNTED_FROM if channel == LATE_COUNTED else FOLLOWERS_FROM
            base = unit.followers * (0.6 if channel.endswith("-zalo") else 1.0)
            day = start
            while (at := _local(day, FOLLOWERS_AT)) < now:
                if rng.random() > 0.05:
                    growth = 1 + 0.3 * (day - FOLLOWERS_FROM).days / 365
                    count = round(base * growth * rng.uniform(0.99, 1.01))
                    year.followers.append(GenFollowers(channel, at, count))
                day += timedelta(days=1)


def _citizens(rng: random.Random, year: Year, now: datetime) -> None:
    """Citizens' messages (one thread each) and the answers, up to ``now``."""
    for week in range(WEEKS):
        monday = FIRST_DAY + timedelta(weeks=week)
        for unit in UNITS:
            for channel in unit.channels:
                count = int(unit.citizens) + (rng.random() < unit.citizens % 1)
                for _ in range(count):
                    at = _local(monday, time(6)) + timedelta(minutes=rng.randrange(7 * 24 * 60))
                    if at >= now:
                        continue
                    answered = None
                    if rng.random() < unit.answers:
                        wait = timedelta(hours=rng.uniform(0.1, 2 * unit.wait_hours))
                        answered = at + wait if at + wait < now else None
                    year.messages.append(GenMessage(channel, at, answered))


def _write_citizens(conn: Any, year: Year) -> None:
    threads, messages = [], []
    for number, message in enumerate(year.messages, start=1):
        threads.append(
            {
                "id": number,
                "channel": message.channel,
                "kind": "zalo_chat" if message.channel.endswith("-zalo") else "messenger",
                "citizen_index": hashlib.sha256(f"citizen-{number}".encode()).hexdigest(),
                "state": "answered" if message.answered_at else "open",
                "tags": [],
                "created_at": message.at,
                "updated_at": message.answered_at or message.at,
                "first_inbound_at": message.at,
                "last_inbound_at": message.at,
                "last_outbound_at": message.answered_at,
                "waiting_since": None if message.answered_at else message.at,
                "first_response_at": message.answered_at,
            }
        )
        exchange = [("in", message.at, "received")]
        if message.answered_at:
            exchange.append(("out", message.answered_at, "sent"))
        for direction, at, state in exchange:
            messages.append(
                {
                    "thread_id": number,
                    "channel": message.channel,
                    "platform_id": f"{direction}-{number}",
                    "direction": direction,
                    "kind": "text",
                    "occurred_at": at,
                    "received_at": at,
                    "source": "webhook",
                    "state": state,
                }
            )
    if threads:
        conn.execute(insert(InboxThread.__table__), threads)  # type: ignore[attr-defined]
        conn.execute(insert(InboxMessage.__table__), messages)  # type: ignore[attr-defined]


#: When the tests' year was generated: Wednesday of its last week, noon office time (the
#: week is still running, with posts scheduled for the rest of it).
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=HCM).astimezone(UTC)


@dataclass
class Office:
    """The generated office: its database, config and the plain data written to it."""

    engine: Engine
    url: str
    config_path: Path
    config: Config
    year: Year


@contextmanager
def generated_office(database: str, folder: Path, *, now: datetime = NOW) -> Iterator[Office]:
    """The year written to a fresh ``database`` ("sqlite" or "postgresql", a schema of its
    own), with its channels.toml in ``folder``; PostgreSQL skips when unreachable."""
    with ExitStack() as stack:
        if database == "sqlite":
            url = f"sqlite:///{folder / 'loa.db'}"
        else:
            reason = pg_unavailable()
            if reason:
                pytest.skip(reason)
            url = stack.enter_context(fresh_schema(PG_URL))
        engine = open_database(url)
        stack.callback(engine.dispose)
        config_path = folder / "channels.toml"
        config_path.write_text(office_toml(), encoding="utf-8")
        year = generate(engine, now=now)
        yield Office(engine, url, config_path, load(config_path), year)
