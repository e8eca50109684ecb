"""The control API: inspection, request log, clock, reset; and its separation from the APIs."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from sandbox.faults import ACCEPT_THEN_ERROR, ACCEPT_THEN_TIMEOUT, FaultBook, FaultSpec
from sandbox.testing import SandboxHandle
from sandbox.zalo_common import office_time
from tests.sandbox.conftest import TINH_OA, TINH_PAGE, MediaServer, article_body, jpeg_bytes


def test_control_paths_are_not_reachable_through_platform_prefixes(sb: SandboxHandle) -> None:
    token = sb.page_token(TINH_PAGE)
    graph = httpx.get(f"{sb.graph_url}/_sandbox/clock", params={"access_token": token})
    assert graph.status_code == 400 and graph.json()["error"]["code"] == 100
    assert httpx.get(f"{sb.zalo_url}/_sandbox/clock").status_code == 404


def test_request_log_counts_calls_by_endpoint_and_channel(
    sb: SandboxHandle, graph: httpx.Client
) -> None:
    graph.post(f"/{TINH_PAGE}/feed", data={"message": "Một"})
    graph.get(f"/{TINH_PAGE}/feed")
    report = sb.requests()
    summary = report["summary"]
    assert summary["total"] == 2
    assert summary["endpoint"]["POST /graph/v21.0/{id}/feed"] == 1
    assert summary["channel"][TINH_PAGE] == 2
    assert [entry["method"] for entry in report["log"]] == ["POST", "GET"]
    assert "access_token" not in str(report)


def test_received_lists_everything_published_with_its_time(
    sb: SandboxHandle, graph: httpx.Client
) -> None:
    graph.post(f"/{TINH_PAGE}/feed", data={"message": "Nhận"})
    [item] = sb.received()
    assert item["kind"] == "graph_post" and item["payload"] == {"message": "Nhận"}
    assert item["at"] == sb.now()  # the clock is frozen by the fixture


def test_clock_can_be_set_and_advanced(sb: SandboxHandle) -> None:
    sb.set_clock("2027-01-01T00:00:00+00:00")
    sb.advance_clock(90)
    assert sb.clock()["now"] == "2027-01-01T00:01:30+00:00"


def test_reset_forgets_posts_and_faults(sb: SandboxHandle, graph: httpx.Client) -> None:
    graph.post(f"/{TINH_PAGE}/feed", data={"message": "Quên"})
    sb.set_faults(TINH_PAGE, error_rate=1.0)
    sb.reset()
    assert sb.posts() == []
    assert graph.get(f"/{TINH_PAGE}").status_code == 200


def _broadcast_body(article_id: str) -> dict[str, object]:
    element = {"media_type": "article", "attachment_id": article_id}
    payload = {"template_type": "media", "elements": [element]}
    return {
        "recipient": {"target": {}},
        "message": {"attachment": {"type": "template", "payload": payload}},
    }


def _create(zalo: httpx.Client, media: MediaServer, title: str) -> str:
    media.files["/cover.jpg"] = jpeg_bytes()
    body = article_body(f"{media.url}/cover.jpg", title=title)
    return zalo.post("/v2.0/article/create", json=body).json()["data"]["token"]


def test_broadcasts_are_counted_per_article(
    sb: SandboxHandle, zalo: httpx.Client, media: MediaServer
) -> None:
    token = _create(zalo, media, "Phát hai lần")
    for _ in range(3):
        answer = zalo.post("/v2.0/article/verify", json={"token": token}).json()
    article_id = answer["data"]["id"]
    for _ in range(2):
        assert zalo.post("/v2.0/oa/message", json=_broadcast_body(article_id)).json()["error"] == 0
    assert sb.broadcasts(TINH_OA)["per_article"] == {article_id: 2}
    assert sb.broadcasts()["per_article"] == {article_id: 2}


def test_settled_articles_include_an_accepted_create_nobody_verified(
    sb: SandboxHandle, zalo: httpx.Client, media: MediaServer
) -> None:
    sb.set_faults(TINH_OA, script=["accept_then_error"])
    media.files["/cover.jpg"] = jpeg_bytes()
    body = article_body(f"{media.url}/cover.jpg", title="Nhận rồi mất trả lời")
    assert zalo.post("/v2.0/article/create", json=body).status_code == 502
    assert sb.articles(TINH_OA)["articles"] == []  # still processing: not listed yet
    [article] = sb.articles(TINH_OA, settle=True)["articles"]
    assert article["title"] == "Nhận rồi mất trả lời"


def test_an_expired_access_token_answers_220_until_refreshed(sb: SandboxHandle) -> None:
    token = sb.zalo_access_token(TINH_OA)
    with httpx.Client(base_url=sb.zalo_url, trust_env=False) as client:
        assert client.get("/v2.0/oa/getoa", headers={"access_token": token}).json()["error"] == 0
        sb.expire_access_token(TINH_OA)
        expired = client.get("/v2.0/oa/getoa", headers={"access_token": token}).json()
        assert expired["error"] == -220
        fresh = sb.zalo_access_token(TINH_OA)
        assert client.get("/v2.0/oa/getoa", headers={"access_token": fresh}).json()["error"] == 0


def test_mixed_accept_then_fail_gives_both_kinds() -> None:
    spec = FaultSpec(accept_then_fail_rate=1.0, accept_then_fail_mode="mixed")
    book = FaultBook(seed=3, specs={"*": spec})
    outcomes = {book.decide("oa", is_publish=True).outcome for _ in range(40)}  # type: ignore[union-attr]
    assert outcomes == {ACCEPT_THEN_ERROR, ACCEPT_THEN_TIMEOUT}


def test_out_of_night_ban_moves_the_clock_forward_to_the_morning(sb: SandboxHandle) -> None:
    sb.set_clock("2026-11-24T16:00:00+00:00", frozen=True)  # 23:00 office time
    assert sb.out_of_night_ban()
    moved = office_time(sb.now())
    assert (moved.day, moved.hour) == (25, 7)
    assert not sb.out_of_night_ban()  # 07:00 is clear of the ban
    assert datetime.fromtimestamp(sb.now(), UTC).date().isoformat() == "2026-11-25"
