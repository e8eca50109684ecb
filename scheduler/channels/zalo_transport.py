"""One Zalo Official Account's OpenAPI connection: the access token, calls, reads.

:class:`ZaloTransport` is what every part of the OA client (publishing, the article list and
its figures, health, the citizens' calls) calls through. Calls carry the access token in an
``access_token`` header (not ``Authorization``). Tokens come from the
:class:`~scheduler.channels.credentials.TokenStore`; a -216/-220 answer triggers one refresh
and one retry, then :class:`~scheduler.channels.base.AuthError`. A Zalo error code becomes a
:class:`~scheduler.channels.base.ChannelError` (:mod:`scheduler.channels.zalo_errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from scheduler.channels.base import ChannelError, TransientError
from scheduler.channels.credentials import (
    AccessToken,
    TokenStore,
    bootstrap_token,
    oauth_client,
)
from scheduler.channels.http import get_logger, make_client, was_sent
from scheduler.channels.zalo_errors import (
    BEING_PROCESSED,
    PLATFORM,
    TOKEN_CODES,
    http_error,
    to_channel_error,
)
from scheduler.channels.zalo_oauth import ZaloOAuthClient
from scheduler.config import ZaloChannel

log = get_logger("channels.zalo")

Clock = Callable[[], datetime]
#: Turns a Zalo error code and message into the caller's own error first, or None to leave
#: it to the channel-wide mapping.
Refusal = Callable[[int, Any], ChannelError | None]

#: Calls per list or detail read: a read changes nothing, so one that failed for a passing
#: reason (a 5xx, a timeout) is asked again at once. A look-up of a busy OA reads many pages,
#: and one lost page would otherwise end the whole walk as "could not tell".
READ_TRIES = 3


class Pending(Exception):
    """verify answered -214: the article is still being processed."""


class ZaloTransport:
    """OpenAPI calls for one OA channel, with its access token refreshed when refused."""

    def __init__(
        self,
        channel_id: str,
        config: ZaloChannel,
        *,
        tokens: TokenStore,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.id = channel_id
        self.config = config
        self._tokens = tokens
        self._clock = clock
        self._transport = transport
        self._oauth: ZaloOAuthClient | None = None
        self._token: AccessToken | None = None
        self._http = make_client(
            channel=channel_id,
            base_url=config.base_url,
            timeout_seconds=config.timeout_seconds,
            max_connections=config.max_concurrency,
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()
        if self._oauth is not None:
            await self._oauth.aclose()

    async def _refresh(self, refresh_token: str) -> Any:
        if self._oauth is None:
            self._oauth = oauth_client(self.id, self.config, transport=self._transport)
        return await self._oauth.refresh(refresh_token)

    async def _access_token(self, stale: AccessToken | None = None) -> AccessToken:
        # Kept in memory while not due: if another process rotates the pair meanwhile, Zalo
        # answers -220 and the stale token is swapped for the stored one.
        token = self._token
        if stale is None and token is not None and not token.due(self._clock()):
            return token
        self._token = await self._tokens.access_token(
            self.id, self._refresh, bootstrap=bootstrap_token(self.config), stale=stale
        )
        return self._token

    async def call(
        self,
        method: str,
        path: str,
        *,
        step: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        publish: bool = False,
        refusal: Refusal | None = None,
    ) -> Any:
        """One OpenAPI call; returns ``data``. A refused token is refreshed once and retried.

        ``refusal`` may turn an error code into the caller's own error first (a reply's
        refusals are about the citizen, not the channel)."""
        token = await self._access_token()
        code, message, data = await self._send(method, path, token, params, json, step, publish)
        if code in TOKEN_CODES:
            log.info("%s: Zalo refused the access token (%s); refreshing once", self.id, code)
            token = await self._access_token(stale=token)
            code, message, data = await self._send(method, path, token, params, json, step, publish)
        if code == 0:
            return data
        if code == BEING_PROCESSED and step == "verify":
            raise Pending()
        refused = refusal(code, message) if refusal is not None else None
        if refused is not None:
            raise refused
        raise to_channel_error(code, message, now=self._clock(), step=step)

    async def read(self, path: str, *, params: Mapping[str, str], step: str) -> Any:
        """A GET that changes nothing, asked again at once after a failure that names no wait
        (a rate limit's wait is Zalo's to set, and is raised to the caller)."""
        for _ in range(READ_TRIES - 1):
            try:
                return await self.call("GET", path, params=params, step=step)
            except TransientError as exc:
                if exc.retry_after is not None:
                    raise
                log.info("%s: %s failed (%s); asking again", self.id, step, exc.message)
        return await self.call("GET", path, params=params, step=step)

    async def _send(
        self,
        method: str,
        path: str,
        token: AccessToken,
        params: Mapping[str, str] | None,
        json: Any,
        step: str,
        publish: bool,
    ) -> tuple[int, Any, Any]:
        try:
            response = await self._http.request(
                method, path, params=params, json=json, headers={"access_token": token.value}
            )
        except httpx.TransportError as exc:
            uncertain = publish and was_sent(exc)
            raise TransientError(
                f"Zalo {step}: {type(exc).__name__}"
                + (" (it may have been accepted)" if uncertain else ""),
                uncertain=uncertain,
                platform=PLATFORM,
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "error" not in body:
            raise http_error(response.status_code, step=step, uncertain=publish)
        try:
            code = int(body["error"])
        except (TypeError, ValueError):
            code = -1
        return code, body.get("message"), body.get("data")
