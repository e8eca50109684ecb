"""One Facebook Page's Graph API connection: authentication, pacing, calls, batches, lists.

:class:`GraphTransport` is what every part of the Page client (publishing, metrics, health,
the inbox) calls through: the token goes in the Authorization header, ``appsecret_proof`` in
the query when the app secret is configured
(docs/platforms/facebook-graph.md#app-secret-proof), every answer's usage headers pace the
next call (docs/platforms/facebook-graph.md#rate-limit-headers), and a Graph error becomes a
:class:`~scheduler.channels.base.ChannelError` (:mod:`scheduler.channels.facebook_errors`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from content.errors import LoaError
from scheduler.channels.base import AuthError, ChannelError, TransientError
from scheduler.channels.facebook_errors import (
    PLATFORM,
    THROTTLE_CODES,
    GraphErrorBody,
    http_error,
    parse_error,
    to_channel_error,
)
from scheduler.channels.graph_usage import USAGE_HEADERS, GraphPacer
from scheduler.channels.http import (
    get_logger,
    make_client,
    register_secret,
    strip_params,
    was_sent,
)
from scheduler.config import FacebookChannel

log = get_logger("channels.facebook")

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
#: Turns a Graph error into the caller's own refusal first, or None to leave it to the
#: channel-wide mapping.
Refusal = Callable[[GraphErrorBody], ChannelError | None]

#: Graph's maximum operations per batch request
#: (docs/platforms/facebook-graph.md#batch-requests).
BATCH_LIMIT = 50
#: Pages of 100 a list may read: a guard against a list that never ends.
LIST_MAX_PAGES = 200
#: Graph errors that stop a whole batch run: the token died (190, 102) or Graph throttles.
_RUN_STOPPERS = frozenset({190, 102}) | THROTTLE_CODES


class GraphTransport:
    """Graph calls for one Page channel, authenticated and paced."""

    def __init__(
        self,
        channel_id: str,
        config: FacebookChannel,
        *,
        clock: Clock,
        sleep: Sleep | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.channel_id = channel_id
        self.config = config
        self.pacer = GraphPacer(clock)
        self._sleep = sleep or asyncio.sleep
        self._token: str | None = None
        #: ``appsecret_proof`` for the token, when the app secret is configured ("" when not).
        self._proof: str | None = None
        self._http = make_client(
            channel=channel_id,
            base_url=f"{config.base_url.rstrip('/')}/{config.graph_version}",
            timeout_seconds=config.timeout_seconds,
            max_connections=config.max_concurrency,
            transport=transport,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    # ------------------------------------------------------------------ authentication

    def token(self) -> str:
        """The Page token, read from its secret once (and masked in every log line from then
        on); raises :class:`AuthError` when the secret cannot be read."""
        if self._token is None:
            try:
                token = self.config.token.resolve()
            except LoaError as exc:
                raise AuthError(f"Facebook token unavailable: {exc}", platform=PLATFORM) from None
            register_secret(token)
            self._token = token
        return self._token

    def _appsecret_proof(self) -> str | None:
        """``appsecret_proof`` for the token, or None when no app secret is configured.

        Apps with "Require App Secret" on refuse every call without it
        (docs/platforms/facebook-graph.md#app-secret-proof).
        """
        if self._proof is None:
            proof = ""
            if self.config.app_secret is not None and self._token is not None:
                try:
                    secret = self.config.app_secret.resolve()
                except LoaError as exc:
                    raise AuthError(
                        f"Facebook app secret unavailable: {exc}", platform=PLATFORM
                    ) from None
                register_secret(secret)
                proof = appsecret_proof(self._token, secret)
                register_secret(proof)
            self._proof = proof
        return self._proof or None

    # ------------------------------------------------------------------ calls

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, Any] | None = None,
        json: Any = None,
        publish: bool = False,
        refusal: Refusal | None = None,
    ) -> Any:
        """One Graph call, paced by the usage headers; returns the decoded JSON body.

        ``publish`` marks the call that creates something on the Page: if its outcome is
        unknown the error says so (``uncertain=True``). ``refusal`` may turn a Graph error
        into the caller's own first (a reply's refusals are about the citizen, not the
        channel).
        """
        await self._pace()
        headers = {"Authorization": f"Bearer {self.token()}"}
        proof = self._appsecret_proof()
        if proof:
            # In the query string of every call (batches included): Graph reads it there for
            # GET and POST alike. Log lines show paths only, and the value is masked anyway.
            params = {**(params or {}), "appsecret_proof": proof}
        try:
            response = await self._http.request(
                method, path, params=params, data=data, files=files, json=json, headers=headers
            )
        except httpx.TransportError as exc:
            uncertain = publish and was_sent(exc)
            raise TransientError(
                f"Facebook {method} /{path.split('?')[0]}: {type(exc).__name__}"
                + (" (the post may have been created)" if uncertain else ""),
                uncertain=uncertain,
                platform=PLATFORM,
            ) from None
        self.pacer.observe(response.headers)
        return self._answer(response, publish=publish, refusal=refusal)

    async def _pace(self) -> None:
        """Wait as the usage headers ask, or refuse while Graph has paused the calls."""
        wait = self.pacer.blocked_for()
        if wait > 0:
            raise TransientError(
                f"Facebook rate limit: calls paused for {wait:.0f} s",
                retry_after=wait,
                channel_wide=True,
                platform=PLATFORM,
            )
        delay = self.pacer.delay()
        if delay > 0:
            log.info(
                "%s: Graph usage at %d%%, pausing %.1f s",
                self.channel_id,
                self.pacer.percent,
                delay,
            )
            await self._sleep(delay)

    def _answer(self, response: httpx.Response, *, publish: bool, refusal: Refusal | None) -> Any:
        """The decoded body of a successful answer; otherwise the error it stands for."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = parse_error(body)
        if error is None and response.is_success and body is not None:
            return body
        if error is None:
            raise http_error(response.status_code, publish=publish)
        refused = refusal(error) if refusal is not None else None
        if refused is not None:
            raise refused
        retry_after = None
        if error.code in THROTTLE_CODES:
            retry_after = self.pacer.throttled(response.headers.get("retry-after"))
        raise to_channel_error(
            error, status=response.status_code, publish=publish, retry_after=retry_after
        )

    async def batch(self, operations: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Run up to :data:`BATCH_LIMIT` operations; each answer is its decoded body, a
        :class:`GraphErrorBody`, or None (the operation did not complete).

        The token goes in the Authorization header, which Graph uses as every operation's
        fallback token. A dead token or throttling in any operation stops the whole run (the
        error is raised); any other error is that operation's answer.
        """
        body = await self.call("POST", "", data={"batch": json.dumps(list(operations))})
        if not isinstance(body, list) or len(body) != len(operations):
            raise TransientError("Facebook batch answer has the wrong shape", platform=PLATFORM)
        # Each operation counts as a call and carries its own usage headers: pace on the
        # latest figures reported inside the batch.
        usage = [_op_headers(e) for e in body if isinstance(e, dict)]
        usage = [h for h in usage if any(name in h for name in USAGE_HEADERS)]
        if usage:
            self.pacer.observe(usage[-1])
        answers: list[Any] = []
        for element in body:
            if not isinstance(element, dict):
                answers.append(None)
                continue
            try:
                decoded = json.loads(element.get("body") or "null")
            except ValueError:
                decoded = None
            error = parse_error(decoded)
            if error is None:
                answers.append(decoded)
            elif error.code in _RUN_STOPPERS:
                raise to_channel_error(
                    error,
                    status=int(element.get("code") or 400),
                    publish=False,
                    retry_after=self.pacer.throttled() if error.code in THROTTLE_CODES else None,
                )
            else:
                answers.append(error)
        return answers

    async def list(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        until: datetime | None,
        time_field: str = "created_time",
    ) -> list[dict[str, Any]]:
        """A Graph list, page after page (``paging.next``); newest first, it stops at an item
        whose ``time_field`` is older than ``until``."""
        out: list[dict[str, Any]] = []
        query: Mapping[str, str] | None = {**params, "limit": "100"}
        for _ in range(LIST_MAX_PAGES):
            body = await self.call("GET", path, params=query)
            for item in body.get("data") or []:
                if not isinstance(item, dict):
                    continue
                when = graph_time(item.get(time_field))
                if until is not None and when is not None and when < until:
                    return out
                out.append(item)
            next_url = (body.get("paging") or {}).get("next")
            if not next_url:
                return out
            # paging.next may carry the token as a query parameter: drop it, the header has it.
            path, query = strip_params(next_url), None
        log.warning("%s: %s still had items after %d pages", self.channel_id, path, LIST_MAX_PAGES)
        return out


def appsecret_proof(token: str, app_secret: str) -> str:
    """Hex HMAC-SHA256 of ``token`` keyed by ``app_secret``
    (docs/platforms/facebook-graph.md#app-secret-proof)."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def required_id(body: Any, key: str, *, uncertain: bool = True) -> str:
    """``body[key]`` of a call that created something; a :class:`TransientError` (uncertain
    unless told: the thing may exist) when Graph answered without it."""
    value = body.get(key) if isinstance(body, dict) else None
    if not value:
        raise TransientError(
            f"Facebook answered without {key!r}", uncertain=uncertain, platform=PLATFORM
        )
    return str(value)


def graph_time(value: Any) -> datetime | None:
    """Graph's ``2026-11-23T01:00:00+0000``."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _op_headers(element: Mapping[str, Any]) -> dict[str, str]:
    """A batch operation's headers (a list of name/value pairs) as a lower-cased dict."""
    headers = element.get("headers") or []
    return {
        str(h.get("name", "")).lower(): str(h.get("value", ""))
        for h in headers
        if isinstance(h, dict)
    }
