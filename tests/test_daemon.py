"""The daemon: wakes at the next due time, shuts down without losing in-flight work."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from content.models import Delivery
from content.queue import PostInput
from content.times import utcnow
from scheduler.channels.base import Published
from scheduler.daemon import Daemon, DaemonAlreadyRunning, DaemonSettings, SingleDaemonLock
from tests.helpers import ScriptedChannel


def _approved(make_queue, at) -> int:
    post = (
        make_queue("officer")
        .create(PostInput(text="Cảnh giác lừa đảo", channels=["tinh-fb"], at=at), submit=True)
        .post
    )
    make_queue("chief").approve(post.id)
    return post.id


async def _until(condition, limit: float = 5.0) -> None:
    """Wait for a condition the daemon brings about (bounded, never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def _daemon(engine, make_queue, channel) -> Daemon:
    return Daemon(
        engine,
        {"tinh-fb": channel},
        make_queue("loa-daemon"),
        settings=DaemonSettings(poll_seconds=0.05, shutdown_grace_seconds=5),
    )


def test_the_dispatch_job_is_armed_at_the_earliest_due_time(engine, make_queue):
    due = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    _approved(make_queue, due)
    daemon = _daemon(engine, make_queue, ScriptedChannel("tinh-fb"))

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await _until(lambda: daemon._scheduler and daemon._scheduler.get_job("dispatch"))
        armed = daemon._scheduler.get_job("dispatch").next_run_time
        daemon.stop()
        await task
        return armed

    assert asyncio.run(scenario()) == due


def test_a_post_added_by_another_process_is_noticed_by_the_poll(engine, make_queue):
    daemon = _daemon(engine, make_queue, ScriptedChannel("tinh-fb"))
    due = (utcnow() + timedelta(days=2)).replace(microsecond=0)

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await _until(lambda: daemon._scheduler is not None)
        assert daemon._scheduler.get_job("dispatch") is None
        await asyncio.to_thread(_approved, make_queue, due)
        await _until(lambda: daemon._scheduler.get_job("dispatch") is not None)
        armed = daemon._scheduler.get_job("dispatch").next_run_time
        daemon.stop()
        await task
        return armed

    assert asyncio.run(scenario()) == due


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


def test_a_dispatch_job_dropped_by_the_scheduler_is_armed_again(engine, make_queue):
    """APScheduler skips (and drops) a date job that fires while a run is in flight; the
    next poll must arm it again even though the due time has not changed."""
    due = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    _approved(make_queue, due)
    daemon = _daemon(engine, make_queue, ScriptedChannel("tinh-fb"))

    async def scenario():
        task = asyncio.create_task(daemon.run_forever())
        await _until(lambda: daemon._scheduler and daemon._scheduler.get_job("dispatch"))
        daemon._scheduler.remove_job("dispatch")  # as a skipped second instance is
        await _until(lambda: daemon._scheduler.get_job("dispatch") is not None)
        armed = daemon._scheduler.get_job("dispatch").next_run_time
        daemon.stop()
        await task
        return armed

    assert asyncio.run(scenario()) == due


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
        await _until(lambda: _states(engine) == ["published", "published"], limit=5)
        daemon.stop()
        await task

    asyncio.run(scenario())
    assert first == 1


def _states(engine) -> list[str]:
    with Session(engine) as session:
        return [d.state for d in session.exec(select(Delivery).order_by(Delivery.id)).all()]
