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
