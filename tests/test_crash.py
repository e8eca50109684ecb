"""Crash safety, end to end: `loa daemon` as a real process, killed with SIGKILL mid-burst.

The daemon publishes a 200-delivery burst to the sandbox over real HTTP; it is killed at
random moments and restarted, ten times, then left to finish. Afterwards the sandbox's own
record of what it received is compared with the database: every delivery is published
exactly once, or marked needs_review (and then on the platform at most once). None lost,
none doubled.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
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

POSTS_PER_PAGE = 100
KILLS = 10


def _write_config(path: Path, graph_url: str, pages: list[str]) -> None:
    tables = "\n".join(
        f"""
[channels.page{i}]
kind = "facebook"
name = "Trang {i}"
page_id = "{page}"
base_url = "{graph_url}"
token = {{ env = "CRASH_TOKEN_{i}" }}
timeout_seconds = 5
"""
        for i, page in enumerate(pages)
    )
    path.write_text(
        '[office]\nname = "Crash test"\ntimezone = "Asia/Ho_Chi_Minh"\n' + tables,
        encoding="utf-8",
    )


def _start(db: Path | str, config: Path, env: dict[str, str], log) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scheduler.cli",
            "daemon",
            "--db",
            str(db),
            "--config",
            str(config),
            "--poll-seconds",
            "0.2",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )


def _counts(engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(session.exec(select(Delivery.state)).all())


def test_sigkill_during_a_burst_loses_nothing_and_doubles_nothing(tmp_path: Path):
    rng = random.Random(20261123)
    with running_sandbox(
        seed=5,
        graph_call_budget=1_000_000,
        faults={"*": {"latency_ms": [20, 80]}},
    ) as sandbox:
        pages = sandbox.page_ids[:2]
        config_path = tmp_path / "channels.toml"
        _write_config(config_path, sandbox.graph_url, pages)
        env = dict(os.environ)
        # Keep the credential key out of the working directory (the default with PostgreSQL).
        env["LOA_CREDENTIAL_KEY"] = Fernet.generate_key().decode()
        env.update({f"CRASH_TOKEN_{i}": sandbox.page_token(p) for i, p in enumerate(pages)})
        db = tmp_path / "loa.db"
        engine = open_database(f"sqlite:///{db}")
        config = load(config_path)
        queue = Queue(engine, config.directory(), actor="officer")
        chief = Queue(engine, config.directory(), actor="chief")
        for i in range(POSTS_PER_PAGE):
            text = f"Bài kiểm tra số {i}: cảnh giác lừa đảo"
            post = queue.create(
                PostInput(text=text, channels=["page0", "page1"], at=queue.clock())
            ).post
            queue.submit(post.id)
            chief.approve(post.id)

        with (tmp_path / "daemon.log").open("ab") as log:
            for _ in range(KILLS):
                daemon = _start(db, config_path, env, log)
                time.sleep(rng.uniform(0.4, 1.2))  # a random moment mid-burst
                daemon.send_signal(signal.SIGKILL)
                daemon.wait()
            daemon = _start(db, config_path, env, log)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                counts = _counts(engine)
                if counts[DeliveryState.PENDING] + counts[DeliveryState.SENDING] == 0:
                    break
                time.sleep(0.2)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0

        received = Counter()
        for page in pages:
            for post in sandbox.posts(page):
                received[(page, post["payload"].get("message"))] += 1
        with Session(engine) as session:
            deliveries = session.exec(select(Delivery)).all()
        page_of = {"page0": pages[0], "page1": pages[1]}
        with Session(engine) as session:
            text_of = {p.id: p.text for p in session.exec(select(Post)).all()}
        states = Counter(d.state for d in deliveries)
        assert states[DeliveryState.PUBLISHED] + states[DeliveryState.NEEDS_REVIEW] == 200, states
        for delivery in deliveries:
            copies = received[(page_of[delivery.channel], text_of[delivery.post_id])]
            if delivery.state == DeliveryState.PUBLISHED:
                assert copies == 1, f"delivery {delivery.id} is on the page {copies} times"
            else:
                assert copies <= 1, f"delivery {delivery.id} is on the page {copies} times"
        assert sum(received.values()) <= 200
