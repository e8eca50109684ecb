"""On SQLite the dispatcher claims and records on the event loop's own thread when the write
lock is free at once, and in a worker thread when another writer holds it (never stopping
the loop for the busy timeout); on PostgreSQL always in a worker thread."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading

import pytest
from sqlalchemy import event
from sqlmodel import select

from content.db import WriteLockBusy, make_engine, session_scope, without_waiting
from content.models import Delivery
from scheduler.channels.base import Published
from scheduler.dispatch import Dispatcher
from tests.helpers import ScriptedChannel, approved_post

CHANNELS = ("tinh-fb", "tinh-zalo")


@pytest.fixture
def watched(engine, make_queue, clock):
    """A dispatcher for a Page and an OA whose claims note the thread they ran on."""
    threads: list[str] = []
    entered = threading.Event()

    class Watched(Dispatcher):
        def _claim_and_load(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            threads.append(threading.current_thread().name)
            if threading.current_thread() is not threading.main_thread():
                entered.set()
            return super()._claim_and_load(*args, **kwargs)

    channels = {
        name: ScriptedChannel(name, [Published(f"{name}-1", f"https://x.example/{name}-1")])
        for name in CHANNELS
    }
    dispatcher = Watched(
        engine,
        channels,
        make_queue("daemon"),
        worker="test-worker",
        clock=clock,
        rng=random.Random(7),
    )
    return dispatcher, threads, entered


def published(engine) -> list[str]:
    with session_scope(engine, write=False) as session:
        return sorted(d.channel for d in session.exec(select(Delivery)) if d.state == "published")


def test_claims_run_on_the_loops_thread_on_sqlite_and_in_a_worker_on_postgresql(
    engine, make_queue, clock, watched
):
    dispatcher, threads, _ = watched
    approved_post(make_queue, clock, channels=CHANNELS, title="Cảnh báo")
    results = asyncio.run(dispatcher.run_due())
    assert sorted(r.outcome for r in results) == ["published", "published"]
    on_loop = {name == threading.main_thread().name for name in threads}
    assert on_loop == {engine.dialect.name == "sqlite"}
    assert published(engine) == sorted(CHANNELS)


@pytest.mark.one_database
def test_while_another_writer_holds_the_lock_the_claim_waits_in_a_thread(
    engine, make_queue, clock, watched
):
    dispatcher, threads, entered = watched
    approved_post(make_queue, clock, channels=CHANNELS, title="Cảnh báo")
    # Another process's long write (an officer's import, say) holds SQLite's write lock.
    other = sqlite3.connect(engine.url.database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    def release_once_the_thread_waits() -> None:
        assert entered.wait(30)
        other.execute("COMMIT")

    releaser = threading.Thread(target=release_once_the_thread_waits)
    releaser.start()
    results = asyncio.run(dispatcher.run_due())
    releaser.join(30)
    other.close()
    assert sorted(r.outcome for r in results) == ["published", "published"]
    # First on the loop (refused at once, nothing done), then in a worker thread.
    assert threads[0] == threading.main_thread().name
    assert threads[1] != threading.main_thread().name
    assert published(engine) == sorted(CHANNELS)


def _busy_timeout_after_a_refusal(engine) -> int:
    """Try a write without waiting while another connection holds the lock (refused at
    once), then read the busy timeout the connection has from then on."""
    other = sqlite3.connect(engine.url.database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(WriteLockBusy), without_waiting(), session_scope(engine):
        pass
    other.execute("COMMIT")
    other.close()
    with session_scope(engine) as session:
        return int(session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar_one())


@pytest.mark.one_database
def test_without_waiting_refuses_at_once_and_puts_the_busy_timeout_back(engine):
    assert _busy_timeout_after_a_refusal(engine) == 15_000


@pytest.mark.one_database
def test_without_waiting_keeps_an_engines_own_busy_timeout(engine):
    """An engine set to wait 200 ms keeps waiting 200 ms after a refused attempt, not the
    default 15 s (a retry in a thread would otherwise wait far longer than asked)."""
    patient = make_engine(str(engine.url))

    @event.listens_for(patient, "connect")
    def short_waits(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    try:
        assert _busy_timeout_after_a_refusal(patient) == 200
    finally:
        patient.dispose()
