"""Promises that hold when things go wrong around a post the platform may already have.

* A step of a post the platform accepted (a Zalo article being processed) that keeps failing
  ends in ``needs_review`` with the reason, never ``failed`` (re-posting by hand would make a
  second copy).
* A daemon whose heartbeat went silent loses its claims in seconds, not at the lease.
* A busy database (a SQLite write lock, a PostgreSQL table lock past the lock timeout) loses
  no result: the platform's answer is kept and written when the database answers again,
  with one log line per incident and nothing sent twice.

Every test runs on SQLite and PostgreSQL, with a scripted channel and an injected clock.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, event, text
from sqlmodel import Session, select

from content.db import make_engine
from content.models import Alert, DaemonHeartbeat, Delivery, DeliveryState
from content.queue import PostInput
from scheduler.channels.base import ContentError, Processing, Published, TransientError
from scheduler.dispatch import Dispatcher, RetryPolicy
from tests.helpers import ScriptedChannel


@pytest.fixture
def scheduled(make_queue, clock):
    """``scheduled(channels)``: an approved post due now."""

    def make(channels=("tinh-zalo",), text: str = "Cảnh giác lừa đảo qua mạng") -> int:
        post = (
            make_queue("officer")
            .create(
                PostInput(text=text, title=text[:40], channels=list(channels), at=clock.now),
                submit=True,
            )
            .post
        )
        make_queue("chief").approve(post.id)
        return post.id

    return make


def _dispatcher(engine, queue, clock, channels, worker="daemon-a", **kwargs) -> Dispatcher:
    return Dispatcher(
        engine,
        channels,
        queue,
        worker=worker,
        clock=clock,
        rng=random.Random(3),
        policy=kwargs.pop("policy", RetryPolicy(max_attempts=3, base_delay=10, jitter=0)),
        **kwargs,
    )


def _delivery(engine, post_id: int) -> Delivery:
    with Session(engine) as session:
        return session.exec(select(Delivery).where(Delivery.post_id == post_id)).one()


def _alerts(engine) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert)).all())


def _run_until_settled(d: Dispatcher, engine, post_id: int, clock, runs: int = 10) -> Delivery:
    for _ in range(runs):
        asyncio.run(d.run_due())
        delivery = _delivery(engine, post_id)
        if delivery.next_attempt_at is None:
            return delivery
        clock.now = max(clock.now, delivery.next_attempt_at)
    return delivery


# ---------------------------------------------------------------- accepted, then unconfirmed


def test_an_accepted_article_whose_verify_keeps_failing_ends_in_needs_review(
    engine, scheduled, make_queue, clock
):
    post_id = scheduled()
    failures = [TransientError("Zalo verify: HTTP 502") for _ in range(20)]
    channel = ScriptedChannel(
        "tinh-zalo", [Processing("zalo_verify", "job-1", retry_after=3), *failures]
    )
    d = _dispatcher(engine, make_queue("daemon"), clock, {"tinh-zalo": channel})
    delivery = _run_until_settled(d, engine, post_id, clock)

    assert delivery.state == DeliveryState.NEEDS_REVIEW
    assert delivery.pending_ref == "job-1"  # the job token stays for the person who looks
    assert "accepted it (zalo_verify)" in (delivery.last_error_message or "")
    # The article was created once; every later call only asked about job-1.
    assert [p.pending_ref for p in channel.published] == [None] + ["job-1"] * (
        len(channel.published) - 1
    )
    assert [a.kind for a in _alerts(engine)] == ["needs_review"]


def test_a_verify_that_fails_once_is_asked_again_within_the_same_attempt(
    engine, scheduled, make_queue, clock
):
    post_id = scheduled()
    channel = ScriptedChannel(
        "tinh-zalo",
        [
            Processing("zalo_verify", "job-1", retry_after=3),
            TransientError("Zalo verify: ConnectError"),
            Published("article-1"),
        ],
    )
    d = _dispatcher(engine, make_queue("daemon"), clock, {"tinh-zalo": channel})
    asyncio.run(d.run_due())
    clock.advance(seconds=3)
    asyncio.run(d.run_due())
    delivery = _delivery(engine, post_id)
    assert (delivery.state, delivery.remote_id, delivery.attempts) == ("published", "article-1", 1)


def test_a_step_that_may_have_gone_through_is_not_asked_again_at_once(
    engine, scheduled, make_queue, clock
):
    post_id = scheduled()
    channel = ScriptedChannel(
        "tinh-zalo",
        [
            Processing("zalo_broadcast", "article-1", retry_after=0),
            TransientError("Zalo broadcast: HTTP 500", uncertain=True),
            Published("article-1"),
        ],
    )
    d = _dispatcher(engine, make_queue("daemon"), clock, {"tinh-zalo": channel})
    asyncio.run(d.run_due())  # the article is verified: broadcast next
    asyncio.run(d.run_due())  # the broadcast answers 500: it may have gone out
    delivery = _delivery(engine, post_id)
    assert delivery.state == DeliveryState.PENDING and len(channel.published) == 2
    clock.now = delivery.next_attempt_at
    asyncio.run(d.run_due())
    # The client was told the last broadcast may have gone out (it decides not to repeat it).
    assert channel.published[-1].uncertain is True
    assert _delivery(engine, post_id).state == DeliveryState.PUBLISHED


def test_a_published_post_with_a_warning_raises_an_alert(engine, scheduled, make_queue, clock):
    post_id = scheduled()
    warning = "the broadcast's outcome is unknown; it was not sent again"
    channel = ScriptedChannel("tinh-zalo", [Published("article-1", warning=warning)])
    d = _dispatcher(engine, make_queue("daemon"), clock, {"tinh-zalo": channel})
    asyncio.run(d.run_due())
    assert _delivery(engine, post_id).state == DeliveryState.PUBLISHED
    (alert,) = _alerts(engine)
    assert alert.kind == "published_with_warning" and warning in alert.message


# ---------------------------------------------------------------- heartbeats


def test_a_silent_daemons_claims_are_taken_back_without_waiting_for_the_lease(
    engine, scheduled, make_queue, clock
):
    post_id = scheduled(channels=("tinh-fb",))
    dead = _dispatcher(engine, make_queue("daemon"), clock, {}, worker="host1:100")
    live = _dispatcher(engine, make_queue("daemon"), clock, {}, worker="host2:200")
    dead.beat()
    live.beat()
    assert dead.claim(10)  # ... and then it is killed: no more heartbeats

    clock.advance(seconds=20)
    live.beat()
    assert live.recover() == []  # 20 s of silence is a slow daemon, not a dead one

    clock.advance(seconds=15)
    live.beat()
    assert live.recover() == [_delivery(engine, post_id).id]
    delivery = _delivery(engine, post_id)
    assert delivery.state == DeliveryState.PENDING and delivery.last_error_class == "uncertain"
    with Session(engine) as session:
        assert [h.worker for h in session.exec(select(DaemonHeartbeat)).all()] == ["host2:200"]


def test_a_daemon_killed_before_its_first_poll_is_taken_over_when_silent(
    engine, scheduled, make_queue, clock
):
    """Its pipeline may claim before its first poll has beaten: the claim beats first, so
    the other daemons see it go silent instead of waiting out the lease."""
    post_id = scheduled(channels=("tinh-fb",))
    dead = _dispatcher(engine, make_queue("daemon"), clock, {}, worker="host1:100")
    live = _dispatcher(engine, make_queue("daemon"), clock, {}, worker="host2:200")
    assert dead.claim(10)  # its first act, then it is killed

    clock.advance(seconds=35)
    live.beat()
    assert live.recover() == [_delivery(engine, post_id).id]


def test_a_daemon_that_has_not_beaten_lately_judges_no_one(engine, scheduled, make_queue, clock):
    scheduled(channels=("tinh-fb",))
    other = _dispatcher(engine, make_queue("daemon"), clock, {}, worker="host1:100")
    me = _dispatcher(engine, make_queue("daemon"), clock, {}, worker="host2:200")
    other.beat()
    me.beat()
    assert other.claim(10)
    # The database was away for a minute: every heartbeat is old, mine too.
    clock.advance(minutes=1)
    assert me.recover() == []
    # Once I have beaten again, the other daemon had the same chance: still silent, so dead.
    me.beat()
    assert len(me.recover()) == 1


def test_a_live_daemon_keeps_its_claims(engine, scheduled, make_queue, clock):
    scheduled(channels=("tinh-fb",))
    busy = _dispatcher(engine, make_queue("daemon"), clock, {}, worker="host1:100")
    other = _dispatcher(engine, make_queue("daemon"), clock, {}, worker="host2:200")
    busy.beat()
    assert busy.claim(10)
    for _ in range(4):  # two minutes of polls, both alive
        clock.advance(seconds=30)
        busy.beat()
        other.beat()
        assert other.recover() == []


# ---------------------------------------------------------------- a busy database


class _DatabaseLock:
    """Holds the database's write lock from another connection (another process would)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self._sqlite: sqlite3.Connection | None = None
        self._pg = None

    def take(self) -> None:
        if self.engine.dialect.name == "sqlite":
            self._sqlite = sqlite3.connect(
                self.engine.url.database, isolation_level=None, check_same_thread=False
            )
            self._sqlite.execute("BEGIN IMMEDIATE")
        else:
            admin = create_engine(self.engine.url)
            self._pg = admin.connect()
            self._pg.execute(text("LOCK TABLE delivery, post IN ACCESS EXCLUSIVE MODE"))

    def release(self) -> None:
        if self._sqlite is not None:
            self._sqlite.rollback()
            self._sqlite.close()
        if self._pg is not None:
            self._pg.rollback()
            self._pg.close()


class _LockingChannel(ScriptedChannel):
    """Publishes, and in that instant another process takes the database's write lock."""

    def __init__(self, channel_id: str, lock: _DatabaseLock) -> None:
        super().__init__(channel_id)
        self.lock = lock

    async def publish(self, post):
        answer = await super().publish(post)
        if len(self.published) == 1:
            self.lock.take()
        return answer


def _impatient_engine(url: str):
    """The dispatcher's engine, giving up on a held lock after a fraction of a second."""
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def short_waits(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA busy_timeout=200")
        else:
            cursor.execute("SET lock_timeout = 200")
            dbapi_connection.commit()  # a SET in a transaction rolled back later is undone
        cursor.close()

    return engine


def test_a_busy_database_loses_no_result_and_sends_nothing_twice(
    engine, db_url, scheduled, make_queue, clock, caplog
):
    first, second = scheduled(text="Bài một"), scheduled(text="Bài hai")
    lock = _DatabaseLock(engine)
    channel = _LockingChannel("tinh-zalo", lock)
    impatient = _impatient_engine(db_url)
    d = _dispatcher(
        impatient,
        make_queue("daemon"),
        clock,
        {"tinh-zalo": channel},
        default_per_channel=1,  # the second post is claimed while the lock is held
        lane_depth=1,
        hold_first_wait=0.05,
        hold_max_wait=0.2,
    )

    def release_after_a_few_tries() -> None:
        while d.outage.failures < 3:
            threading.Event().wait(0.02)
        lock.release()

    releaser = threading.Thread(target=release_after_a_few_tries, daemon=True)
    releaser.start()
    with caplog.at_level(logging.INFO, logger="loa"):
        results = asyncio.run(d.run_due())
    releaser.join(timeout=10)

    published = _delivery(engine, first)
    assert (published.state, published.remote_id, published.claimed_by) == ("published", "p1", None)
    assert [r.outcome for r in results] == ["published"]
    # The second post could not be claimed while the lock was held: it waits, unsent.
    assert _delivery(engine, second).state == DeliveryState.PENDING
    assert len(channel.published) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings  # one line when it starts, one when it ends
    assert warnings[0].startswith("database unavailable while ")
    assert warnings[1].startswith("database answers again after ")
    assert not any(r.exc_info for r in caplog.records)
    impatient.dispose()
    # And the next run sends the second post, once.
    d.engine = engine
    asyncio.run(d.run_due())
    assert _delivery(engine, second).state == DeliveryState.PUBLISHED
    assert len(channel.published) == 2


def test_results_held_past_the_lease_are_given_up_and_looked_up_later(
    engine, db_url, scheduled, make_queue, clock
):
    post_id = scheduled()
    lock = _DatabaseLock(engine)
    channel = _LockingChannel("tinh-zalo", lock)
    impatient = _impatient_engine(db_url)
    d = _dispatcher(
        impatient,
        make_queue("daemon"),
        clock,
        {"tinh-zalo": channel},
        hold_first_wait=0.05,
        hold_max_wait=0.1,
        lease=timedelta(seconds=0.5),
    )
    try:
        assert asyncio.run(d.run_due()) == []
    finally:
        lock.release()
        impatient.dispose()
    # Still claimed: the next recovery turns it into an uncertain retry, looked up first.
    assert _delivery(engine, post_id).state == DeliveryState.SENDING


def test_a_post_retried_past_its_time_counts_as_late(engine, scheduled, make_queue, clock):
    """Due 08:00, failing, next retry 08:05: at 08:02 `loa status` says it is late (it was
    counted from the retry time, so a post that never left looked fine)."""
    from scheduler.status import queue_status

    scheduled(channels=("tinh-fb",))
    channel = ScriptedChannel("tinh-fb", [TransientError("HTTP 503")])
    policy = RetryPolicy(base_delay=300, jitter=0)
    d = _dispatcher(engine, make_queue("daemon"), clock, {"tinh-fb": channel}, policy=policy)
    asyncio.run(d.run_due())
    clock.advance(minutes=2)
    report = queue_status(engine, clock.now, ["tinh-fb"])
    assert (report.waiting, report.due_now, report.late) == (1, 0, 1)


def test_a_look_up_the_platform_refuses_leaves_the_post_uncertain_not_failed(
    engine, scheduled, make_queue, clock
):
    post_id = scheduled(channels=("tinh-fb",))
    channel = ScriptedChannel(
        "tinh-fb",
        [TransientError("HTTP 502", uncertain=True)],
        found=ContentError("(#100) Unsupported get request"),
    )
    d = _dispatcher(engine, make_queue("daemon"), clock, {"tinh-fb": channel})
    asyncio.run(d.run_due())
    clock.now = _delivery(engine, post_id).next_attempt_at
    asyncio.run(d.run_due())
    delivery = _delivery(engine, post_id)
    assert (delivery.state, delivery.last_error_class) == ("pending", "uncertain")
    assert len(channel.published) == 1  # never sent again while the look-up cannot tell
