"""Zalo stand-in: broadcasts (night ban, follower caps, targets), getoa, limits, 404s."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.conftest import TINH_OA, MediaServer, article_body, jpeg_bytes


@pytest.fixture
def article_id(sb: SandboxHandle, zalo: httpx.Client, media: MediaServer) -> str:
    media.files["/cover.jpg"] = jpeg_bytes()
    token = zalo.post("/v2.0/article/create", json=article_body(f"{media.url}/cover.jpg")).json()[
        "data"
    ]["token"]
    for _ in range(3):
        answer = zalo.post("/v2.0/article/verify", json={"token": token}).json()
    return answer["data"]["id"]


def _broadcast(zalo: httpx.Client, article_id: str, target: object = None) -> dict[str, object]:
    body: dict[str, object] = {
        "recipient": {"target": target or {}},
        "message": {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "article", "attachment_id": article_id}],
                },
            }
        },
    }
    return zalo.post("/v2.0/oa/message", json=body).json()


def test_broadcast_returns_a_message_id_and_counts_recipients(
    sb: SandboxHandle, zalo: httpx.Client, article_id: str
) -> None:
    body = _broadcast(zalo, article_id)
    assert body["error"] == 0 and body["data"]["message_id"]  # type: ignore[index]
    inspected = sb.broadcasts(TINH_OA)
    assert inspected["broadcasts"][0]["article_id"] == article_id
    assert inspected["reached"][TINH_OA] == sb.config.oas[0].followers


def test_broadcast_at_23_00_office_time_is_refused(
    sb: SandboxHandle, zalo: httpx.Client, article_id: str
) -> None:
    sb.set_clock("2026-11-24T23:00:00+07:00")
    body = _broadcast(zalo, article_id)
    assert body == {
        "error": -234,
        "message": "This message cannot be sent at night (10:00PM - 6:00AM)",
    }


def test_followers_already_reached_today_are_silently_skipped(
    sb: SandboxHandle, zalo: httpx.Client, article_id: str
) -> None:
    _broadcast(zalo, article_id)
    second = _broadcast(zalo, article_id)
    assert second["error"] == 0
    latest = sb.broadcasts(TINH_OA)["broadcasts"][-1]
    assert latest["reached"] == 0 and latest["skipped"] == sb.config.oas[0].followers


def test_monthly_cap_skips_followers_after_n_broadcasts(
    sb: SandboxHandle, zalo: httpx.Client, article_id: str
) -> None:
    cap = sb.config.oas[0].monthly_broadcast_cap
    for _ in range(cap + 1):
        zalo.headers["access_token"] = sb.zalo_access_token(TINH_OA)  # tokens last 25 h
        _broadcast(zalo, article_id)
        sb.advance_clock(86400)
    reached = [b["reached"] for b in sb.broadcasts(TINH_OA)["broadcasts"]]
    assert reached[:cap] == [sb.config.oas[0].followers] * cap
    assert reached[cap] == 0


def test_target_filters_accept_strings_ints_and_lists(
    sb: SandboxHandle, zalo: httpx.Client, article_id: str
) -> None:
    for target in ({"gender": "1", "ages": "2,3"}, {"gender": 2, "ages": 4}, {"cities": [4, 9]}):
        zalo.headers["access_token"] = sb.zalo_access_token(TINH_OA)  # tokens last 25 h
        assert _broadcast(zalo, article_id, target)["error"] == 0
        sb.advance_clock(86400)
    reached = [b["reached"] for b in sb.broadcasts(TINH_OA)["broadcasts"]]
    followers = sb.config.oas[0].followers
    assert all(0 < n < followers for n in reached)


def test_broadcast_of_an_unknown_article_is_refused(zalo: httpx.Client) -> None:
    assert _broadcast(zalo, "not-an-article")["error"] == -201


def test_getoa_reports_followers_and_identity(sb: SandboxHandle, zalo: httpx.Client) -> None:
    data = zalo.get("/v2.0/oa/getoa").json()["data"]
    assert data["oa_id"] == TINH_OA
    assert data["num_follower"] == sb.config.oas[0].followers
    assert data["name"] == "Công an tỉnh Demo"


def test_unknown_path_is_an_http_404(zalo: httpx.Client) -> None:
    assert zalo.post("/v3.0/article/create", json={}).status_code == 404


@pytest.fixture(scope="module")
def limited() -> Iterator[SandboxHandle]:
    with running_sandbox(zalo_rate_limit_per_minute=3) as handle:
        yield handle


def test_per_minute_rate_limit_gives_32_with_headers(limited: SandboxHandle) -> None:
    limited.set_clock("2026-11-24T03:00:05+00:00")
    token = limited.zalo_access_token()
    answers = [
        httpx.get(f"{limited.zalo_url}/v2.0/oa/getoa", headers={"access_token": token})
        for _ in range(4)
    ]
    assert [a.headers["X-RateLimit-Remain"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    assert answers[3].json()["error"] == -32
    limited.advance_clock(60)
    again = httpx.get(f"{limited.zalo_url}/v2.0/oa/getoa", headers={"access_token": token})
    assert again.json()["error"] == 0
