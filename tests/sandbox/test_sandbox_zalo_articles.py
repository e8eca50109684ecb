"""Zalo stand-in: uploads and the asynchronous article flow (create -> verify -> list)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import httpx
import pytest

from sandbox.config import OaIdentity, build_config, initial_refresh_token, with_options
from sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.conftest import (
    OFFICE_MORNING,
    MediaServer,
    article_body,
    big_jpeg_bytes,
    jpeg_bytes,
    png_bytes,
)


@pytest.fixture
def cover(media: MediaServer) -> str:
    media.files["/cover.jpg"] = jpeg_bytes()
    return f"{media.url}/cover.jpg"


def _create(zalo: httpx.Client, body: dict[str, object]) -> dict[str, object]:
    return zalo.post("/v2.0/article/create", json=body).json()


def _verify(zalo: httpx.Client, token: str) -> dict[str, object]:
    return zalo.post("/v2.0/article/verify", json={"token": token}).json()


def _publish(zalo: httpx.Client, body: dict[str, object]) -> str:
    token = _create(zalo, body)["data"]["token"]  # type: ignore[index]
    for _ in range(5):
        answer = _verify(zalo, token)
        if answer["error"] == 0:
            return answer["data"]["id"]  # type: ignore[index]
    raise AssertionError(answer)


def test_upload_image_returns_an_attachment_id(zalo: httpx.Client) -> None:
    files = {"file": ("a.png", png_bytes(), "image/png")}
    body = zalo.post("/v2.0/oa/upload/image", files=files).json()
    assert body["error"] == 0 and body["data"]["attachment_id"]


def test_upload_over_1_mb_is_refused(zalo: httpx.Client) -> None:
    files = {"file": ("big.jpg", big_jpeg_bytes(), "image/jpeg")}
    assert zalo.post("/v2.0/oa/upload/image", files=files).json()["error"] == -201


def test_upload_of_a_gif_is_refused(zalo: httpx.Client) -> None:
    files = {"file": ("a.gif", b"GIF89a" + b"\x00" * 20, "image/gif")}
    body = zalo.post("/v2.0/oa/upload/image", files=files).json()
    assert body == {"error": -201, "message": "file is invalid. We only support png and jpeg"}


def test_create_returns_a_job_token_and_verify_is_pending_then_gives_the_id(
    zalo: httpx.Client, cover: str
) -> None:
    created = _create(zalo, article_body(cover))
    assert created["error"] == 0
    token = created["data"]["token"]  # type: ignore[index]
    assert _verify(zalo, token) == {"error": -214, "message": "Article is being processed"}
    assert _verify(zalo, token)["error"] == -214
    done = _verify(zalo, token)
    assert done["error"] == 0 and done["data"]["id"]  # type: ignore[index]


def test_cover_that_cannot_be_fetched_fails_at_verify(zalo: httpx.Client, media: MediaServer):
    token = _create(zalo, article_body(f"{media.url}/gone.jpg"))["data"]["token"]  # type: ignore
    answers = [_verify(zalo, token) for _ in range(3)]
    assert answers[-1] == {"error": -200, "message": "Upload media failed"}


def test_cover_over_1_mb_fails_at_verify(zalo: httpx.Client, media: MediaServer) -> None:
    media.files["/big.jpg"] = big_jpeg_bytes()
    token = _create(zalo, article_body(f"{media.url}/big.jpg"))["data"]["token"]  # type: ignore
    assert [_verify(zalo, token)["error"] for _ in range(3)] == [-214, -214, -200]


def test_body_image_is_fetched_too(zalo: httpx.Client, cover: str, media: MediaServer) -> None:
    blocks = [{"type": "image", "url": f"{media.url}/missing-body.jpg"}]
    token = _create(zalo, article_body(cover, body=blocks))["data"]["token"]  # type: ignore
    assert [_verify(zalo, token)["error"] for _ in range(3)][-1] == -200


@pytest.mark.parametrize(("field", "limit"), [("title", 150), ("description", 300), ("author", 50)])
def test_text_of_exactly_the_limit_is_refused_one_less_is_accepted(
    zalo: httpx.Client, cover: str, field: str, limit: int
) -> None:
    refused = _create(zalo, article_body(cover, **{field: "a" * limit}))
    assert refused["error"] == -201 and field in str(refused["message"])
    assert _create(zalo, article_body(cover, **{field: "a" * (limit - 1)}))["error"] == 0


def test_lengths_are_counted_on_nfc_text(zalo: httpx.Client, cover: str) -> None:
    title = unicodedata.normalize("NFD", "ệ" * 149)  # 447 code points, 149 after NFC
    assert _create(zalo, article_body(cover, title=title))["error"] == 0


def test_cover_without_status_is_invalid(zalo: httpx.Client, cover: str) -> None:
    body = article_body(cover, cover={"cover_type": "photo", "photo_url": cover})
    assert _create(zalo, body) == {"error": -201, "message": "cover value is invalid"}


def test_getslice_needs_a_type_and_at_most_10(zalo: httpx.Client) -> None:
    no_type = zalo.get("/v2.0/article/getslice", params={"offset": 0, "limit": 5}).json()
    assert no_type["error"] == -201
    too_many = zalo.get(
        "/v2.0/article/getslice", params={"offset": 0, "limit": 11, "type": "normal"}
    ).json()
    assert too_many == {"error": -201, "message": "maximum limit is 10"}


def test_getslice_lists_articles_with_their_figures(zalo: httpx.Client, cover: str) -> None:
    article_id = _publish(zalo, article_body(cover))
    body = zalo.get(
        "/v2.0/article/getslice", params={"offset": 0, "limit": 10, "type": "normal"}
    ).json()
    assert body["data"]["total"] == 1
    [item] = body["data"]["medias"]
    assert item["id"] == article_id
    expected = {"id", "type", "title", "status", "thumb", "link", "create_date", "update_date",
                "total_view", "total_share"}  # fmt: skip
    assert expected <= set(item)
    assert item["create_date"] > 10**12  # epoch milliseconds


def test_views_rise_with_simulated_time(sb: SandboxHandle, zalo: httpx.Client, cover: str) -> None:
    article_id = _publish(zalo, article_body(cover))
    views = []
    for _ in range(3):
        sb.advance_clock(4 * 3600)
        detail = zalo.get("/v2.0/article/getdetail", params={"id": article_id}).json()["data"]
        views.append(detail["total_view"])
    assert views == sorted(views) and views[-1] > views[0] > 0


def test_update_gives_a_new_token_that_verifies_to_the_same_id(
    zalo: httpx.Client, cover: str
) -> None:
    article_id = _publish(zalo, article_body(cover))
    update = article_body(cover, id=article_id, title="Tiêu đề mới")
    token = zalo.post("/v2.0/article/update", json=update).json()["data"]["token"]
    answers = [_verify(zalo, token) for _ in range(3)]
    assert answers[-1]["data"] == {"id": article_id}
    detail = zalo.get("/v2.0/article/getdetail", params={"id": article_id}).json()["data"]
    assert detail["title"] == "Tiêu đề mới"


def test_removed_article_is_gone(zalo: httpx.Client, cover: str) -> None:
    article_id = _publish(zalo, article_body(cover))
    assert zalo.post("/v2.0/article/remove", json={"id": article_id}).json()["error"] == 0
    assert zalo.get("/v2.0/article/getdetail", params={"id": article_id}).json()["error"] == -201


@pytest.fixture(scope="module")
def quota_of_two() -> Iterator[SandboxHandle]:
    oa_id = "4300000000000000009"
    oa = OaIdentity(oa_id, "OA nhỏ", initial_refresh_token(1, oa_id), monthly_article_quota=2)
    config = with_options(build_config(seed=1), oas=(oa,))
    with running_sandbox(config) as handle:
        handle.set_clock(OFFICE_MORNING)
        yield handle


def test_monthly_article_quota_gives_223(quota_of_two: SandboxHandle, cover: str) -> None:
    token = quota_of_two.zalo_access_token()
    url = f"{quota_of_two.zalo_url}/v2.0/article/create"
    answers = [
        httpx.post(url, json=article_body(cover), headers={"access_token": token}).json()
        for _ in range(3)
    ]
    assert [a["error"] for a in answers] == [0, 0, -223]
    assert answers[2]["message"] == "Your OA has reach the limit quota create article"


def test_cover_url_with_unencoded_vietnamese_is_invalid(zalo: httpx.Client, media: MediaServer):
    body = article_body(f"{media.url}/ảnh bìa.jpg")
    assert _create(zalo, body) == {"error": -201, "message": "photo_url is invalid"}


async def test_a_job_met_by_a_verify_and_a_list_read_at_once_is_processed_once(monkeypatch):
    """Two requests reaching a job still processing (a verify poll and a getslice) wait for one
    processing: its cover is fetched once and the job has one outcome. Processed twice, one
    run failed a slow fetch while the other created the article: a "failed" post that was
    live on the OA."""
    import asyncio

    from sandbox import zalo_articles
    from sandbox.media import FetchedMedia
    from sandbox.runtime import Sandbox

    sandbox = Sandbox(build_config(seed=3))
    oa_id = next(iter(sandbox.oas))
    body = {
        "type": "normal",
        "title": "Cảnh giác lừa đảo",
        "author": "Công an tỉnh",
        "description": "Không chuyển tiền cho người lạ",
        "cover": {
            "cover_type": "photo",
            "photo_url": "http://127.0.0.1:9/bia.jpg",
            "status": "show",
        },
        "body": [{"type": "text", "content": "Gọi 113 khi nghi ngờ."}],
        "status": "show",
    }
    job = zalo_articles.new_job(
        sandbox, oa_id, "create", zalo_articles.validate_article(body), None
    )
    fetches: list[str] = []
    release = asyncio.Event()

    async def slow_fetch(url: str, **_: object) -> FetchedMedia:
        fetches.append(url)
        await release.wait()
        # A first fetch times out; a second one (if any) would succeed.
        if len(fetches) == 1:
            return FetchedMedia(url, False, problem="timed out")
        return FetchedMedia(url, True, kind="jpeg", size=1000)

    monkeypatch.setattr(zalo_articles, "fetch_image", slow_fetch)
    verify = asyncio.ensure_future(zalo_articles.complete_job(sandbox, job))
    listing = asyncio.ensure_future(zalo_articles.complete_pending_jobs(sandbox, oa_id))
    await asyncio.sleep(0)  # both are waiting on the job now
    release.set()
    await asyncio.gather(verify, listing)
    assert fetches == ["http://127.0.0.1:9/bia.jpg"]
    assert job.outcome == "failed"
    assert [a for a in sandbox.state.articles.values() if a.oa_id == oa_id] == []
