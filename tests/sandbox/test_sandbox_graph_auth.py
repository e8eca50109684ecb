"""Graph stand-in: token problems, /me/accounts, /me/permissions, /debug_token."""

from __future__ import annotations

import httpx
import pytest

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import TINH_PAGE


@pytest.mark.parametrize(
    ("kind", "subcode"),
    [("expired", 463), ("password_changed", 460), ("app_removed", 458), ("logged_out", 467)],
)
def test_dead_page_token_gets_190_with_its_subcode(
    sb: SandboxHandle, graph: httpx.Client, kind: str, subcode: int
) -> None:
    sb.set_faults(TINH_PAGE, auth=kind)
    response = graph.post(f"/{TINH_PAGE}/feed", data={"message": "x"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (
        190,
        subcode,
        "OAuthException",
    )
    assert error["fbtrace_id"]
    assert "WWW-Authenticate" in response.headers


def test_me_accounts_lists_pages_with_their_tokens(sb: SandboxHandle) -> None:
    body = httpx.get(
        f"{sb.graph_url}/v21.0/me/accounts",
        params={"access_token": sb.user_token, "fields": "id,name,access_token,tasks"},
    ).json()
    tokens = {page["id"]: page["access_token"] for page in body["data"]}
    assert tokens[TINH_PAGE] == sb.page_token(TINH_PAGE)
    assert "CREATE_CONTENT" in body["data"][0]["tasks"]


def test_me_permissions_are_all_granted(sb: SandboxHandle) -> None:
    body = httpx.get(
        f"{sb.graph_url}/v21.0/me/permissions", params={"access_token": sb.user_token}
    ).json()
    granted = {p["permission"] for p in body["data"] if p["status"] == "granted"}
    assert {"pages_manage_posts", "pages_read_engagement", "read_insights"} <= granted


def test_debug_token_describes_a_page_token_that_never_expires(sb: SandboxHandle) -> None:
    data = httpx.get(
        f"{sb.graph_url}/v21.0/debug_token",
        params={
            "input_token": sb.page_token(TINH_PAGE),
            "access_token": sb.config.graph_app_token,
        },
    ).json()["data"]
    assert (data["type"], data["is_valid"], data["expires_at"]) == ("PAGE", True, 0)
    assert data["profile_id"] == TINH_PAGE


def test_debug_token_reports_an_unknown_token_as_invalid(sb: SandboxHandle) -> None:
    data = httpx.get(
        f"{sb.graph_url}/v21.0/debug_token",
        params={"input_token": "EAAgarbage", "access_token": sb.config.graph_app_token},
    ).json()["data"]
    assert data["is_valid"] is False and data["error"]["code"] == 190


def test_any_version_prefix_is_accepted(sb: SandboxHandle) -> None:
    response = httpx.get(
        f"{sb.graph_url}/v25.0/{TINH_PAGE}", params={"access_token": sb.page_token(TINH_PAGE)}
    )
    assert response.json()["id"] == TINH_PAGE
    assert response.headers["facebook-api-version"] == "v25.0"


def test_long_lived_exchange_answers_with_a_bearer_token(sb: SandboxHandle) -> None:
    body = httpx.get(
        f"{sb.graph_url}/v21.0/oauth/access_token",
        params={
            "grant_type": "fb_exchange_token",
            "client_id": sb.config.graph_app_id,
            "client_secret": sb.config.graph_app_secret,
            "fb_exchange_token": sb.user_token,
        },
    ).json()
    assert body["token_type"] == "bearer" and body["access_token"] == sb.user_token
    assert body["expires_in"] > 5_000_000
