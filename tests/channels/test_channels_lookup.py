"""Look-ups of an uncertain post that cannot miss (issue #15).

An uncertain attempt (a create that timed out or answered 5xx after the platform acted) is
looked up before anything is sent again. The look-up must walk the platform's list back to the
post's first attempt however many posts came after it, and say "could not finish" (an error)
rather than "not there" (None) when it stops early: "not there" means "send again".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from content.queue import fingerprint
from sandbox.config import OaIdentity, SandboxConfig, initial_refresh_token
from sandbox.testing import SandboxHandle, running_sandbox
from scheduler.channels import build_channel, facebook, zalo_read
from scheduler.channels.base import MediaBlob, OutgoingPost, Published, TransientError
from scheduler.channels.facebook import FacebookPage
from scheduler.channels.zalo import ZaloOA, created_ms
from tests.channels.conftest import OA_ID, PAGE_ID, Env, jpeg
from tests.channels.test_channels_zalo import article_post, drive
from tests.helpers import FakeClock

#: 10:00 in Vietnam: daytime, so nothing here meets the night ban.
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
GETSLICE = "/zalo/v2.0/article/getslice"
PUBLISHED_POSTS = f"/graph/v21.0/{PAGE_ID}/published_posts"
#: A small cover: the article needs one, and rendering a default card for each of dozens of
#: articles would only slow the tests down.
COVER = MediaBlob("bia.jpg", "image/jpeg", jpeg(320, 180))


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[SandboxHandle]:
    """This module's sandbox, sized for bursts: articles are ready at the first verify (no
    -214 round), and neither the monthly article quota nor Graph's usage budget (both small
    on purpose elsewhere) stops a burst of hundreds of posts."""
    oa = OaIdentity(
        OA_ID, "Công an tỉnh Demo", initial_refresh_token(7, OA_ID), monthly_article_quota=1000
    )
    config = SandboxConfig(seed=7, oas=(oa,), verify_pending_polls=0, graph_call_budget=100_000)
    with running_sandbox(config) as sb:
        yield sb


@pytest.fixture
def clock(env: Env) -> FakeClock:
    """Loa's clock and the sandbox's, both frozen at :data:`T0`."""
    env.sb.set_clock(T0.timestamp())
    return FakeClock(T0)


@pytest.fixture
async def oa(env: Env, clock: FakeClock) -> Any:
    client = build_channel("tinh-zalo", env.config, engine=env.engine, clock=clock)
    assert isinstance(client, ZaloOA)
    await client.health()  # the token first: scripted faults must meet the calls under test
    yield client
    await client.aclose()


@pytest.fixture
async def page(env: Env, clock: FakeClock) -> Any:
    client = build_channel("tinh-fb", env.config, engine=env.engine, clock=clock)
    assert isinstance(client, FacebookPage)
    yield client
    await client.aclose()


def zalo_post(title: str, **kw: Any) -> OutgoingPost:
    """An article post with a small cover, first attempted at :data:`T0` unless told."""
    return article_post(title=title, images=[COVER], **{"first_attempt_at": T0, **kw})


async def publish_articles(oa: ZaloOA, sb: SandboxHandle, count: int, prefix: str) -> None:
    """``count`` articles one minute apart on the sandbox's clock (each created at its verify)."""
    for index in range(count):
        result, _ = await drive(oa, zalo_post(f"{prefix} {index}"))
        assert isinstance(result, Published)
        sb.advance_clock(60)


def seq_now(sb: SandboxHandle) -> int:
    """The sequence number of the sandbox's latest logged request."""
    log = sb.requests(limit=1)["log"]
    return int(log[-1]["seq"]) if log else 0


def calls_since(sb: SandboxHandle, seq: int, path: str) -> int:
    """Requests to ``path`` logged after request ``seq``."""
    return sum(1 for r in sb.requests(limit=2000)["log"] if r["seq"] > seq and r["path"] == path)


def article_id(sb: SandboxHandle, title: str) -> str:
    [article] = [a for a in sb.articles(OA_ID)["articles"] if a["title"] == title]
    return str(article["id"])


# ---------------------------------------------------------------------------- Zalo


async def test_orphan_article_behind_45_newer_ones_is_found(env: Env, oa: ZaloOA) -> None:
    """The chaos-run duplicate: Zalo created the article but its answer was a 5xx; a burst of
    45 articles followed before the look-up, pushing the orphan out of the 30 newest."""
    orphan = zalo_post("Bài bị mất câu trả lời")
    env.sb.set_faults(OA_ID, script=["accept_then_error"], publish_only=True)
    with pytest.raises(TransientError) as caught:
        await oa.publish(orphan)
    assert caught.value.uncertain is True
    # Zalo processes the article at once (the sandbox does so when the OA's list is read).
    assert await oa.find(orphan) is not None
    env.sb.advance_clock(60)
    await publish_articles(oa, env.sb, 45, "Tin dồn dập")
    before = seq_now(env.sb)
    found = await oa.find(orphan)
    assert found is not None and found.remote_id == article_id(env.sb, orphan.title or "")
    assert calls_since(env.sb, before, GETSLICE) == 5  # the orphan is the 46th article


async def test_walk_stops_at_articles_older_than_the_first_attempt(
    env: Env, oa: ZaloOA, clock: FakeClock
) -> None:
    await publish_articles(oa, env.sb, 45, "Tin cũ")
    env.sb.advance_clock(3600)  # an hour later the post is due; 35 others go out before it
    first_attempt = datetime.fromtimestamp(env.sb.now(), UTC)
    await publish_articles(oa, env.sb, 35, "Tin mới")
    before = seq_now(env.sb)
    missing = zalo_post("Bài chưa từng đăng", first_attempt_at=first_attempt)
    assert await oa.find(missing) is None
    # Pages 1-3 are new articles; page 4 holds the last 5 new ones and the first old ones:
    # the walk stops there instead of reading all 8 pages.
    assert calls_since(env.sb, before, GETSLICE) == 4


async def test_an_article_made_within_the_margin_before_the_first_attempt_is_found(
    env: Env, oa: ZaloOA
) -> None:
    await publish_articles(oa, env.sb, 12, "Tin cũ")
    post = zalo_post("Bài đăng sớm vài phút")
    published, _ = await drive(oa, post)
    env.sb.advance_clock(5 * 60)  # Zalo's clock ran five minutes ahead of the first attempt
    await publish_articles(oa, env.sb, 25, "Tin mới")
    late = replace(post, first_attempt_at=datetime.fromtimestamp(env.sb.now() - 25 * 60, UTC))
    assert await oa.find(late) == published


async def test_without_a_first_attempt_the_whole_list_is_walked(env: Env, oa: ZaloOA) -> None:
    oldest = zalo_post("Bài cũ nhất")
    published, _ = await drive(oa, oldest)
    env.sb.advance_clock(60)
    await publish_articles(oa, env.sb, 40, "Tin khác")
    before = seq_now(env.sb)
    assert await oa.find(replace(oldest, first_attempt_at=None)) == published
    assert calls_since(env.sb, before, GETSLICE) == 5
    before = seq_now(env.sb)
    assert await oa.find(zalo_post("Không có", first_attempt_at=None)) is None
    assert calls_since(env.sb, before, GETSLICE) == 5  # 41 articles: to the end, no further


async def test_a_page_read_that_fails_is_asked_again_and_the_walk_goes_on(
    env: Env, oa: ZaloOA
) -> None:
    """A busy OA means a long walk; with a 5xx now and then on Zalo's side, one lost page must
    not turn the whole look-up into "could not tell" (and the post into needs_review)."""
    orphan = zalo_post("Bài cũ cần tìm")
    await drive(oa, orphan)
    env.sb.advance_clock(60)
    await publish_articles(oa, env.sb, 25, "Tin mới")
    # Pages 1 and 3 fail once each, and so does the orphan's detail read.
    env.sb.set_faults(OA_ID, script=["error", "ok", "ok", "error", "ok", "error"])
    before = seq_now(env.sb)
    found = await oa.find(orphan)
    assert found is not None and found.remote_id == article_id(env.sb, orphan.title or "")
    assert calls_since(env.sb, before, GETSLICE) == 5  # 3 pages, 2 of them asked twice


async def test_a_walk_cut_short_is_an_error_not_a_miss(
    env: Env, oa: ZaloOA, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publish_articles(oa, env.sb, 25, "Tin khác")
    monkeypatch.setattr(zalo_read, "FIND_MAX_PAGES", 2)
    with pytest.raises(TransientError) as caught:
        await oa.find(zalo_post("Không có", first_attempt_at=None))
    assert "could not finish" in caught.value.message or "without reaching" in caught.value.message


class SecondsDates(httpx.AsyncBaseTransport):
    """Real HTTP to the sandbox, with getslice's ``create_date`` turned into epoch seconds:
    a shape Zalo's pages do not give (epoch ms, docs/platforms/zalo-oa.md#listing-and-detail) but a
    careless API change could."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/article/getslice"):
            return response
        body = json.loads(await response.aread())
        for item in (body.get("data") or {}).get("medias") or []:
            item["create_date"] = int(item["create_date"]) // 1000
        return httpx.Response(response.status_code, json=body)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_items_without_a_usable_date_never_end_the_walk(
    env: Env, oa: ZaloOA, clock: FakeClock
) -> None:
    target = zalo_post("Bài cần tìm")
    published, _ = await drive(oa, target)
    env.sb.advance_clock(60)
    await publish_articles(oa, env.sb, 15, "Tin khác")
    odd = build_channel(
        "tinh-zalo", env.config, engine=env.engine, clock=clock, transport=SecondsDates()
    )
    try:
        # Read as epoch ms, every date would look older than the first attempt.
        assert await odd.find(target) == published
    finally:
        await odd.aclose()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_795_000_000_000, 1_795_000_000_000.0),
        ("1795000000000", 1_795_000_000_000.0),
        (1_795_000_000, None),  # seconds
        (None, None),
        (True, None),
        ("hôm qua", None),
        (float("nan"), None),
    ],
)
def test_create_date_is_read_as_epoch_ms_or_not_at_all(value: object, expected: object) -> None:
    assert created_ms({"create_date": value}) == expected


# ---------------------------------------------------------------------------- Facebook


def graph_posts(sb: SandboxHandle, count: int, prefix: str) -> None:
    """``count`` Page posts straight through Graph (the client is not under test here)."""
    with httpx.Client(base_url=f"{sb.graph_url}/v21.0", trust_env=False) as client:
        headers = {"Authorization": f"Bearer {sb.page_token(PAGE_ID)}"}
        for index in range(count):
            answer = client.post(
                f"{PAGE_ID}/feed", data={"message": f"{prefix} {index}"}, headers=headers
            )
            assert answer.status_code == 200, answer.text


def fb_post(text: str, **kw: Any) -> OutgoingPost:
    return OutgoingPost(
        delivery_id=1, channel="tinh-fb", text=text, fingerprint=fingerprint(text), **kw
    )


async def test_facebook_post_behind_520_newer_posts_is_found(env: Env, page: FacebookPage) -> None:
    target = fb_post("Bài cần tìm giữa rất nhiều bài", first_attempt_at=T0)
    published = await page.publish(target)
    env.sb.advance_clock(60)
    graph_posts(env.sb, 520, "Bài khác")
    before = seq_now(env.sb)
    found = await page.find(target)
    assert isinstance(published, Published) and found is not None
    assert found.remote_id == published.remote_id
    assert calls_since(env.sb, before, PUBLISHED_POSTS) == 6  # 521 posts, 100 a page


async def test_facebook_walk_cut_short_is_an_error_not_a_miss(
    env: Env, page: FacebookPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph_posts(env.sb, 150, "Bài khác")
    monkeypatch.setattr(facebook, "FIND_MAX_PAGES", 1)
    with pytest.raises(TransientError):
        await page.find(fb_post("Không có", first_attempt_at=T0))


async def test_facebook_walk_reads_only_posts_since_the_first_attempt(
    env: Env, page: FacebookPage
) -> None:
    graph_posts(env.sb, 250, "Bài cũ")
    env.sb.advance_clock(3600)
    graph_posts(env.sb, 30, "Bài mới")
    before = seq_now(env.sb)
    first_attempt = datetime.fromtimestamp(env.sb.now(), UTC) - timedelta(minutes=1)
    assert await page.find(fb_post("Không có", first_attempt_at=first_attempt)) is None
    assert calls_since(env.sb, before, PUBLISHED_POSTS) == 1
