"""The daemon: wakes at the next due time, shuts down without losing in-flight work."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from content.models import DaemonHeartbeat, Delivery
from content.queue import PostInput
from content.times import utcnow
from scheduler.channels.base import Published
from scheduler.daemon import Daemon, DaemonAlreadyRunning, DaemonSettings, SingleDaemonLock
from tests.helpers import ScriptedChannel, until


def _approved(make_queue, at) -> int:
    post = (
        make_queue("officer")
        .create(PostInput(text="Cảnh giác lừa đảo", channels=["tinh-fb"], at=at), submit=True)
        .post
    )
    make_queue("chief").approve(post.id)
    return post.id


class Recording(ScriptedChannel):
    """Publishes at once and notes when each post went out, by the daemon's (real) clock."""

    def __init__(self) -> None:
        super().__init__("tinh-fb")
        self.times: list[datetime] = []

    async def publish(self, post):
        self.times.append(utcnow())
        return await super().publish(post)


def _daemon(engine, make_queue, channel, poll_seconds: float = 0.05) -> Daemon:
    return Daemon(
        engine,
        {"tinh-fb": channel},
        make_queue("loa-daemon"),
        settings=DaemonSettings(poll_seconds=poll_seconds, shutdown_grace_seconds=5),
    )


def test_a_post_goes_out_at_its_due_time_without_waiting_for_the_next_poll(engine, make_queue):
    due = utcnow() + timedelta(seconds=0.5)
    _approved(make_queue, due)
    channel = Recording()
    # Polls an hour apart: the start-up poll is the only one, so only the dispatch it arms
    # for the due time can publish the post in this test.
    daemon = _daemon(engine, make_queue, channel, poll_seconds=3600)

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await until(lambda: channel.times, "the post to go out", timeout=10)
        daemon.stop()
        await task

    asyncio.run(scenario())
    assert due <= channel.times[0] < due + timedelta(seconds=5)


def test_a_post_added_by_another_process_is_noticed_by_the_poll(engine, make_queue):
    channel = Recording()
    daemon = _daemon(engine, make_queue, channel)

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await until(lambda: daemon.last_tick is not None, "the first poll")
        due = utcnow() + timedelta(seconds=0.3)
        await asyncio.to_thread(_approved, make_queue, due)
        await until(lambda: channel.times, "the post to go out", timeout=10)
        daemon.stop()
        await task
        return due

    due = asyncio.run(scenario())
    assert len(channel.times) == 1 and channel.times[0] >= due


def test_stop_lets_an_in_flight_publish_finish_and_records_it(engine, make_queue):
    post_id = _approved(make_queue, utcnow())
    entered, release = asyncio.Event(), asyncio.Event()

    class Slow(ScriptedChannel):
        async def publish(self, post):
            entered.set()
            await release.wait()
            return Published("100_1")

    daemon = _daemon(engine, make_queue, Slow("tinh-fb"))

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await entered.wait()
        daemon.stop()
        await asyncio.sleep(0)
        assert not task.done()
        release.set()
        await task

    asyncio.run(scenario())
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.post_id == post_id)).one()
    assert (delivery.state, delivery.remote_id) == ("published", "100_1")


def test_run_once_publishes_what_is_due_and_returns(engine, make_queue):
    post_id = _approved(make_queue, utcnow())
    channel = ScriptedChannel("tinh-fb")
    asyncio.run(_daemon(engine, make_queue, channel).run_once())
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.post_id == post_id)).one()
    assert delivery.state == "published" and len(channel.published) == 1


def test_a_second_daemon_on_one_sqlite_database_is_refused(tmp_path: Path):
    database = tmp_path / "loa.db"
    with SingleDaemonLock(database):
        with pytest.raises(DaemonAlreadyRunning, match="already running on .*loa.db"):
            with SingleDaemonLock(database):
                pass
    with SingleDaemonLock(database):  # released on exit
        pass


class Holding(ScriptedChannel):
    """Holds the first delivery's publish until ``release`` is set; notes when each went out."""

    def __init__(self) -> None:
        super().__init__("tinh-fb")
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        self.times: dict[int, datetime] = {}

    async def publish(self, post):
        self.published.append(post)
        self.times[post.delivery_id] = utcnow()
        if post.delivery_id == 1:
            self.entered.set()
            await self.release.wait()
        return Published(f"100_{post.delivery_id}")


def test_a_post_due_while_another_publish_is_in_flight_leaves_at_its_own_time(engine, make_queue):
    """Each channel is a lane with several slots: a slow call does not hold back the next
    post, which leaves when it falls due (not when the slow call ends, nor at a poll)."""
    _approved(make_queue, utcnow())
    channel = Holding()
    daemon = _daemon(engine, make_queue, channel, poll_seconds=3600)

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await channel.entered.wait()
        due = utcnow() + timedelta(seconds=0.3)
        await asyncio.to_thread(_approved, make_queue, due)
        daemon.dispatcher.wake()  # what the poll does once it sees the new post
        await until(lambda: _states(engine) == ["sending", "published"], "the second post")
        channel.release.set()
        await until(lambda: _states(engine) == ["published", "published"], "both published")
        daemon.stop()
        await task
        return due

    due = asyncio.run(scenario())
    assert len(channel.published) == 2 and channel.times[2] >= due


def test_a_post_due_while_its_channel_has_no_free_slot_goes_out_once_one_frees(engine, make_queue):
    """With one slot per channel, the post due while the slot is held is not sent beside it
    (the platform sees one call at a time) and goes out, once, as soon as the held publish
    ends."""
    _approved(make_queue, utcnow())
    channel = Holding()
    daemon = _daemon(engine, make_queue, channel)
    daemon.dispatcher.per_channel = {"tinh-fb": 1}

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await channel.entered.wait()
        due = utcnow() + timedelta(seconds=0.2)
        await asyncio.to_thread(_approved, make_queue, due)
        # Its time comes and polls come after it, still while the slot is held.
        after = due + timedelta(seconds=0.2)
        await until(lambda: daemon.last_tick is not None and daemon.last_tick > after, "polls")
        assert len(channel.published) == 1 and _states(engine)[0] == "sending"
        channel.release.set()
        await until(lambda: _states(engine) == ["published", "published"], "both published")
        daemon.stop()
        await task

    asyncio.run(scenario())
    assert len(channel.published) == 2


def test_a_post_that_falls_due_as_a_run_ends_is_published_without_waiting_for_a_change(
    engine, make_queue
):
    first = _approved(make_queue, utcnow())
    entered, release = asyncio.Event(), asyncio.Event()

    class Holding(ScriptedChannel):
        async def publish(self, post):
            if post.delivery_id == 1:
                entered.set()
                await release.wait()
            return Published(f"100_{post.delivery_id}")

    daemon = _daemon(engine, make_queue, Holding("tinh-fb"))
    daemon.settings.poll_seconds = 3600  # only the dispatch job itself may pick it up

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await entered.wait()
        # Falls due while the first publish is still in flight.
        await asyncio.to_thread(_approved, make_queue, utcnow())
        release.set()
        await until(lambda: _states(engine) == ["published", "published"], "both published")
        daemon.stop()
        await task

    asyncio.run(scenario())
    assert first == 1


def _states(engine) -> list[str]:
    with Session(engine) as session:
        return [d.state for d in session.exec(select(Delivery).order_by(Delivery.id)).all()]


def test_a_job_still_running_at_shutdown_ends_quietly(engine, make_queue, caplog):
    """SIGTERM while a periodic job waits (a metrics round, a health check waiting for a token
    refresh): the job is cancelled with the daemon, logged as such, and no traceback."""
    started = asyncio.Event()

    async def waits_forever() -> None:
        started.set()
        await asyncio.Event().wait()

    daemon = _daemon(engine, make_queue, Recording())
    daemon.add_job("slow", 3600, waits_forever)

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await started.wait()
        daemon.stop()
        await task

    caplog.set_level("INFO")
    asyncio.run(scenario())
    assert "job slow stopped with the daemon" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


def test_a_poll_still_in_its_thread_at_shutdown_leaves_no_heartbeat_behind(engine, make_queue):
    """SIGTERM while the poll's database work runs in its thread (the scheduler's shutdown
    cannot stop a thread): the daemon waits for it before signing off, so no heartbeat
    written after the sign-off says a stopped daemon still runs (`loa restore` refuses then)."""
    daemon = _daemon(engine, make_queue, Recording())
    in_poll, release, beaten = threading.Event(), threading.Event(), threading.Event()
    real_beat = daemon.dispatcher.beat
    calls = []

    def slow_beat() -> None:
        calls.append(1)
        if len(calls) == 2:  # the first poll after start-up
            in_poll.set()
            release.wait(10)
        real_beat()
        if len(calls) == 2:
            beaten.set()

    daemon.dispatcher.beat = slow_beat  # type: ignore[method-assign]

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await asyncio.to_thread(in_poll.wait, 10)
        daemon.stop()
        asyncio.get_running_loop().call_later(0.3, release.set)
        await task

    asyncio.run(scenario())
    assert beaten.wait(10)
    with Session(engine) as session:
        assert session.exec(select(DaemonHeartbeat)).all() == []
