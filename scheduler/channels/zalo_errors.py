"""Zalo OpenAPI error codes mapped onto Loa's error classes (docs/platforms/zalo-oa.md#errors).

Zalo answers application errors with HTTP 200 and ``{"error": <negative>, "message": ...}``:
the body decides, never the status.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.channels.base import AuthError, ChannelError, ContentError, TransientError
from scheduler.channels.http import redact

PLATFORM = "zalo_oa"
OFFICE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: Token problems: refresh once, then report AuthError. Zalo answers -220 for an expired or revoked
#: token and -216 for a malformed or unknown one (docs/platforms/zalo-oa.md#tokens-and-refresh);
#: some clients expect -216 on expiry as well, so both are taken as "refresh, then stop".
TOKEN_CODES = frozenset({-216, -220})
#: -223 without "quota" in its message: "Official Account has not authorized this API", the
#: OA did not grant the permission group the call needs
#: (docs/platforms/zalo-oa.md#permission-groups).
NOT_AUTHORIZED = -223
#: The permission group article calls need (docs/platforms/zalo-oa.md#permission-groups).
ARTICLE_PERMISSION = "Quản lý bài viết"
RATE_LIMIT = -32
BEING_PROCESSED = -214
NIGHT_BAN = -234
QUOTA_CODES = frozenset({-211, -223})
#: The OA, app or package cannot do this at all: a person must fix the account.
ACCOUNT_CODES = frozenset({-204, -205, -209, -212, -219, -221, -224, -235, -240, -242, -320, -321})
#: When broadcasts are allowed again (office time).
MORNING = time(6, 0)


def seconds_to_next_minute(now: datetime) -> float:
    """Zalo's call limit is per minute: wait for the next one (plus a second of slack)."""
    return 60.0 - now.second - now.microsecond / 1e6 + 1.0


def seconds_until_morning(now: datetime) -> float:
    """Seconds until the next 06:00 in Asia/Ho_Chi_Minh (the end of the night ban)."""
    local = now.astimezone(OFFICE_TZ)
    morning = datetime.combine(local.date(), MORNING, tzinfo=OFFICE_TZ)
    if local >= morning:
        morning += timedelta(days=1)
    return (morning - local).total_seconds()


def seconds_until_next_month(now: datetime) -> float:
    """Seconds until 00:05 on the 1st of next month, office time (monthly quotas reset)."""
    local = now.astimezone(OFFICE_TZ)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    start = datetime(year, month, 1, 0, 5, tzinfo=OFFICE_TZ)
    return (start - local).total_seconds()


def to_channel_error(code: int, message: Any, *, now: datetime, step: str) -> ChannelError:
    """The Loa error for a Zalo error ``code`` met during ``step`` ("create", "verify", ...)."""
    text = redact(str(message or "no message"))
    kw: dict[str, Any] = {"code": code, "platform": PLATFORM}
    if code in TOKEN_CODES:
        return AuthError(f"Zalo access token refused: {text}", **kw)
    if code == RATE_LIMIT:
        return TransientError(
            f"Zalo rate limit: {text}",
            retry_after=seconds_to_next_minute(now),
            channel_wide=True,
            **kw,
        )
    if code == NIGHT_BAN:
        return TransientError(
            f"Zalo refuses broadcasts at night: {text}",
            retry_after=seconds_until_morning(now),
            **kw,
        )
    if code == NOT_AUTHORIZED and "quota" not in text.lower():
        # -223 also means "the OA has not authorized this API".
        return AuthError(f"Zalo permission missing: {text}", **kw)
    if code in QUOTA_CODES:
        # The monthly article quota is used up. The post itself is fine and publishes once the
        # quota renews, so it waits (the office sees why in the delivery's last error) rather
        # than failing and having to be re-queued by hand.
        return TransientError(
            f"Zalo quota used up for this month: {text}",
            retry_after=seconds_until_next_month(now),
            channel_wide=True,
            **kw,
        )
    if code in ACCOUNT_CODES:
        return AuthError(f"Zalo OA cannot do this ({step}): {text}", **kw)
    if code == -200 and step == "verify":
        return ContentError(f"Zalo could not build the article (cover or image): {text}", **kw)
    return ContentError(f"Zalo refused the {step}: {text}", **kw)


def http_error(status: int, *, step: str, uncertain: bool) -> ChannelError:
    """An answer without Zalo's JSON envelope."""
    if status == 404:
        return AuthError(
            f"Zalo answered HTTP 404 for the {step} (API path unknown: check base_url)",
            platform=PLATFORM,
        )
    if status >= 500 or status in (408, 429):
        return TransientError(
            f"Zalo answered HTTP {status} ({step})",
            uncertain=uncertain and status >= 500,
            platform=PLATFORM,
        )
    return ContentError(f"Zalo answered HTTP {status} ({step})", platform=PLATFORM)
