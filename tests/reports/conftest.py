"""Fixtures of the report tests: a real SMTP sink, an office config, a week of posts.

The dataset is plain data (:data:`PUBLICATIONS`, :data:`PROBLEMS`): the fixture writes it
through the queue and then marks deliveries published and adds samples directly, as the
dispatcher and the metrics job would. Tests recompute expected figures from the same plain
data, never through the code under test.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlmodel import Session, select

from content.models import Delivery, DeliveryState, MetricSample
from content.queue import PostInput
from scheduler.config import Config, load
from tests.helpers import local

# ---------------------------------------------------------------------- SMTP sink


def free_port() -> int:
    """A port nobody listens on (aiosmtpd cannot take port 0: it probes the port it was given)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """An aiosmtpd handler that keeps every message, or refuses the next ``refuse`` ones."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.refuse = 0
        self.answer = "451 4.3.0 Mailbox temporarily unavailable, try later"
        self.attempts = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd API)
        self.attempts += 1
        if self.refuse:
            self.refuse -= 1
            return self.answer
        self.envelopes.append(envelope)
        return "250 OK"


@dataclass
class SmtpServer:
    """A running sink on 127.0.0.1."""

    port: int
    sink: Sink
    controller: Controller

    @property
    def envelopes(self) -> list:
        return self.sink.envelopes


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that stores what it receives."""
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, sink, controller)
    finally:
        controller.stop()


# ---------------------------------------------------------------------- config

OFFICE_TOML = """\
[office]
name = "Công an tỉnh Demo"
timezone = "Asia/Ho_Chi_Minh"
language = "{language}"
alert_recipients = {alert_recipients}

[channels.tinh-fb]
kind = "facebook"
name = "Tỉnh FB"
page_id = "100000000000001"
token = {{ env = "FB_TOKEN" }}

[channels.tinh-zalo]
kind = "zalo_oa"
name = "Tỉnh Zalo"
oa_id = "4300000000000000001"
app_id = "3100000000000000001"
app_secret = {{ env = "ZALO_SECRET" }}

[channels.xa-fb]
kind = "facebook"
name = "Xã FB"
page_id = "100000000000002"
token = {{ env = "FB_TOKEN" }}

[groups]
fb = ["tinh-fb", "xa-fb"]
tinh = ["tinh-fb", "tinh-zalo"]

[email]
host = "127.0.0.1"
port = {port}
security = "none"
from = "loa@congan.example.vn"
to = ["giamdoc@congan.example.vn", "phogiamdoc@congan.example.vn"]
cc = ["vanthu@congan.example.vn"]
{email_extra}
"""

TO = ["giamdoc@congan.example.vn", "phogiamdoc@congan.example.vn"]
CC = ["vanthu@congan.example.vn"]


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """``make_config(port, language="vi", ...)``: a loaded channels.toml for the office."""

    def make(
        port: int = 2525,
        *,
        language: str = "vi",
        alert_recipients: list[str] | None = None,
        email_extra: str = "",
    ) -> Config:
        path = tmp_path / f"channels-{language}-{port}.toml"
        recipients = "[" + ", ".join(f'"{r}"' for r in alert_recipients or []) + "]"
        path.write_text(
            OFFICE_TOML.format(
                language=language,
                port=port,
                alert_recipients=recipients,
                email_extra=email_extra,
            ),
            encoding="utf-8",
        )
        return load(path)

    return make


@pytest.fixture
def config(make_config, smtp: SmtpServer) -> Config:
    """The office config pointing at the SMTP sink."""
    return make_config(smtp.port)


# ---------------------------------------------------------------------- dataset

#: The week the fixture is about: Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00 (+07).
WEEK = "2026-W47"
WEEK_START = local("2026-11-16 00:00")
WEEK_END = local("2026-11-23 00:00")
PREVIOUS_START = local("2026-11-09 00:00")
#: Collection offsets after publishing; late ones fall after the week's end.
OFFSETS = (timedelta(hours=1), timedelta(hours=26), timedelta(days=3), timedelta(days=9))


@dataclass(frozen=True)
class Pub:
    """One fixture publication: a post on a channel, when, and its samples."""

    post: int  # index into POSTS
    channel: str
    published: datetime
    #: (collected_at, name, value) - the raw samples, as the metrics job would store them.
    samples: tuple[tuple[datetime, str, float], ...] = ()
    permalink: str = ""


@dataclass(frozen=True)
class FixturePost:
    title: str
    campaign: str | None
    channels: tuple[str, ...]


POSTS = (
    FixturePost(
        "Cảnh giác lừa đảo qua điện thoại", "Chống lừa đảo", ("tinh-fb", "tinh-zalo", "xa-fb")
    ),
    FixturePost("Đội mũ bảo hiểm đúng cách", "An toàn giao thông", ("tinh-fb", "tinh-zalo")),
    FixturePost("Không chuyển tiền cho người lạ", "Chống lừa đảo", ("tinh-fb", "xa-fb")),
    FixturePost("Lịch tiếp công dân", None, ("xa-fb",)),
    FixturePost("Bài chưa có số liệu", None, ("tinh-fb",)),
    FixturePost("Tuần trước: phòng cháy", "An toàn giao thông", ("tinh-fb", "xa-fb")),
    FixturePost("Bài bị lỗi", None, ("tinh-fb", "xa-fb")),
)


def _series(seed: int, published: datetime, *, grows: bool = True) -> tuple:
    """Samples at each offset; values grow (or, for ``grows=False``, reach is revised down)."""
    out = []
    for step, offset in enumerate(OFFSETS, start=1):
        at = published + offset
        views = 100 * seed + 37 * step * step
        out += [
            (at, "views", float(views)),
            (at, "reach", float(views * 7 // 10 if grows else views * (9 - step) // 10)),
            (at, "reactions", float(seed * 3 + 5 * step)),
            (at, "comments", float(seed + step)),
            (at, "shares", float(step * (seed % 3))),
            (at, "clicks", float(2 * step)),
        ]
    return tuple(out)


PUBLICATIONS: tuple[Pub, ...] = (
    # In the week: exactly at its start (included).
    Pub(0, "tinh-fb", WEEK_START, _series(7, WEEK_START), "https://facebook.com/1/posts/10"),
    Pub(0, "tinh-zalo", local("2026-11-17 09:05"), _series(5, local("2026-11-17 09:05"))),
    Pub(0, "xa-fb", local("2026-11-17 09:00"), _series(3, local("2026-11-17 09:00"), grows=False)),
    # Last minute of the week (included); its later samples fall after the end.
    # A sample one minute before the end counts; one at the end itself does not.
    Pub(
        1,
        "tinh-fb",
        local("2026-11-22 23:59"),
        (
            (WEEK_END - timedelta(minutes=1), "views", 50.0),
            (WEEK_END - timedelta(minutes=1), "reactions", 4.0),
            (WEEK_END, "views", 999.0),
            (WEEK_END, "reactions", 99.0),
            *_series(11, local("2026-11-22 23:59")),
        ),
    ),
    # Exactly at the end: next week (excluded).
    Pub(1, "tinh-zalo", WEEK_END, _series(9, WEEK_END)),
    Pub(2, "tinh-fb", local("2026-11-19 20:00"), _series(4, local("2026-11-19 20:00"))),
    Pub(2, "xa-fb", local("2026-11-20 07:30"), _series(8, local("2026-11-20 07:30"))),
    Pub(3, "xa-fb", local("2026-11-21 14:00"), _series(2, local("2026-11-21 14:00"))),
    # Published, never measured: counts as a publication with zero figures.
    Pub(4, "tinh-fb", local("2026-11-18 10:00")),
    # The week before (for the change column).
    Pub(5, "tinh-fb", local("2026-11-15 23:59"), _series(6, local("2026-11-15 23:59"))),
    Pub(5, "xa-fb", local("2026-11-10 08:00"), _series(1, local("2026-11-10 08:00"))),
)

#: Deliveries that went wrong: (post index, channel, state, error class, code, message).
PROBLEMS = (
    (6, "tinh-fb", DeliveryState.FAILED, "PermanentError", "368", "Nội dung vi phạm tiêu chuẩn"),
    (6, "xa-fb", DeliveryState.NEEDS_REVIEW, "Uncertain", None, "timeout after publish"),
)


@dataclass
class Dataset:
    """What the fixture wrote: post ids by fixture index, delivery ids by (index, channel)."""

    post_ids: dict[int, int] = field(default_factory=dict)
    delivery_ids: dict[tuple[int, str], int] = field(default_factory=dict)


@pytest.fixture
def dataset(engine: Engine, make_queue) -> Dataset:
    """The fixture posts created and approved through the queue, then published and measured."""
    data = Dataset()
    author, chief = make_queue("officer"), make_queue("chief")
    for index, post in enumerate(POSTS):
        created = author.create(
            PostInput(
                text=f"{post.title}. Nội dung tuyên truyền số {index}.",
                title=post.title,
                channels=list(post.channels),
                campaign=post.campaign,
            ),
            submit=True,
        ).post
        chief.approve(created.id)
        data.post_ids[index] = created.id
    with Session(engine) as session:
        deliveries = session.exec(select(Delivery)).all()
        by_key = {}
        for d in deliveries:
            index = next(i for i, pid in data.post_ids.items() if pid == d.post_id)
            by_key[(index, d.channel)] = d
            data.delivery_ids[(index, d.channel)] = d.id
        for pub in PUBLICATIONS:
            d = by_key[(pub.post, pub.channel)]
            d.state = DeliveryState.PUBLISHED
            d.published_at = pub.published.astimezone(UTC)
            d.remote_id = f"remote-{d.id}"
            d.permalink = pub.permalink or f"https://example.vn/{pub.channel}/{d.id}"
            session.add(d)
            session.add_all(
                MetricSample(delivery_id=d.id, collected_at=at.astimezone(UTC), name=n, value=v)
                for at, n, v in pub.samples
            )
        for index, channel, state, error_class, code, message in PROBLEMS:
            d = by_key[(index, channel)]
            d.state = state
            d.last_error_class = error_class
            d.last_error_code = code
            d.last_error_message = message
            session.add(d)
        session.commit()
    return data


def permalink_of(pub: Pub, data: Dataset) -> str:
    """The permalink the fixture gave ``pub``."""
    return (
        pub.permalink
        or f"https://example.vn/{pub.channel}/{data.delivery_ids[(pub.post, pub.channel)]}"
    )
