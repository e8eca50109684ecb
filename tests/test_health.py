"""content.health: one definition of "is the queue moving", on both databases, on a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from content.db import session_scope
from content.health import (
    LATE_AFTER,
    SILENT_AFTER,
    Problem,
    is_late,
    read_health,
)
from content.models import ChannelState, DaemonHeartbeat, Delivery, DeliveryState
from content.queue import PostInput
from tests.helpers import approved_post


@pytest.fixture
def scheduled(make_queue, clock):
    """``scheduled(channels, minutes)``: an approved post due ``minutes`` from now (or now)."""

    def make(channels=("tinh-fb",), minutes: float = 0) -> int:
        return approved_post(
            make_queue,
            clock,
            channels=channels,
            minutes=minutes,
            text="Cảnh giác lừa đảo qua mạng",
            title="Cảnh giác",
        )

    return make


def beat(engine, clock, worker: str = "server:1", ago: timedelta = timedelta(0)) -> None:
    """A heartbeat written ``ago`` before the clock's now."""
    with session_scope(engine) as session:
        session.merge(
            DaemonHeartbeat(
                worker=worker, started_at=clock.now - timedelta(hours=1), seen_at=clock.now - ago
            )
        )


def test_nothing_waiting_and_no_daemon_is_healthy(engine, clock, make_queue):
    # A draft waits for a person, not for the daemon.
    make_queue("officer").create(PostInput(text="Nháp", channels=["tinh-fb"]))
    health = read_health(engine, clock.now)
    assert health.healthy and health.problems == ()
    assert health.waiting == 0 and not health.daemon_alive


def test_a_waiting_post_with_no_daemon_ever_is_a_problem(engine, clock, scheduled):
    scheduled(minutes=30)
    health = read_health(engine, clock.now)
    assert not health.healthy
    assert health.problems == (Problem("no_daemon", {"since": None, "waiting": 1}),)


def test_a_silent_daemon_is_named_with_when_it_was_last_seen(engine, clock, scheduled):
    scheduled(minutes=30)
    beat(engine, clock, ago=SILENT_AFTER + timedelta(seconds=1))
    health = read_health(engine, clock.now)
    (daemon,) = health.daemons
    assert not daemon.alive
    since = health.problem("no_daemon").params["since"]
    assert since == clock.now - SILENT_AFTER - timedelta(seconds=1)


def test_a_live_daemon_and_nothing_late_is_healthy(engine, clock, scheduled):
    scheduled(minutes=30)
    beat(engine, clock, worker="old:1", ago=timedelta(hours=3))
    beat(engine, clock, worker="server:2", ago=SILENT_AFTER)
    health = read_health(engine, clock.now)
    assert health.healthy and health.daemon_alive
    assert [(d.worker, d.alive) for d in health.daemons] == [("server:2", True), ("old:1", False)]


def test_late_counts_from_the_scheduled_time_not_the_pushed_retry(engine, clock, scheduled):
    post_id = scheduled(channels=("tinh-fb", "tinh-zalo"))
    beat(engine, clock)
    # A failing delivery's retry was pushed 10 minutes on: the post is late all the same.
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == post_id)
            .values(attempts=1, next_attempt_at=clock.now + timedelta(minutes=10))
        )
    clock.advance(seconds=LATE_AFTER.total_seconds() - 1)
    beat(engine, clock)
    assert read_health(engine, clock.now).healthy
    clock.advance(seconds=1)
    health = read_health(engine, clock.now)
    assert health.late == 2
    assert health.problems == (Problem("late", {"n": 2, "posts": 1}),)


def test_failed_review_and_paused_are_problems_in_order(engine, clock, scheduled, make_queue):
    first = scheduled(channels=("tinh-fb", "tinh-zalo"))
    cancelled = scheduled(channels=("xa-fb",), minutes=30)
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == first, Delivery.channel == "tinh-fb")
            .values(state=DeliveryState.FAILED, next_attempt_at=None)
        )
        session.execute(
            update(Delivery)
            .where(Delivery.post_id == first, Delivery.channel == "tinh-zalo")
            .values(state=DeliveryState.NEEDS_REVIEW, next_attempt_at=None)
        )
        session.add(
            ChannelState(
                channel="tinh-zalo", paused=True, paused_reason="-216", updated_at=clock.now
            )
        )
    make_queue("chief").cancel(cancelled)
    health = read_health(engine, clock.now)
    # Nothing waits (the cancelled post's delivery is cancelled): no daemon is no problem.
    assert [p.code for p in health.problems] == ["failed", "needs_review", "paused"]
    assert health.problem("failed").params == {"n": 1}
    assert health.problem("needs_review").params == {"n": 1}
    assert health.problem("paused").params == {"channels": ["tinh-zalo"]}


def test_a_ward_officer_counts_only_his_units(engine, clock, scheduled):
    scheduled(channels=("tinh-fb",))
    scheduled(channels=("xa-fb",))
    scheduled(channels=("xa-fb",))
    clock.advance(minutes=10)
    with session_scope(engine) as session:
        session.add(ChannelState(channel="tinh-zalo", paused=True, updated_at=clock.now))
    ward = read_health(engine, clock.now, visible=frozenset({"xa-fb"}))
    assert (ward.late, ward.waiting, ward.paused) == (2, 2, ())
    assert [p.code for p in ward.problems] == ["no_daemon", "late"]
    province = read_health(engine, clock.now)
    assert (province.late, province.paused) == (3, ("tinh-zalo",))
    nothing = read_health(engine, clock.now, visible=frozenset())
    assert nothing.healthy


def test_is_late_is_the_rows_view_of_the_same_rule(clock):
    due = clock.now - LATE_AFTER
    assert is_late(due, ["published", "pending"], clock.now)
    assert not is_late(due + timedelta(seconds=1), ["pending"], clock.now)
    assert not is_late(due, ["published", "sending"], clock.now)
    assert not is_late(None, ["pending"], clock.now)
