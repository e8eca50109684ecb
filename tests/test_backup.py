"""Backups: consistent while posts are being written, restored only when no daemon runs,
and taken automatically before a schema upgrade, which is all or nothing."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, inspect, text
from sqlmodel import select

from content import audit
from content.backup import BackupError, backup, inspect_backup, restore
from content.db import (
    DatabaseError,
    _alembic_config,
    current_revision,
    head_revision,
    make_engine,
    open_database,
    session_scope,
)
from content.models import DaemonHeartbeat, Delivery, Post
from content.queue import PostInput, Queue
from scheduler.cli import main


def _write_posts(queue: Queue, stop: threading.Event, written: list[int]) -> None:
    """Posts to three channels each, as fast as the database takes them."""
    while not stop.is_set():
        outcome = queue.create(
            PostInput(
                title="Cảnh giác",
                text=f"Bài {len(written)}",
                channels=["tinh-fb", "tinh-zalo", "xa-fb"],
            )
        )
        written.append(outcome.post.id or 0)


def _until(condition, writer: threading.Thread, limit: float = 60.0) -> None:
    """Wait for ``condition`` while the writer lives (a dead writer fails the test at once)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert writer.is_alive(), "the writer stopped"
        assert time.monotonic() < deadline, "the writer is stuck"
        time.sleep(0.01)


def _snapshot_is_whole(engine) -> tuple[int, int]:
    """Every post with its three deliveries and an intact audit chain: nothing half-copied."""
    with session_scope(engine, write=False) as session:
        posts = session.exec(select(func.count()).select_from(Post)).one()
        deliveries = session.exec(select(func.count()).select_from(Delivery)).one()
    assert deliveries == 3 * posts
    verdict = audit.verify(engine)
    assert verdict.intact, verdict.problem
    assert verdict.rows == posts  # one "create" row per post
    return int(posts), int(deliveries)


def test_a_backup_taken_while_posts_are_written_is_a_whole_snapshot(
    engine, directory, tmp_path: Path
):
    queue = Queue(engine, directory, actor="lan")
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_write_posts, args=(queue, stop, written))
    writer.start()
    try:
        _until(lambda: len(written) >= 30, writer)
        info = backup(engine, tmp_path / ("copy.db" if engine.dialect.name == "sqlite" else "c"))
        at_backup = len(written)
        _until(lambda: len(written) >= at_backup + 20, writer)  # it goes on after the copy
    finally:
        stop.set()
        writer.join()
    assert info.path.stat().st_mode & 0o077 == 0  # private, like the database
    if engine.dialect.name == "sqlite":
        copy = open_database(f"sqlite:///{info.path}")
        try:
            posts, deliveries = _snapshot_is_whole(copy)
        finally:
            copy.dispose()
        assert (posts, deliveries) == (info.posts, info.deliveries)
    else:
        restore(engine, info.path, silent_after=timedelta(seconds=30))
        posts, _ = _snapshot_is_whole(engine)
        assert posts == info.posts
    assert 30 <= posts < len(written)


def test_restore_brings_the_database_back_to_the_backup(engine, directory, tmp_path: Path):
    queue = Queue(engine, directory, actor="lan")
    kept = queue.create(PostInput(text="Giữ lại", channels=["tinh-fb"])).post
    info = backup(engine, tmp_path / "before.bak")
    queue.create(PostInput(text="Sau bản sao", channels=["tinh-fb"]))
    restored = restore(engine, info.path, silent_after=timedelta(seconds=30))
    assert restored.posts == 1
    with session_scope(engine, write=False) as session:
        texts = session.exec(select(Post.text)).all()
    assert texts == [kept.text]
    assert audit.verify(engine).intact


def test_restore_is_refused_while_a_daemon_runs(engine, directory, tmp_path: Path, clock):
    Queue(engine, directory, actor="lan").create(PostInput(text="Bài", channels=["tinh-fb"]))
    info = backup(engine, tmp_path / "b.bak")
    with session_scope(engine) as session:
        session.add(DaemonHeartbeat(worker="host:123", started_at=clock(), seen_at=clock()))
    with pytest.raises(BackupError, match=r"a daemon is running on this database \(host:123\)"):
        restore(engine, info.path, silent_after=timedelta(seconds=30), clock=clock)
    clock.advance(seconds=31)  # the daemon stopped: its heartbeat went silent
    assert restore(engine, info.path, silent_after=timedelta(seconds=30), clock=clock).posts == 1


def test_cli_backup_and_restore_say_what_they_did_in_one_line(
    sqlite_url, tmp_path: Path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOA_LANG", "en")  # the English wording is asserted
    assert main(["--db", sqlite_url, "backup", "-o", "b.db"]) == 0
    out = capsys.readouterr().out
    assert out == f"backup written to b.db: schema {head_revision()}, 0 posts, 0 deliveries\n"
    assert main(["--db", sqlite_url, "restore", "b.db"]) == 0
    assert "restored from b.db" in capsys.readouterr().out
    (tmp_path / "junk.db").write_bytes(b"not a database at all, just some bytes")
    assert main(["--db", sqlite_url, "restore", "junk.db"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("loa: error: junk.db is not a Loa database") and err.count("\n") == 1
    assert main(["--db", sqlite_url, "backup", "-o", "nowhere/b.db"]) == 2
    assert "directory nowhere does not exist" in capsys.readouterr().err


def _at_revision(url: str, revision: str) -> None:
    engine = open_database(url)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), revision)
    engine.dispose()


def test_an_upgrade_backs_the_old_schema_up_first(tmp_path: Path, caplog, monkeypatch):
    monkeypatch.delenv("LOA_BACKUP_DIR")  # the default: beside the SQLite file
    url = f"sqlite:///{tmp_path / 'loa.db'}"
    _at_revision(url, "0004")
    engine = open_database(url)
    engine.dispose()
    (saved,) = tmp_path.glob("loa.db.before-upgrade-0004-*.bak")
    assert inspect_backup(saved).revision == "0004"
    assert saved.stat().st_mode & 0o077 == 0
    assert "backed up to" in caplog.text


def test_a_failed_upgrade_leaves_the_schema_as_it_was(db_url, monkeypatch):
    _at_revision(db_url, "0004")
    from alembic.operations import Operations

    real = Operations.execute

    def failing(self, sql, *args, **kwargs):  # the trigger step, after the new columns
        if "TRIGGER" in str(sql).upper():
            raise RuntimeError("disk full")
        return real(self, sql, *args, **kwargs)

    monkeypatch.setattr(Operations, "execute", failing)
    with pytest.raises((RuntimeError, DatabaseError)):
        open_database(db_url)
    monkeypatch.setattr(Operations, "execute", real)
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == "0004"
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("auditevent")}
            assert "seq" not in columns
            assert conn.execute(text("SELECT count(*) FROM auditevent")).scalar() == 0
    finally:
        engine.dispose()
