"""Graph token endpoints: ``/debug_token`` and the long-lived exchange ``/oauth/access_token``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.graph_call import GraphCall
from sandbox.graph_errors import GraphError, invalid_parameter, token_error
from sandbox.runtime import Sandbox


def dead_token(sb: Sandbox, kind: str) -> GraphError:
    """The 190 error for a token killed in the way ``kind`` names (expired, logged out...)."""
    now_text = datetime.fromtimestamp(sb.now()).strftime("%A, %d-%b-%y %H:%M:%S UTC")
    return token_error(kind, now_text=now_text, app_id=sb.config.graph_app_id)


def debug_token(sb: Sandbox, call: GraphCall) -> dict[str, Any]:
    """``GET /debug_token?input_token=``: type, validity, scopes and expiry of a token
    (docs/platforms/facebook-graph.md#token-debugging). Scopes and expiry are the page's grant, as
    the control API set it; an expired or fault-killed token is ``is_valid: false`` with its 190
    error."""
    token = call.params.get("input_token")
    if not token:
        raise invalid_parameter("The parameter input_token is required")
    config = sb.config
    now = int(sb.now())
    base: dict[str, Any] = {"app_id": config.graph_app_id, "application": "Loa Sandbox"}
    page = sb.page_by_token.get(token)
    if page is not None:
        grant = sb.app.page_grants[page.page_id]
        expires_at = int(grant.expires_at)
        scopes = sorted(grant.scopes)
        page_data = {
            **base,
            "type": "PAGE",
            "data_access_expires_at": now + 90 * 86400,
            "expires_at": expires_at,
            "issued_at": now - 86400,
            "profile_id": page.page_id,
            "user_id": config.graph_user_id,
        }
        spec = sb.faults.spec_for(page.page_id)
        kind = spec.auth if spec is not None and spec.auth else None
        if kind is None and expires_at and now >= expires_at:
            kind = "expired"
        if kind is not None:
            error = dead_token(sb, kind)
            detail = {"code": 190, "message": error.message, "subcode": error.subcode}
            return {"data": {**page_data, "is_valid": False, "error": detail, "scopes": []}}
        data = {
            **page_data,
            "is_valid": True,
            "scopes": scopes,
            "granular_scopes": [
                {"scope": scope, "target_ids": [page.page_id]}
                for scope in scopes
                if scope.startswith("pages_") or scope == "read_insights"
            ],
        }
        return {"data": data}
    if token == config.graph_user_token:
        data = {
            **base,
            "type": "USER",
            "data_access_expires_at": now + 90 * 86400,
            "expires_at": now + 60 * 86400,
            "is_valid": True,
            "issued_at": now - 86400,
            "scopes": sorted(sb.app.user_scopes),
            "user_id": config.graph_user_id,
        }
        return {"data": data}
    if token == config.graph_app_token:
        return {"data": {**base, "type": "APP", "is_valid": True, "scopes": []}}
    detail = {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"}
    return {"data": {"is_valid": False, "error": detail, "scopes": []}}


def oauth_access_token(sb: Sandbox, call: GraphCall) -> dict[str, Any]:
    """``/oauth/access_token``: the long-lived exchange (``grant_type=fb_exchange_token``),
    a code exchange, or the app token (``grant_type=client_credentials``, answered
    ``{app_id}|{app_secret}``, which never expires:
    docs/platforms/facebook-graph.md#tokens)."""
    config = sb.config
    params = call.params
    if params.get("client_id") != config.graph_app_id or (
        params.get("client_secret") != config.graph_app_secret
    ):
        raise GraphError(101, "Error validating application. Invalid application ID or secret.")
    if params.get("grant_type") == "client_credentials":
        return {"access_token": config.graph_app_token, "token_type": "bearer"}
    if params.get("grant_type") == "fb_exchange_token":
        if params.get("fb_exchange_token") != config.graph_user_token:
            raise token_error("invalid")
    elif not params.get("code"):
        raise invalid_parameter("Missing authorization code")
    return {
        "access_token": config.graph_user_token,
        "token_type": "bearer",
        "expires_in": 5_183_944,
    }


# ----------------------------------------------------------------- lists
