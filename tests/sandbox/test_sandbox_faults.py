"""Fault injection: per channel, seeded, set at start-up or at run time."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from sandbox.testing import SandboxControlError, SandboxHandle, running_sandbox
from tests.sandbox.conftest import (
    PHUONG_PAGE,
    TINH_OA,
    TINH_PAGE,
    MediaServer,
    article_body,
    jpeg_bytes,
)


def _statuses(sb: SandboxHandle, count: int) -> list[int]:
    url = f"{sb.graph_url}/v21.0/{TINH_PAGE}"
    params = {"access_token": sb.page_token(TINH_PAGE)}
    with httpx.Client() as client:
        return [client.get(url, params=params).status_code for _ in range(count)]


def test_same_seed_gives_the_same_failures_and_another_seed_differs() -> None:
    runs = []
    for seed in (7, 7, 8):
        faults = {TINH_PAGE: {"error_rate": 0.5}}
        with running_sandbox(seed=seed, faults=faults, graph_call_budget=1000) as sb:
            runs.append(_statuses(sb, 24))
    assert runs[0] == runs[1]
    assert 500 in runs[0] and 200 in runs[0]
    assert runs[2] != runs[0]


def test_faults_on_one_channel_leave_the_others_alone(sb: SandboxHandle) -> None:
    sb.set_faults(TINH_PAGE, error_rate=1.0)
    other = httpx.get(
        f"{sb.graph_url}/v21.0/{PHUONG_PAGE}", params={"access_token": sb.page_token(PHUONG_PAGE)}
    )
    assert other.status_code == 200


@pytest.mark.parametrize("code", [1, 2])
def test_server_error_is_http_500_with_graph_code(
    sb: SandboxHandle, graph: httpx.Client, code: int
) -> None:
    sb.set_faults(TINH_PAGE, script=["error"], error_code=code)
    response = graph.get(f"/{TINH_PAGE}")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["is_transient"] is True


def test_timeout_hangs_past_the_clients_read_timeout(sb: SandboxHandle, graph: httpx.Client):
    sb.set_faults(TINH_PAGE, script=["timeout"])
    with pytest.raises(httpx.ReadTimeout):
        graph.get(f"/{TINH_PAGE}", timeout=0.2)


def test_reset_drops_the_connection_mid_answer(sb: SandboxHandle, graph: httpx.Client) -> None:
    sb.set_faults(TINH_PAGE, script=["reset"])
    with pytest.raises(httpx.TransportError):
        graph.get(f"/{TINH_PAGE}")


@pytest.mark.parametrize("code", [4, 32, 80001])
def test_rate_limit_fault_answers_with_usage_at_100(
    sb: SandboxHandle, graph: httpx.Client, code: int
) -> None:
    sb.set_faults(TINH_PAGE, script=["rate_limit"], rate_limit_code=code, regain_minutes=7)
    response = graph.get(f"/{TINH_PAGE}")
    assert response.json()["error"]["code"] == code
    [usage] = json.loads(response.headers["X-Business-Use-Case-Usage"])[TINH_PAGE]
    assert usage["call_count"] == 100 and usage["estimated_time_to_regain_access"] == 7
    if code == 4:
        assert json.loads(response.headers["X-App-Usage"])["call_count"] == 100


def test_content_rejection_is_368_with_subcode(sb: SandboxHandle, graph: httpx.Client) -> None:
    sb.set_faults(TINH_PAGE, script=["reject"])
    error = graph.post(f"/{TINH_PAGE}/feed", data={"message": "x"}).json()["error"]
    assert (error["code"], error["error_subcode"]) == (368, 1346003)
    assert sb.posts() == []


def test_accept_then_error_creates_the_post_but_answers_500(
    sb: SandboxHandle, graph: httpx.Client
) -> None:
    sb.set_faults(TINH_PAGE, script=["accept_then_error"])
    response = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Có rồi"})
    assert response.status_code == 500
    feed = graph.get(f"/{TINH_PAGE}/feed").json()["data"]
    assert [p["message"] for p in feed] == ["Có rồi"]


def test_accept_then_timeout_creates_the_post_but_never_answers(
    sb: SandboxHandle, graph: httpx.Client
) -> None:
    sb.set_faults(TINH_PAGE, script=["accept_then_timeout"])
    with pytest.raises(httpx.ReadTimeout):
        graph.post(f"/{TINH_PAGE}/feed", data={"message": "Treo"}, timeout=0.2)
    assert [p["message"] for p in sb.posts()] == ["Treo"]


def test_fixed_latency_delays_each_answer(sb: SandboxHandle, graph: httpx.Client) -> None:
    sb.set_faults(TINH_PAGE, latency_ms=120)
    started = time.perf_counter()
    graph.get(f"/{TINH_PAGE}")
    assert time.perf_counter() - started >= 0.12


def test_publish_only_faults_spare_reads(sb: SandboxHandle, graph: httpx.Client) -> None:
    sb.set_faults(TINH_PAGE, error_rate=1.0, publish_only=True)
    assert graph.get(f"/{TINH_PAGE}").status_code == 200
    assert graph.post(f"/{TINH_PAGE}/feed", data={"message": "x"}).status_code == 500


def test_zalo_rate_limit_fault_is_32(sb: SandboxHandle, zalo: httpx.Client) -> None:
    sb.set_faults(TINH_OA, script=["rate_limit"])
    response = zalo.get("/v2.0/oa/getoa")
    assert response.json()["error"] == -32
    assert response.headers["X-RateLimit-Remain"] == "0"


def test_zalo_content_rejection_is_248(sb: SandboxHandle, zalo: httpx.Client) -> None:
    sb.set_faults(TINH_OA, script=["reject"])
    body = zalo.post("/v2.0/article/create", json={}).json()
    assert body == {"error": -248, "message": "Violates our platform standards"}


@pytest.mark.parametrize(("kind", "code"), [("expired", -220), ("invalid", -216)])
def test_zalo_token_faults(sb: SandboxHandle, zalo: httpx.Client, kind: str, code: int) -> None:
    sb.set_faults(TINH_OA, auth=kind)
    assert zalo.get("/v2.0/oa/getoa").json()["error"] == code


def test_zalo_server_error_is_a_bare_5xx(sb: SandboxHandle, zalo: httpx.Client) -> None:
    sb.set_faults(TINH_OA, script=["error"])
    assert zalo.get("/v2.0/oa/getoa").status_code >= 500


def test_faults_given_at_start_up_apply_from_the_first_call() -> None:
    with running_sandbox(faults={"*": {"script": ["error"]}}) as sb:
        assert _statuses(sb, 2) == [500, 200]


def test_unknown_fault_field_is_refused_by_the_control_api(sb: SandboxHandle) -> None:
    with pytest.raises(SandboxControlError, match="eror_rate"):
        sb.set_faults(TINH_PAGE, eror_rate=0.5)


def test_zalo_accept_then_error_article_still_appears_in_the_list(
    sb: SandboxHandle, zalo: httpx.Client, media: MediaServer
) -> None:
    media.files["/cover.jpg"] = jpeg_bytes()
    sb.set_faults(TINH_OA, script=["accept_then_error"])
    lost = zalo.post("/v2.0/article/create", json=article_body(f"{media.url}/cover.jpg"))
    assert lost.status_code == 502
    listed = zalo.get("/v2.0/article/getslice", params={"offset": 0, "limit": 10, "type": "normal"})
    assert [m["title"] for m in listed.json()["data"]["medias"]] == [article_body("")["title"]]


def _refresh(sb: SandboxHandle, token: str) -> httpx.Response:
    form = {"app_id": sb.zalo_app_id, "grant_type": "refresh_token", "refresh_token": token}
    headers = {"secret_key": sb.zalo_app_secret}
    return httpx.post(f"{sb.zalo_oauth_url}/v4/oa/access_token", data=form, headers=headers)


def test_accept_then_error_on_a_refresh_rotates_the_pair_and_loses_the_answer(
    sb: SandboxHandle,
) -> None:
    sb.set_faults(TINH_OA, accept_then_fail_rate=1.0)
    old = sb.refresh_token(TINH_OA)
    assert _refresh(sb, old).status_code == 502
    sb.clear_faults(TINH_OA)
    assert sb.refresh_token(TINH_OA) != old  # Zalo rotated: the old token is spent
    assert _refresh(sb, old).json()["error"] == -14014


def test_refresh_accept_then_fail_off_spares_the_token_endpoint(sb: SandboxHandle) -> None:
    sb.set_faults(TINH_OA, accept_then_fail_rate=1.0, refresh_accept_then_fail=False)
    answer = _refresh(sb, sb.refresh_token(TINH_OA))
    assert answer.status_code == 200 and answer.json()["access_token"]
