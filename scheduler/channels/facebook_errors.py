"""Graph API error envelopes mapped onto Loa's error classes.

The codes and what Loa does with each: docs/platforms/facebook-graph.md#errors.

Logic keys on the error *code*, never on the HTTP status: Graph sends most errors as 400,
throttles have been seen as 403 and unknown errors as 500.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scheduler.channels.base import AuthError, ChannelError, ContentError, TransientError
from scheduler.channels.http import redact

PLATFORM = "facebook"

#: Throttling codes: app (4), user (17), page (32), application limit (341), custom (613),
#: and the Pages Business-Use-Case family (80000-80014).
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
#: Outage-like codes: the request may or may not have done its work.
SERVICE_CODES = frozenset({1, 2})
#: 368 subcode meaning "posting too fast": temporary, unlike the other 368 verdicts.
POSTING_TOO_FAST = 1390008
#: Content refusals: duplicate (506), media missing/invalid (324), link scrape failed (1609005).
CONTENT_CODES = frozenset({506, 324, 1609005})
#: Insight-metric refusal: ``(#100) The value must be a valid insights metric``.
INVALID_METRIC_TEXT = "valid insights metric"
#: Code 100 answers about ``appsecret_proof`` (missing or wrong) carry this in the message.
PROOF_TEXT = "appsecret_proof"
#: "Unknown path components" (e.g. a Graph version that does not exist).
UNKNOWN_PATH = 2500
#: Wait after a 368/1390008 "posting too fast" block when Graph names no time.
POSTING_BLOCK_WAIT = 15 * 60.0


@dataclass(frozen=True)
class GraphErrorBody:
    """The fields of a Graph ``{"error": {...}}`` envelope Loa uses."""

    code: int | None
    subcode: int | None
    message: str
    is_transient: bool = False
    user_message: str | None = None

    @property
    def is_invalid_metric(self) -> bool:
        """The insights call named a metric Graph no longer (or never) knew."""
        return self.code == 100 and INVALID_METRIC_TEXT in self.message


def parse_error(body: Any) -> GraphErrorBody | None:
    """The error in a decoded Graph body, or None when it is not an error envelope."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    err = body["error"]
    return GraphErrorBody(
        code=_int(err.get("code")),
        subcode=_int(err.get("error_subcode")),
        message=redact(str(err.get("message") or "unknown Graph error")),
        is_transient=bool(err.get("is_transient")),
        user_message=redact(str(err["error_user_msg"])) if err.get("error_user_msg") else None,
    )


def to_channel_error(
    error: GraphErrorBody,
    *,
    status: int,
    publish: bool,
    retry_after: float | None = None,
) -> ChannelError:
    """The Loa error for a Graph error.

    ``publish`` marks the call that creates the post: an outage answer there leaves the
    outcome unknown. ``retry_after`` is the throttle wait derived from the usage headers.
    """
    code, sub = error.code, error.subcode
    text = error.message
    if error.user_message and error.user_message not in text:
        text = f"{text} ({error.user_message})"
    kw: dict[str, Any] = {"code": code, "subcode": sub, "platform": PLATFORM}
    if code in (190, 102):
        return AuthError(f"Facebook token no longer valid, reconnect the Page: {text}", **kw)
    if code == 100 and PROOF_TEXT in text:
        # The app has "Require App Secret" on (or the secret is another app's): every call of
        # the channel fails the same way, so the channel pauses instead of failing each post.
        return AuthError(
            f"Facebook app requires appsecret_proof: {text}; reference the app's secret as "
            "app_secret in channels.toml",
            **kw,
        )
    if code == UNKNOWN_PATH:
        # A version Graph does not know (or a path it cannot route): a configuration matter.
        return AuthError(
            f"Facebook cannot route the call (check graph_version and base_url in "
            f"channels.toml): {text}",
            **kw,
        )
    if code == 10 or (code is not None and 200 <= code <= 299) or code == 3:
        return AuthError(f"Facebook permission missing: {text}", **kw)
    if code in THROTTLE_CODES:
        return TransientError(
            f"Facebook rate limit: {text}", retry_after=retry_after, channel_wide=True, **kw
        )
    if code == 368:
        if sub == POSTING_TOO_FAST:
            wait = retry_after if retry_after is not None else POSTING_BLOCK_WAIT
            return TransientError(
                f"Facebook: posting too fast: {text}", retry_after=wait, channel_wide=True, **kw
            )
        return ContentError(f"Facebook refused the content: {text}", **kw)
    if code in CONTENT_CODES:
        return ContentError(f"Facebook refused the content: {text}", **kw)
    if code in SERVICE_CODES or status >= 500:
        return TransientError(f"Facebook service error: {text}", uncertain=publish, **kw)
    if error.is_transient:
        return TransientError(f"Facebook temporary error: {text}", uncertain=publish, **kw)
    # 100 (bad parameter / missing object) and anything unknown: the request itself is wrong,
    # sending it again unchanged will not help.
    return ContentError(f"Facebook refused the request: {text}", **kw)


def http_error(status: int, *, publish: bool) -> ChannelError:
    """An answer without a Graph error envelope (a proxy's HTML page, an empty 502...)."""
    if status >= 500 or status in (408, 429):
        return TransientError(
            f"Facebook answered HTTP {status}",
            uncertain=publish and status >= 500,
            platform=PLATFORM,
        )
    return ContentError(f"Facebook answered HTTP {status} without an error body", platform=PLATFORM)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
