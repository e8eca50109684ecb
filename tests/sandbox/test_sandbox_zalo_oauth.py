"""Zalo stand-in: OAuth v4 token endpoint with single-use rotating refresh tokens."""

from __future__ import annotations

import httpx

from sandbox.testing import SandboxHandle
from sandbox.zalo_oauth import pkce_challenge
from tests.sandbox.conftest import TINH_OA


def _token_call(sb: SandboxHandle, secret: str | None = None, **form: str) -> httpx.Response:
    return httpx.post(
        f"{sb.zalo_oauth_url}/v4/oa/access_token",
        data={"app_id": sb.zalo_app_id, **form},
        headers={"secret_key": secret or sb.zalo_app_secret},
    )


def _refresh(sb: SandboxHandle, refresh_token: str) -> httpx.Response:
    return _token_call(sb, grant_type="refresh_token", refresh_token=refresh_token)


def _getoa(sb: SandboxHandle, access_token: str) -> dict[str, object]:
    return httpx.get(f"{sb.zalo_url}/v2.0/oa/getoa", headers={"access_token": access_token}).json()


def test_refresh_returns_a_new_pair_with_expires_in_as_a_string(sb: SandboxHandle) -> None:
    initial = sb.config.oas[0].refresh_token
    body = _refresh(sb, initial).json()
    assert set(body) == {"access_token", "refresh_token", "expires_in"}
    assert body["expires_in"] == "90000"
    assert body["refresh_token"] != initial


def test_a_used_refresh_token_is_refused(sb: SandboxHandle) -> None:
    initial = sb.config.oas[0].refresh_token
    assert _refresh(sb, initial).status_code == 200
    response = _refresh(sb, initial)
    assert response.status_code == 200  # the token endpoint reports errors at HTTP 200
    body = response.json()
    assert "access_token" not in body
    assert body["error"] < 0
    assert {"error_name", "error_reason", "error_description"} <= set(body)


def test_the_previous_access_token_dies_on_refresh(sb: SandboxHandle) -> None:
    first = _refresh(sb, sb.config.oas[0].refresh_token).json()
    assert _getoa(sb, first["access_token"])["error"] == 0
    _refresh(sb, first["refresh_token"])
    assert _getoa(sb, first["access_token"])["error"] == -220


def test_access_token_expires_after_25_hours_of_simulated_time(sb: SandboxHandle) -> None:
    token = _refresh(sb, sb.config.oas[0].refresh_token).json()["access_token"]
    sb.advance_clock(89_000)
    assert _getoa(sb, token)["error"] == 0
    sb.advance_clock(1_001)
    assert _getoa(sb, token)["error"] == -220


def test_wrong_secret_key_is_refused(sb: SandboxHandle) -> None:
    response = _token_call(
        sb, secret="wrong", grant_type="refresh_token", refresh_token=sb.refresh_token(TINH_OA)
    )
    assert "access_token" not in response.json()
    assert response.json()["error"] < 0


def test_authorization_code_grant_checks_the_pkce_verifier(sb: SandboxHandle) -> None:
    verifier = "v" * 43
    code = sb.consent(TINH_OA, code_challenge=pkce_challenge(verifier))
    wrong = _token_call(sb, grant_type="authorization_code", code=code, code_verifier="x" * 43)
    assert wrong.json()["error"] < 0
    right = _token_call(sb, grant_type="authorization_code", code=code, code_verifier=verifier)
    assert right.json()["expires_in"] == "90000"


def test_unknown_access_token_is_216_and_bearer_header_is_ignored(sb: SandboxHandle) -> None:
    token = sb.zalo_access_token(TINH_OA)
    assert _getoa(sb, "garbage")["error"] == -216
    bearer = httpx.get(
        f"{sb.zalo_url}/v2.0/oa/getoa", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert bearer["error"] == -216


def test_consent_page_redirects_back_with_a_code_and_the_oa_id(sb: SandboxHandle) -> None:
    response = httpx.get(
        f"{sb.zalo_oauth_url}/v4/oa/permission",
        params={
            "app_id": sb.zalo_app_id,
            "redirect_uri": "http://127.0.0.1:9/callback",
            "state": "s1",
            "oa_id": TINH_OA,
        },
    )
    assert response.status_code == 302
    location = httpx.URL(response.headers["location"])
    assert location.params["oa_id"] == TINH_OA and location.params["state"] == "s1"
    token = _token_call(sb, grant_type="authorization_code", code=location.params["code"])
    assert token.json()["expires_in"] == "90000"
