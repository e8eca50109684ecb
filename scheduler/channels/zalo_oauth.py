"""Zalo's OAuth v4 token endpoint, refresh grant (docs/platforms/zalo-oa.md#tokens-and-refresh).

``POST {oauth_url}/v4/oa/access_token`` with the app secret in a ``secret_key`` header and a
form of ``app_id``, ``grant_type=refresh_token``, ``refresh_token``. A success carries
``access_token``, a NEW ``refresh_token`` (the old one is dead from now on) and
``expires_in`` as a string of seconds. Anything without ``access_token`` is a refusal, whatever
the HTTP status (the endpoint answers errors at HTTP 200 with ``error_name``/``error_description``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from scheduler.channels.base import AuthError, TransientError
from scheduler.channels.http import get_logger, make_client, redact, register_secret, was_sent

log = get_logger("channels.zalo_oauth")

PLATFORM = "zalo_oa"
TOKEN_PATH = "v4/oa/access_token"
#: Access tokens last 25 h when Zalo does not say (it always should).
DEFAULT_ACCESS_LIFETIME = 90_000
#: The refresh call's own timeout. Kept short: the OA's refresh lease must outlive it.
REFRESH_TIMEOUT = 15.0


@dataclass(frozen=True)
class TokenPair:
    """A new access/refresh pair as the token endpoint returned it. Tokens never in repr."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int = DEFAULT_ACCESS_LIFETIME


class ZaloOAuthClient:
    """Calls the token endpoint for one Zalo app."""

    def __init__(
        self,
        *,
        oauth_url: str,
        app_id: str,
        app_secret: str,
        channel: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_seconds: float = REFRESH_TIMEOUT,
    ) -> None:
        register_secret(app_secret)
        self._app_id = app_id
        self._secret = app_secret
        self._channel = channel
        self._http = make_client(
            channel=channel,
            base_url=oauth_url,
            timeout_seconds=min(timeout_seconds, REFRESH_TIMEOUT),
            max_connections=1,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"ZaloOAuthClient(channel={self._channel!r}, app_id={self._app_id!r})"

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Trade ``refresh_token`` for a new pair.

        Raises :class:`AuthError` when Zalo refuses the token (used, expired, revoked: a human
        must re-consent) and :class:`TransientError` when the answer did not arrive; then
        ``uncertain`` says whether Zalo may have rotated the pair anyway.
        """
        register_secret(refresh_token)
        form = {
            "app_id": self._app_id,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        try:
            response = await self._http.post(
                TOKEN_PATH, data=form, headers={"secret_key": self._secret}
            )
        except httpx.TransportError as exc:
            raise TransientError(
                f"Zalo token endpoint: {type(exc).__name__}",
                uncertain=was_sent(exc),
                platform=PLATFORM,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("access_token") and body.get("refresh_token"):
            pair = TokenPair(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_in=_seconds(body.get("expires_in")),
            )
            register_secret(pair.access_token, pair.refresh_token)
            return pair
        if response.status_code >= 500 or body is None:
            raise TransientError(
                f"Zalo token endpoint answered HTTP {response.status_code}",
                uncertain=response.status_code >= 500,
                platform=PLATFORM,
            )
        detail = body.get("error_description") or body.get("error_name") or body.get("message")
        reason = body.get("error_reason")
        text = redact(str(detail or "no access_token in the answer"))
        if reason:
            text += f" ({redact(str(reason))})"
        raise AuthError(
            f"Zalo refused the refresh token: {text}",
            code=body.get("error"),
            platform=PLATFORM,
        )

    async def aclose(self) -> None:
        """Close the HTTP connection."""
        await self._http.aclose()


def _seconds(value: object) -> int:
    # Zalo sends expires_in as a string ("90000").
    try:
        seconds = int(str(value).strip())
    except (TypeError, ValueError):
        return DEFAULT_ACCESS_LIFETIME
    return seconds if seconds > 0 else DEFAULT_ACCESS_LIFETIME
