"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.channels.base import Health, HealthCheck, OutgoingPost, Published

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def wait_until(
    condition: Callable[[], object], what: str, *, timeout: float = 30.0, every: float = 0.02
) -> None:
    """Wait for something another thread or process brings about, never for a fixed time.

    Checks ``condition`` every ``every`` seconds and fails the test naming ``what`` once
    ``timeout`` seconds have gone by without it (the bound is for a test that went wrong).
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


async def until(
    condition: Callable[[], object], what: str, *, timeout: float = 30.0, every: float = 0.01
) -> None:
    """:func:`wait_until` inside an event loop: the loop keeps running while it waits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(every)


def local(text_value: str) -> datetime:
    """An office-time wall clock value as an aware datetime."""
    return datetime.fromisoformat(text_value).replace(tzinfo=HCM)


class ScriptedChannel:
    """Answers publish() from a script; records every call."""

    kind = "facebook"

    def __init__(self, channel_id: str, answers: Sequence[object] = (), found: object = None):
        self.id = channel_id
        self.answers = list(answers)
        self.found = found
        self.published: list[OutgoingPost] = []
        self.finds: list[OutgoingPost] = []

    async def publish(self, post: OutgoingPost):
        self.published.append(post)
        answer = self.answers.pop(0) if self.answers else Published(f"p{len(self.published)}")
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def find(self, post: OutgoingPost):
        self.finds.append(post)
        if isinstance(self.found, Exception):
            raise self.found
        return self.found

    async def fetch_metrics(self, remote_ids):
        return {}

    async def health(self) -> Health:
        return Health([HealthCheck("token", True, "ok")])

    async def aclose(self) -> None:
        return None


def loa_cli(db_url: str, capsys: Any, monkeypatch: Any) -> Callable[..., tuple[int, str, str]]:
    """``run(*argv)``: `loa` with the repository's channels.toml on ``db_url``, in English;
    returns (exit code, stdout, stderr). The Vietnamese CLI has its own tests."""
    from scheduler.cli import main
    from tests.conftest import REPO

    monkeypatch.setenv("LOA_CONFIG", str(REPO / "channels.toml"))
    monkeypatch.setenv("LOA_LANG", "en")
    monkeypatch.delenv("DATABASE_URL", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def approved_post(
    make_queue: Callable[[str], Any],
    clock: FakeClock,
    *,
    channels: Sequence[str] = ("tinh-fb",),
    minutes: float = 0,
    text: str = "Cảnh giác lừa đảo",
    title: str | None = None,
    author: str = "officer",
    approver: str = "chief",
) -> int:
    """A post ``author`` wrote and ``approver`` approved, due ``minutes`` from the clock's
    now; its id."""
    from content.queue import PostInput

    request = PostInput(
        text=text, title=title, channels=list(channels), at=clock.now + timedelta(minutes=minutes)
    )
    post = make_queue(author).create(request, submit=True).post
    make_queue(approver).approve(post.id)
    return int(post.id)
