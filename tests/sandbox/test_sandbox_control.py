"""The control API: inspection, request log, clock, reset; and its separation from the APIs."""

from __future__ import annotations

import httpx

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import TINH_PAGE


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
