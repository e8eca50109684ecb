"""The platform acted, its answer never came, and the daemon was killed while waiting.

Facebook created the post and Zalo queued the article, but neither answered (the sandbox's
accept-then-timeout fault); `loa daemon` is killed with SIGKILL while both calls hang. Before
it is restarted, 35 more articles appear on the OA (another office's burst): the orphan is no
longer among the 30 newest. After the restart the daemon must find both posts on their
platforms and publish nothing again: one post on the Page, one such article on the OA, both
deliveries `published` with the platform's ids.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from content.models import Delivery, DeliveryState
from content.queue import PostInput, Queue
from sandbox.config import OaIdentity, SandboxConfig, initial_refresh_token
from sandbox.testing import running_sandbox
from scheduler.channels import build_channel
from scheduler.channels.base import MediaBlob
from scheduler.channels.zalo import ZaloOA
from tests.channels.conftest import OA_ID, PAGE_ID, MediaServer, jpeg, make_env
from tests.channels.test_channels_zalo import article_post, drive
from tests.helpers import wait_until

HANG_S = 120.0  # the answer never comes while the daemon lives
NEWER_ARTICLES = 35
TITLE = "Cảnh giác cuộc gọi giả danh công an"
COVER = MediaBlob("bia.jpg", "image/jpeg", jpeg(320, 180))


def _sandbox_config() -> SandboxConfig:
    """Articles ready at the second verify; room in the OA's monthly quota for the burst."""
    oa = OaIdentity(
        OA_ID, "Công an tỉnh Demo", initial_refresh_token(11, OA_ID), monthly_article_quota=100
    )
    return SandboxConfig(seed=11, oas=(oa,), verify_pending_polls=1)


def _daemon(db: Path, config: Path, log) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "scheduler.cli", "daemon", "--db", str(db)]
    command += ["--config", str(config), "--poll-seconds", "0.2"]
    return subprocess.Popen(command, env=dict(os.environ), stdout=log, stderr=log)


def _deliveries(engine) -> dict[str, Delivery]:
    with Session(engine) as session:
        return {d.channel: d for d in session.exec(select(Delivery)).all()}


@pytest.mark.slow
def test_accepted_then_no_answer_then_sigkill_is_published_once_on_both_platforms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media_dir = tmp_path / "media"
    media_dir.mkdir()
    with (
        running_sandbox(_sandbox_config()) as sb,
        MediaServer(media_dir) as media_url,
    ):
        # The restarted daemon looks once the read timeout has passed (the recovery grace).
        env = make_env(sb, tmp_path, monkeypatch, (media_dir, media_url), timeout=5.0)

        async def on_the_oa(count: int) -> None:
            """Fetch the OA's token; then publish ``count`` other articles."""
            zalo = build_channel("tinh-zalo", env.config, engine=env.engine)
            assert isinstance(zalo, ZaloOA)
            try:
                assert (await zalo.health()).ok
                for index in range(count):
                    await drive(zalo, article_post(title=f"Tin khác số {index}", images=[COVER]))
            finally:
                await zalo.aclose()

        # The token first, so the fault below meets the article's create.
        asyncio.run(on_the_oa(0))
        queue = Queue(env.engine, env.config.directory(), actor="officer")
        post = queue.create(
            PostInput(
                title=TITLE,
                text="Công an không gọi điện yêu cầu chuyển tiền. Gọi 113 khi nghi ngờ.",
                channels=["tinh-fb", "tinh-zalo"],
                at=queue.clock(),
            ),
            submit=True,
        ).post
        Queue(env.engine, env.config.directory(), actor="chief").approve(post.id)
        for target in (PAGE_ID, OA_ID):
            sb.set_faults(target, script=["accept_then_timeout"], publish_only=True, hang_s=HANG_S)

        db, config = tmp_path / "loa.db", tmp_path / "channels.toml"
        with (tmp_path / "daemon.log").open("ab") as log:
            daemon = _daemon(db, config, log)
            wait_until(
                lambda: len(sb.posts(PAGE_ID)) == 1 and len(sb.articles(OA_ID)["jobs"]) == 1,
                "the post and the article job to reach the platforms",
                timeout=60,
            )
            assert {d.state for d in _deliveries(env.engine).values()} == {"sending"}
            daemon.send_signal(signal.SIGKILL)
            daemon.wait()
            sb.clear_faults()
            asyncio.run(on_the_oa(NEWER_ARTICLES))

            daemon = _daemon(db, config, log)
            try:
                wait_until(
                    lambda: all(
                        d.state not in (DeliveryState.PENDING, DeliveryState.SENDING)
                        for d in _deliveries(env.engine).values()
                    ),
                    "both deliveries to settle",
                    timeout=120,
                )
            finally:
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=30) == 0

        deliveries = _deliveries(env.engine)
        [fb_post] = sb.posts(PAGE_ID)
        articles = [a for a in sb.articles(OA_ID)["articles"] if a["title"] == TITLE]
        assert len(articles) == 1, articles
        assert deliveries["tinh-fb"].state == DeliveryState.PUBLISHED
        assert deliveries["tinh-fb"].remote_id == fb_post["id"]
        assert deliveries["tinh-zalo"].state == DeliveryState.PUBLISHED
        assert deliveries["tinh-zalo"].remote_id == articles[0]["id"]
        env.engine.dispose()
