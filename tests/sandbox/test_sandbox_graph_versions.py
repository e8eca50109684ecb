"""The Graph version calendar: unknown versions fail, expired ones are served by the oldest live."""

from __future__ import annotations

import httpx
import pytest

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import TINH_PAGE


def get(sb: SandboxHandle, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {sb.page_token(TINH_PAGE)}"}
    return httpx.get(f"{sb.graph_url}/{path}", headers=headers)


@pytest.mark.parametrize("version", ["v99.0", "v2.13", "v27.0"])
def test_an_unknown_version_is_graphs_unknown_path_error(sb: SandboxHandle, version: str):
    answer = get(sb, f"{version}/{TINH_PAGE}/feed")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["type"]) == (2500, "OAuthException")
    assert error["message"] == f"Unknown path components: /{TINH_PAGE}/feed"
    assert "facebook-api-version" not in answer.headers


@pytest.mark.parametrize("version", ["v2.0", "v20.0"])
def test_an_expired_version_is_served_by_the_oldest_live_one(sb: SandboxHandle, version: str):
    # The sandbox clock is 2026-11-24: v20.0 ended 2026-09-24, v21.0 lives until 2027-01-21.
    answer = get(sb, f"{version}/{TINH_PAGE}")
    assert answer.status_code == 200 and answer.json()["id"] == TINH_PAGE
    assert answer.headers["facebook-api-version"] == "v21.0"


def test_a_live_version_serves_itself_and_unversioned_calls_get_the_oldest(sb: SandboxHandle):
    assert get(sb, f"v26.0/{TINH_PAGE}").headers["facebook-api-version"] == "v26.0"
    assert get(sb, f"v21.0/{TINH_PAGE}").headers["facebook-api-version"] == "v21.0"
    assert get(sb, TINH_PAGE).headers["facebook-api-version"] == "v21.0"


def test_the_calendar_follows_the_simulated_clock(sb: SandboxHandle):
    sb.set_clock("2027-02-01T00:00:00+00:00")
    answer = get(sb, f"v21.0/{TINH_PAGE}")
    assert answer.status_code == 200
    assert answer.headers["facebook-api-version"] == "v22.0"
    sb.set_clock("2026-05-01T00:00:00+00:00")
    assert get(sb, f"v26.0/{TINH_PAGE}").json()["error"]["code"] == 2500


def test_paging_links_name_the_serving_version(sb: SandboxHandle, graph: httpx.Client):
    for n in range(3):
        graph.post(f"/{TINH_PAGE}/feed", data={"message": f"Bài {n}"})
    answer = get(sb, f"v20.0/{TINH_PAGE}/published_posts?limit=1").json()
    assert "/v21.0/" in answer["paging"]["next"]
