"""Acceptance: `loa backup` taken in the middle of a 1,000-delivery burst restores to exactly
what the database held at that moment.

The daemon publishes 250 posts to four Facebook Pages of the sandbox over real HTTP. When
part of the burst is out, the test holds the database's write lock just long enough to read
every post and delivery and to run the backup: both then describe the same moment, while the
daemon keeps publishing and waits only for that lock. The burst goes on, and the restore
brings back the mid-burst posts and deliveries row for row, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, text
from sqlmodel import func, select

from content.backup import BackupInfo, backup
from content.db import session_scope
from content.models import Delivery, DeliveryState, Post
from content.queue import fingerprint
from content.search import search_text
from sandbox.testing import running_sandbox
from scheduler.cli import main
from scheduler.config import load
from scheduler.daemon import DaemonSettings
from scheduler.runtime import build_daemon

PAGES = 4
POSTS = 250  # x 4 Pages: 1,000 deliveries
POST_COLUMNS = "id, state, title, text, scheduled_at, updated_at, fingerprint"
DELIVERY_COLUMNS = (
    "id, post_id, channel, state, attempts, remote_id, permalink, published_at, "
    "claimed_by, next_attempt_at, last_error_code, updated_at"
)

Rows = dict[str, list[tuple[Any, ...]]]


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def _config(path: Path, graph_url: str, page_ids: list[str]) -> Path:
    pages = "".join(
        f"""
[channels.page{i}]
kind = "facebook"
name = "Trang {i}"
page_id = "{page}"
base_url = "{graph_url}"
token = {{ env = "BURST_TOKEN_{i}" }}
"""
        for i, page in enumerate(page_ids)
    )
    path.write_text(f'[office]\nname = "Burst"\n{pages}', encoding="utf-8")
    return path


def _read(conn: Connection) -> Rows:
    """Every post and delivery, as plain tuples in id order."""
    return {
        "post": [
            tuple(r) for r in conn.execute(text(f"SELECT {POST_COLUMNS} FROM post ORDER BY id"))
        ],
        "delivery": [
            tuple(r)
            for r in conn.execute(text(f"SELECT {DELIVERY_COLUMNS} FROM delivery ORDER BY id"))
        ],
    }


@contextmanager
def _writes_held(engine: Engine) -> Iterator[Connection]:
    """Hold off every writer of posts and deliveries (readers go on) until the block ends."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock; WAL readers go on
        else:
            conn.begin()
            # Waits for writers in flight to commit, then admits only readers (pg_dump too).
            conn.execute(text("LOCK TABLE post, delivery IN EXCLUSIVE MODE"))
        try:
            yield conn
        finally:
            conn.rollback()


def _queue_burst(engine: Engine, channels: list[str], due: datetime) -> None:
    """POSTS approved posts, each to every channel, due at ``due``: the rows the queue leaves
    (post ``scheduled``, deliveries ``pending`` at the post's time), written in one go as
    bench/common.py does; the queue's own checks take seconds per hundred posts, and
    what is under test here is the backup, not the queue."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for n in range(POSTS):
            body = f"Cảnh giác lừa đảo qua mạng, bài {n}"
            post_id = conn.execute(
                insert(Post).returning(Post.id),
                dict(text=body, image_ids=[], author="lan", tags=[], state="scheduled",
                     scheduled_at=due, fingerprint=fingerprint(body), approved_by="minh",
                     created_at=now, updated_at=now, search_text=search_text(None, body, "lan")),
            ).scalar_one()  # fmt: skip
            conn.execute(
                insert(Delivery),
                [
                    dict(
                        post_id=post_id,
                        channel=c,
                        state="pending",
                        attempts=0,
                        next_attempt_at=due,
                        updated_at=now,
                    )  # fmt: skip
                    for c in channels
                ],
            )


def _copy_and_backup(engine: Engine, out: Path) -> tuple[Rows, BackupInfo]:
    with _writes_held(engine) as conn:
        copy = _read(conn)
        info = backup(engine, out)
    return copy, info


def _published(engine: Engine) -> int:
    with session_scope(engine, write=False) as session:
        query = select(func.count()).select_from(Delivery)
        return int(session.exec(query.where(Delivery.state == DeliveryState.PUBLISHED)).one())


async def _until(condition: Callable[[], bool], limit: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await asyncio.to_thread(condition):
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_a_backup_in_the_middle_of_a_burst_restores_that_moment(
    engine, db_url, tmp_path, monkeypatch, capsys
):
    if engine.dialect.name != "sqlite" and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (Debian: postgresql-client)")
    with running_sandbox(seed=5, pages=PAGES, graph_call_budget=1_000_000) as sb:
        for i, page in enumerate(sb.page_ids):
            monkeypatch.setenv(f"BURST_TOKEN_{i}", sb.page_token(page))
        config = load(_config(tmp_path / "channels.toml", sb.graph_url, sb.page_ids))
        channels = list(config.channels)
        _queue_burst(engine, channels, datetime.now(UTC))
        daemon = build_daemon(
            config, engine, settings=DaemonSettings(poll_seconds=0.1, shutdown_grace_seconds=10)
        )
        out = tmp_path / ("mid-burst.db" if engine.dialect.name == "sqlite" else "mid-burst.dump")

        async def burst() -> tuple[Rows, BackupInfo]:
            task = asyncio.create_task(daemon.run_forever())
            try:
                await _until(lambda: _published(engine) >= 150)
                taken = await asyncio.to_thread(_copy_and_backup, engine, out)
                # The burst goes on after the copy (a restore then has something to undo).
                after = _published(engine)
                await _until(lambda: _published(engine) >= after + 100)
            finally:
                daemon.stop()
                await task
                await daemon.close()
            return taken

        copy, info = asyncio.run(burst())

    published = sum(1 for d in copy["delivery"] if d[3] == DeliveryState.PUBLISHED)
    # The moment was in the middle of the burst: some out, some still to go.
    assert 150 <= published < PAGES * POSTS
    assert _published(engine) >= published + 100  # and the database moved on since
    assert (
        (info.posts, info.deliveries)
        == (POSTS, PAGES * POSTS)
        == (
            len(copy["post"]),
            len(copy["delivery"]),
        )
    )

    # Restore with the command an office runs (the daemon stopped: its heartbeat is gone).
    monkeypatch.setenv("LOA_LANG", "en")
    assert main(["--db", db_url, "restore", str(out)]) == 0
    assert "restored from" in capsys.readouterr().out
    with engine.connect() as conn:
        restored = _read(conn)
    assert restored["post"] == copy["post"]
    assert restored["delivery"] == copy["delivery"]
