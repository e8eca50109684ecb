"""Engagement collection: cadence by age, batching per channel, samples kept as a series."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from content.engagement import latest_metrics
from content.models import Delivery, DeliveryState, MetricSample
from content.queue import PostInput
from scheduler.channels.base import ChannelError
from scheduler.metrics import collect, refresh_interval


class FiguresChannel:
    """Answers fetch_metrics with figures that grow by one each call."""

    kind = "facebook"

    def __init__(self, channel_id: str, fail: bool = False):
        self.id = channel_id
        self.calls: list[list[str]] = []
        self.fail = fail

    async def fetch_metrics(self, remote_ids):
        if self.fail:
            raise ChannelError("(#4) Application request limit reached", code=4)
        self.calls.append(list(remote_ids))
        n = len(self.calls)
        return {r: {"reactions": 10 * n, "views": 100 * n} for r in remote_ids}


@pytest.fixture
def published(engine, make_queue, clock):
    """``published(n, channel)``: n posts published at the current clock time."""

    def make(n: int, channel: str = "tinh-fb") -> list[int]:
        ids = []
        for i in range(n):
            post = (
                make_queue().create(PostInput(text=f"Bài {channel} {i}", channels=[channel])).post
            )
            with Session(engine) as session:
                d = session.exec(select(Delivery).where(Delivery.post_id == post.id)).one()
                d.state = DeliveryState.PUBLISHED
                d.remote_id = f"{channel}_{i}"
                d.published_at = clock.now
                session.add(d)
                session.commit()
                ids.append(d.id)
        return ids

    return make


def test_cadence_slows_down_as_posts_age():
    assert refresh_interval(timedelta(hours=2)) == timedelta(minutes=15)
    assert refresh_interval(timedelta(days=3)) == timedelta(hours=1)
    assert refresh_interval(timedelta(days=20)) == timedelta(days=1)
    assert refresh_interval(timedelta(days=31)) is None


def test_each_channel_is_asked_once_for_all_its_due_posts(engine, published, clock):
    published(3, "tinh-fb")
    published(2, "xa-fb")
    channels = {"tinh-fb": FiguresChannel("tinh-fb"), "xa-fb": FiguresChannel("xa-fb")}
    report = asyncio.run(collect(engine, channels, clock))
    assert (report.asked, report.samples) == (5, 10)
    assert [len(c.calls) for c in channels.values()] == [1, 1]
    assert sorted(channels["tinh-fb"].calls[0]) == ["tinh-fb_0", "tinh-fb_1", "tinh-fb_2"]


def test_a_fresh_post_is_not_asked_again_within_its_interval(engine, published, clock):
    published(1)
    channel = FiguresChannel("tinh-fb")
    asyncio.run(collect(engine, {"tinh-fb": channel}, clock))
    clock.advance(minutes=10)
    assert asyncio.run(collect(engine, {"tinh-fb": channel}, clock)).asked == 0
    clock.advance(minutes=5)
    assert asyncio.run(collect(engine, {"tinh-fb": channel}, clock)).asked == 1


def test_samples_form_a_series_and_the_latest_value_is_readable(engine, published, clock):
    (delivery_id,) = published(1)
    channel = FiguresChannel("tinh-fb")
    asyncio.run(collect(engine, {"tinh-fb": channel}, clock))
    clock.advance(minutes=15)
    asyncio.run(collect(engine, {"tinh-fb": channel}, clock))
    with Session(engine) as session:
        views = session.exec(select(MetricSample.value).where(MetricSample.name == "views")).all()
    assert sorted(views) == [100, 200]
    assert latest_metrics(engine, [delivery_id]) == {delivery_id: {"reactions": 20, "views": 200}}


def test_a_failing_channel_does_not_stop_the_others(engine, published, clock):
    published(1, "tinh-fb")
    published(1, "xa-fb")
    channels = {"tinh-fb": FiguresChannel("tinh-fb", fail=True), "xa-fb": FiguresChannel("xa-fb")}
    report = asyncio.run(collect(engine, channels, clock))
    assert report.failed_channels == {"tinh-fb": "(#4) Application request limit reached"}
    assert report.samples == 2
