"""Several daemons on one PostgreSQL database: each delivery is published exactly once."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path

from cryptography.fernet import Fernet
from sqlmodel import Session, select

from content.db import open_database
from content.models import Delivery, DeliveryState, Post
from content.queue import PostInput, Queue
from sandbox.testing import running_sandbox
from scheduler.config import load
from tests.test_crash import _start, _write_config

POSTS = 250  # x 2 pages = 500 deliveries
DAEMONS = 3


def test_three_daemons_share_500_due_deliveries_exactly_once(pg_url: str, tmp_path: Path):
    with running_sandbox(
        seed=9, graph_call_budget=1_000_000, faults={"*": {"latency_ms": [5, 20]}}
    ) as sandbox:
        pages = sandbox.page_ids[:2]
        config_path = tmp_path / "channels.toml"
        _write_config(config_path, sandbox.graph_url, pages)
        env = dict(os.environ)
        # Keep the credential key out of the working directory (the default with PostgreSQL).
        env["LOA_CREDENTIAL_KEY"] = Fernet.generate_key().decode()
        env.update({f"CRASH_TOKEN_{i}": sandbox.page_token(p) for i, p in enumerate(pages)})
        engine = open_database(pg_url)
        config = load(config_path)
        author = Queue(engine, config.directory(), actor="officer")
        chief = Queue(engine, config.directory(), actor="chief")
        requests = [
            PostInput(text=f"Bài số {i} – phòng chống tội phạm", channels=["page0", "page1"])
            for i in range(POSTS)
        ]
        for post in author.create_many(requests, submit=True).posts:
            chief.schedule(post.id, chief.clock())
            chief.approve(post.id)

        with (tmp_path / "daemons.log").open("ab") as log:
            daemons = [_start(pg_url, config_path, env, log) for _ in range(DAEMONS)]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with Session(engine) as session:
                    states = Counter(session.exec(select(Delivery.state)).all())
                if states[DeliveryState.PUBLISHED] == 2 * POSTS:
                    break
                time.sleep(0.2)
            for daemon in daemons:
                daemon.send_signal(signal.SIGTERM)
            assert [d.wait(timeout=30) for d in daemons] == [0] * DAEMONS

        with Session(engine) as session:
            deliveries = session.exec(select(Delivery)).all()
            text_of = {p.id: p.text for p in session.exec(select(Post)).all()}
        received = Counter(
            (post["page_id"], post["payload"].get("message"))
            for page in pages
            for post in sandbox.posts(page)
        )
        page_of = {"page0": pages[0], "page1": pages[1]}
        assert Counter(d.state for d in deliveries) == {DeliveryState.PUBLISHED: 2 * POSTS}
        for delivery in deliveries:
            assert received[(page_of[delivery.channel], text_of[delivery.post_id])] == 1
        assert sum(received.values()) == 2 * POSTS
        log_lines = (tmp_path / "daemons.log").read_text().splitlines()
        publishers = {
            line.split("loa.dispatch[")[1].split("]")[0]
            for line in log_lines
            if "loa.dispatch[" in line and "outcome=published" in line
        }
        assert len(publishers) >= 2, "the work was not shared between the daemons"
