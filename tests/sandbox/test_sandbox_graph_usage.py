"""Graph stand-in: usage headers and throttling from the calls it served."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.conftest import TINH_PAGE


@pytest.fixture(scope="module")
def small_budget() -> Iterator[SandboxHandle]:
    with running_sandbox(graph_call_budget=10, graph_usage_window_s=3600) as handle:
        yield handle


@pytest.fixture
def fresh(small_budget: SandboxHandle) -> SandboxHandle:
    small_budget.reset()
    small_budget.set_clock("2026-11-24T03:00:00+00:00")
    return small_budget


def _page_get(sb: SandboxHandle) -> httpx.Response:
    return httpx.get(
        f"{sb.graph_url}/v21.0/{TINH_PAGE}", params={"access_token": sb.page_token(TINH_PAGE)}
    )


def test_page_token_usage_header_is_keyed_by_page_and_rises(fresh: SandboxHandle) -> None:
    percents = []
    for _ in range(5):
        header = _page_get(fresh).headers["X-Business-Use-Case-Usage"]
        [entry] = json.loads(header)[TINH_PAGE]
        assert entry["type"] == "pages"
        percents.append(entry["call_count"])
    assert percents == [10, 20, 30, 40, 50]


def test_usage_headers_are_absent_near_zero(sb: SandboxHandle) -> None:
    # The shared sandbox has the default budget (200): one call rounds to 0%.
    response = httpx.get(
        f"{sb.graph_url}/v21.0/{TINH_PAGE}", params={"access_token": sb.page_token(TINH_PAGE)}
    )
    assert "X-Business-Use-Case-Usage" not in response.headers
    assert "X-App-Usage" not in response.headers


def test_user_token_gets_the_app_usage_header(fresh: SandboxHandle) -> None:
    response = httpx.get(f"{fresh.graph_url}/v21.0/me", params={"access_token": fresh.user_token})
    assert json.loads(response.headers["X-App-Usage"])["call_count"] == 10
    assert "X-Business-Use-Case-Usage" not in response.headers


def test_over_budget_page_calls_get_80001_with_time_to_regain(fresh: SandboxHandle) -> None:
    for _ in range(9):
        assert _page_get(fresh).status_code == 200
    response = _page_get(fresh)
    error = response.json()["error"]
    assert error["code"] == 80001 and error["is_transient"] is True
    [entry] = json.loads(response.headers["X-Business-Use-Case-Usage"])[TINH_PAGE]
    assert entry["call_count"] >= 100
    assert entry["estimated_time_to_regain_access"] >= 1


def test_throttle_lifts_when_the_window_rolls_past(fresh: SandboxHandle) -> None:
    for _ in range(11):
        _page_get(fresh)
    fresh.advance_clock(3601)
    assert _page_get(fresh).status_code == 200
