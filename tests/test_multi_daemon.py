"""Several daemons on one PostgreSQL database: each delivery is published exactly once.

Three `loa daemon` processes share a burst to two Facebook Pages and a Zalo OA; afterwards
the sandbox's own record is compared with the database by channel and content: every post
is on its Page once, every article on the OA once, and the work was shared.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session, select

from content.db import open_database
from content.limits import nfc
from content.models import Delivery, DeliveryState, Post
from content.queue import PostInput, Queue
from sandbox.config import build_config
from sandbox.testing import running_sandbox
from scheduler.config import load
from tests.test_crash import PAGES, PLAIN_OA, _connect_oas, _environment, _write_config

POSTS = 240  # each to both Pages; every third also to the OA: 560 deliveries
DAEMONS = 3


def _loa_daemon(db_url: str, config: Path, env: dict[str, str], log) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "scheduler.cli", "daemon", "--db", db_url]
    command += ["--config", str(config), "--poll-seconds", "0.2"]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log)


def test_three_daemons_share_a_burst_to_pages_and_an_oa_exactly_once(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    media = tmp_path / "media-public"
    media.mkdir()
    config = build_config(
        seed=9,
        oas=2,
        graph_call_budget=1_000_000,
        zalo_rate_limit_per_minute=1_000_000,
        verify_pending_polls=1,
        media_dir=str(media),
        faults={"*": {"latency_ms": [5, 20]}},
    )
    config = replace(config, oas=tuple(replace(o, monthly_article_quota=10**6) for o in config.oas))
    with running_sandbox(config) as sandbox:
        config_path = tmp_path / "channels.toml"
        _write_config(config_path, sandbox, media)
        secrets = _environment(sandbox)
        for name, value in secrets.items():
            monkeypatch.setenv(name, value)
        env = {**os.environ, **secrets}
        engine = open_database(pg_url)
        _connect_oas(config_path, engine)
        loaded = load(config_path)
        author = Queue(engine, loaded.directory(), actor="officer")
        chief = Queue(engine, loaded.directory(), actor="chief")
        requests = [
            PostInput(
                title=f"Phòng chống tội phạm – bài {i}",
                text=f"Bài số {i} – phòng chống tội phạm. Gọi 113 khi nghi ngờ.",
                channels=[*PAGES] + ([PLAIN_OA] if i % 3 == 0 else []),
            )
            for i in range(POSTS)
        ]
        for post in author.create_many(requests, submit=True).posts:
            chief.schedule(post.id, chief.clock())
            chief.approve(post.id)
        total = 2 * POSTS + len(range(0, POSTS, 3))

        with (tmp_path / "daemons.log").open("ab") as log:
            daemons = [_loa_daemon(pg_url, config_path, env, log) for _ in range(DAEMONS)]
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline:
                with Session(engine) as session:
                    states = Counter(session.exec(select(Delivery.state)).all())
                if states[DeliveryState.PUBLISHED] == total:
                    break
                time.sleep(0.2)
            for daemon in daemons:
                daemon.send_signal(signal.SIGTERM)
            assert [d.wait(timeout=30) for d in daemons] == [0] * DAEMONS

        with Session(engine) as session:
            deliveries = session.exec(select(Delivery)).all()
            posts = {p.id: p for p in session.exec(select(Post)).all()}
        assert Counter(d.state for d in deliveries) == {DeliveryState.PUBLISHED: total}
        on_pages = Counter(
            (post["page_id"], post["payload"].get("message"))
            for page in sandbox.page_ids[: len(PAGES)]
            for post in sandbox.posts(page)
        )
        on_oa = Counter(nfc(a["title"]) for a in sandbox.articles(sandbox.oa_ids[0])["articles"])
        page_of = dict(zip(PAGES, sandbox.page_ids, strict=False))
        for delivery in deliveries:
            post = posts[delivery.post_id]
            if delivery.channel == PLAIN_OA:
                assert on_oa[nfc(post.title or "")] == 1, post.title
            else:
                assert on_pages[(page_of[delivery.channel], post.text)] == 1, post.text
        assert sum(on_pages.values()) + sum(on_oa.values()) == total
        log_lines = (tmp_path / "daemons.log").read_text().splitlines()
        publishers = {
            line.split("loa.dispatch[")[1].split("]")[0]
            for line in log_lines
            if "loa.dispatch[" in line and "outcome=published" in line
        }
        assert len(publishers) >= 2, "the work was not shared between the daemons"
        engine.dispose()
