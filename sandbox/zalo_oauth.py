"""Zalo's OAuth v4 host (OA flavour): consent redirect and the token endpoint.

Refresh tokens are single use and rotate; a successful refresh also kills the previous access
token.  Errors use the token endpoint's own shape at HTTP 200.  The numeric codes other than
-14002/-14003 are not attested anywhere we could find: they are our best guesses.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox import faults as fault_kinds
from sandbox.config import OaIdentity, zalo_token
from sandbox.disconnect import HANDLERS
from sandbox.runtime import Sandbox
from sandbox.state import ZaloGrant
from sandbox.transport import DropConnection, hold_until_client_leaves
from sandbox.zalo_common import opaque_id, zalo_json

AUTH_CODE_LIFETIME_S = 600
REF_DOC = (
    "https://developers.zalo.me/docs/official-account/bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new"
)


class OAuthError(Exception):
    """A token-endpoint failure."""

    def __init__(self, code: int, name: str, description: str, reason: str = "") -> None:
        super().__init__(description)
        self.code = code
        self.name = name
        self.description = description
        self.reason = reason

    def body(self) -> dict[str, Any]:
        """``{"error", "error_name", "error_reason", "error_description", "ref_doc"}``."""
        return {
            "error": self.code,
            "error_name": self.name,
            "error_reason": self.reason,
            "error_description": self.description,
            "ref_doc": REF_DOC,
        }


def pkce_challenge(verifier: str) -> str:
    """base64url-no-pad(SHA-256(verifier)), as Zalo expects for ``code_challenge``."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_auth_code(sandbox: Sandbox, oa_id: str, code_challenge: str | None) -> str:
    """What the consent page does when an admin approves: a single-use code, valid 10 min."""
    serial = sandbox.state.new_zalo_serial()
    code = opaque_id(sandbox.config.seed, "code", oa_id, serial, length=48)
    sandbox.state.auth_codes[code] = {
        "oa_id": oa_id,
        "challenge": code_challenge or None,
        "issued_at": sandbox.now(),
        "used": False,
    }
    sandbox.touch()
    return code


def rotate(sandbox: Sandbox, grant: ZaloGrant) -> dict[str, str]:
    """Move an OA to its next token pair; the old refresh and access tokens die now."""
    now = sandbox.now()
    grant.retired.append(grant.refresh_token)
    if grant.access_token:
        grant.retired.append(grant.access_token)
    del grant.retired[:-20]  # keep the log of dead tokens short
    grant.generation += 1
    seed = sandbox.config.seed
    grant.refresh_token = zalo_token(seed, grant.oa_id, "refresh", grant.generation)
    grant.access_token = zalo_token(seed, grant.oa_id, "access", grant.generation)
    grant.refresh_issued_at = now
    grant.access_expires_at = now + sandbox.config.access_token_lifetime_s
    sandbox.touch()
    return {
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token,
        # A string, as Zalo sends it.
        "expires_in": str(sandbox.config.access_token_lifetime_s),
    }


class ZaloOAuth:
    """Endpoints of ``oauth.zaloapp.com`` (mounted at ``/zalo-oauth``)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    async def access_token(self, request: Request) -> Response:
        """``POST /v4/oa/access_token``: authorization_code and refresh_token grants."""
        form = await request.form()
        params = {k: str(v) for k, v in form.items()}
        oa = self._oa_of(params)
        channel = oa.oa_id if oa else None
        is_refresh = params.get("grant_type") == "refresh_token"
        # A refresh is a write: "accepted then the answer was lost" is exactly how grants die.
        decision = self.sb.faults.decide(channel, is_publish=is_refresh) if channel else None
        outcome = decision.outcome if decision else fault_kinds.OK
        if (
            decision is not None
            and outcome in (fault_kinds.ACCEPT_THEN_ERROR, fault_kinds.ACCEPT_THEN_TIMEOUT)
            and not decision.spec.refresh_accept_then_fail
        ):
            outcome = fault_kinds.OK
        if decision and decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        early = await self._early_fault(request, outcome, decision)
        if early is not None:
            self._log(channel, 0 if outcome != fault_kinds.ERROR else 502, None, outcome)
            return early
        try:
            body = self._grant(request, params)
            error = None
        except OAuthError as exc:
            body, error = exc.body(), exc.code
        if error is None and outcome in (
            fault_kinds.ACCEPT_THEN_ERROR,
            fault_kinds.ACCEPT_THEN_TIMEOUT,
        ):
            self._log(channel, 502, None, outcome)
            if outcome == fault_kinds.ACCEPT_THEN_TIMEOUT:
                await hold_until_client_leaves(request, decision.spec.hang_s)  # type: ignore
            self.sb.save_if_dirty()
            return Response("Bad Gateway", status_code=502, media_type="text/html")
        self._log(channel, 200, error, None)
        self.sb.save_if_dirty()
        return zalo_json(body)

    async def _early_fault(
        self, request: Request, outcome: str, decision: fault_kinds.FaultDecision | None
    ) -> Response | None:
        if decision is None:
            return None
        if outcome == fault_kinds.ERROR:
            return Response("Bad Gateway", status_code=502, media_type="text/html")
        if outcome == fault_kinds.RESET:
            return DropConnection()
        if outcome == fault_kinds.TIMEOUT:
            await hold_until_client_leaves(request, decision.spec.hang_s)
            return Response("Gateway Timeout", status_code=504, media_type="text/html")
        return None

    def _log(self, channel: str | None, status: int, error: int | None, fault: str | None) -> None:
        self.sb.record_request(
            api="zalo-oauth",
            method="POST",
            path="/zalo-oauth/v4/oa/access_token",
            channel=channel,
            status=status,
            error=error,
            fault=None if fault == fault_kinds.OK else fault,
        )

    def _oa_of(self, params: dict[str, str]) -> OaIdentity | None:
        token = params.get("refresh_token")
        code = params.get("code")
        for grant in self.sb.state.grants.values():
            if token and (token == grant.refresh_token or token in grant.retired):
                return self.sb.oas.get(grant.oa_id)
        if code and code in self.sb.state.auth_codes:
            return self.sb.oas.get(self.sb.state.auth_codes[code]["oa_id"])
        return None

    def _grant(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        config = self.sb.config
        if params.get("app_id") != config.zalo_app_id:
            raise OAuthError(-14002, "Invalid app id", "app_id is invalid or not activated")
        if request.headers.get("secret_key") != config.zalo_app_secret:
            raise OAuthError(-14004, "Invalid secret key", "secret_key is invalid")
        grant_type = params.get("grant_type")
        if grant_type == "refresh_token":
            return self._refresh(params.get("refresh_token", ""))
        if grant_type == "authorization_code":
            return self._exchange_code(params.get("code", ""), params.get("code_verifier"))
        raise OAuthError(-14001, "Invalid parameter", "grant_type is invalid")

    def _refresh(self, token: str) -> dict[str, Any]:
        now = self.sb.now()
        for grant in self.sb.state.grants.values():
            if token == grant.refresh_token:
                if now > grant.refresh_issued_at + self.sb.config.refresh_token_lifetime_s:
                    raise OAuthError(
                        -14014,
                        "Invalid refresh token",
                        "Refresh token is invalid",
                        "refresh token has expired",
                    )
                return rotate(self.sb, grant)
            if token in grant.retired:
                raise OAuthError(
                    -14014,
                    "Invalid refresh token",
                    "Refresh token is invalid",
                    "refresh token has already been used",
                )
        raise OAuthError(-14014, "Invalid refresh token", "Refresh token is invalid")

    def _exchange_code(self, code: str, verifier: str | None) -> dict[str, Any]:
        entry = self.sb.state.auth_codes.get(code)
        now = self.sb.now()
        if entry is None or entry["used"] or now > entry["issued_at"] + AUTH_CODE_LIFETIME_S:
            raise OAuthError(-14019, "Invalid authorization code", "code is invalid or expired")
        if entry["challenge"] and pkce_challenge(verifier or "") != entry["challenge"]:
            raise OAuthError(-14019, "Invalid code verifier", "code_verifier is invalid")
        entry["used"] = True
        grant = self.sb.state.grants[entry["oa_id"]]
        # A fresh consent replaces the OA's grant (the old pair dies with it).
        return rotate(self.sb, grant)

    async def permission(self, request: Request) -> Response:
        """``GET /v4/oa/permission``: the consent page, approved at once (demo admin).

        Redirects to ``redirect_uri?code=..&oa_id=..&state=..``.  A non-standard ``oa_id``
        query parameter picks the OA (default: the first one).
        """
        query = request.query_params
        if query.get("app_id") != self.sb.config.zalo_app_id or not query.get("redirect_uri"):
            return zalo_json(OAuthError(-14003, "Invalid redirect uri", "Invalid request").body())
        oa_id = query.get("oa_id") or self.sb.config.oas[0].oa_id
        if oa_id not in self.sb.oas:
            return zalo_json(OAuthError(-14002, "Invalid oa id", "oa_id is invalid").body())
        code = issue_auth_code(self.sb, oa_id, query.get("code_challenge"))
        target = {"code": code, "oa_id": oa_id}
        if query.get("state"):
            target["state"] = query["state"]
        separator = "&" if "?" in query["redirect_uri"] else "?"
        self.sb.save_if_dirty()
        return RedirectResponse(f"{query['redirect_uri']}{separator}{urlencode(target)}", 302)


def zalo_oauth_app(sandbox: Sandbox) -> Starlette:
    """The OAuth stand-in as an ASGI app (mounted at ``/zalo-oauth``)."""
    oauth = ZaloOAuth(sandbox)

    async def not_found(request: Request) -> Response:
        return zalo_json({"error": -404, "message": "Not found"}, status=404)

    return Starlette(
        routes=[
            Route("/v4/oa/access_token", oauth.access_token, methods=["POST"]),
            Route("/v4/oa/permission", oauth.permission, methods=["GET"]),
            Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        ],
        exception_handlers=HANDLERS,
    )
