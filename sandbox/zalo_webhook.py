"""The Zalo app's webhook: its settings, the events signed as Zalo signs them, and Zalo's
delivery rules (docs/platforms/zalo-oa.md#webhooks).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sandbox.citizens import (
    WebhookDelivery,
    ZaloWebhook,
)
from sandbox.clock import iso_utc
from sandbox.config import derive_secret
from sandbox.runtime import Sandbox
from sandbox.webhooks import PlatformRules

PLATFORM = "zalo"

#: "Re-sent after 30 s, 5 min, 15 min, 30 min, 1 h"
#: (docs/platforms/zalo-oa.md#delivery-and-retries). Read as offsets from the first attempt: "if
#: still failing in that period" the webhook is disabled, and a 90-minute outage must outlast the
#: retries (the case the backfill exists for), which it would not if they added up (1 h 50).
RETRY_OFFSETS_S = (30.0, 300.0, 900.0, 1800.0, 3600.0)
#: "Respond ... within 2 seconds" (docs/platforms/zalo-oa.md#delivery-and-retries).
DEFAULT_TIMEOUT_S = 2.0
RETRY_OUTCOMES = ("refused", "status", "timeout", "error")
USER_TYPES = ("text", "image", "gif", "link", "audio", "video", "file", "sticker", "location")
ANONYMOUS_TYPES = ("text", "image", "sticker")
EVENTS = (
    *(f"user_send_{kind}" for kind in USER_TYPES),
    "user_send_business_card",
    *(f"anonymous_send_{kind}" for kind in (*ANONYMOUS_TYPES, "file")),
    "follow",
    "unfollow",
    "user_submit_info",
    "user_click_chatnow",
    "user_withdraw",
    "user_reacted_message",
    "user_received_message",
    "user_seen_message",
    "oa_send_text",
    "oa_send_image",
    "oa_send_gif",
    "oa_send_list",
    "oa_send_file",
    "oa_send_sticker",
)


def oa_secret_key(sb: Sandbox, oa_id: str) -> str:
    """The OA Secret Key shown in the app's webhook settings (the signing key,
    docs/platforms/zalo-oa.md#signatures)."""
    hook = sb.state.inbox.zalo_webhook
    if hook is not None and oa_id in hook.oa_secret_keys:
        return hook.oa_secret_keys[oa_id]
    return derived_oa_secret_key(sb.config.seed, sb.config.zalo_app_id, oa_id)


def derived_oa_secret_key(seed: int | str, app_id: str, oa_id: str) -> str:
    """The OA secret key a sandbox started with ``seed`` uses unless one was registered (the
    same after a restart, like the tokens)."""
    return derive_secret(seed, f"zalo-oa-secret:{app_id}:{oa_id}", 20)


def zalo_mac(app_id: str, body: str, timestamp: str, secret: str) -> str:
    """``sha256(appId + data + timeStamp + OAsecretKey)`` in lowercase hex: a plain SHA-256
    of the concatenation, not an HMAC (docs/platforms/zalo-oa.md#signatures)."""
    return hashlib.sha256((app_id + body + timestamp + secret).encode("utf-8")).hexdigest()


def zalo_body(payload: dict[str, Any]) -> str:
    """The event's JSON text (UTF-8, Vietnamese unescaped), exactly the bytes signed."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def deliver(
    sb: Sandbox, oa_id: str, payload: dict[str, Any], *, text: str | None = None
) -> WebhookDelivery | None:
    """Send one event to the app's webhook, signed with the OA's secret key.

    ``text`` is the message text, for the syntax filter. Nothing is recorded when no webhook
    is registered; an event switched off, filtered or sent while the webhook is disabled is
    kept as ``filtered`` with the reason.
    """
    hook = sb.state.inbox.zalo_webhook
    if hook is None:
        return None
    name = str(payload["event_name"])
    body = zalo_body(payload)
    mac = zalo_mac(sb.config.zalo_app_id, body, str(payload["timestamp"]), oa_secret_key(sb, oa_id))
    # Official pages write "mac = sha256(...)"; integrators compare "mac=<hex>"
    # (docs/platforms/zalo-oa.md#signatures).
    signature = f"mac={mac}" if hook.signature_format == "mac" else mac
    headers = {"Content-Type": "application/json", "X-ZEvent-Signature": signature}
    filtered = None
    if not hook.enabled:
        filtered = f"webhook disabled: {hook.disabled_reason}"
    elif hook.events is not None and name not in hook.events:
        filtered = f"event {name} is not switched on"
    elif (
        hook.syntax_filter
        and name in ("user_send_text", "anonymous_send_text")
        and not (text or "").startswith("#")
    ):
        # "Lọc cú pháp": only texts starting with '#' reach the webhook
        # (docs/platforms/zalo-oa.md#registering-the-webhook).
        filtered = "syntax filter: the text does not start with #"
    return sb.webhooks.submit(
        platform=PLATFORM,
        channel=oa_id,
        url=hook.url,
        body=body,
        headers=headers,
        events=[name],
        timeout_s=hook.timeout_s,
        filtered=filtered,
    )


def zalo_rules(sb: Sandbox) -> PlatformRules:
    """Zalo's delivery rules: ``num_retry`` on retries; disabled when the last one fails."""

    def retry_headers(delivery: WebhookDelivery, number: int) -> dict[str, str]:
        # Retries carry identical content plus "num_retry" = the retry count
        # (docs/platforms/zalo-oa.md#delivery-and-retries).
        return {"num_retry": str(number)} if number else {}

    def retries(delivery: WebhookDelivery, outcome: str) -> bool:
        hook = sb.state.inbox.zalo_webhook
        return hook is not None and outcome in hook.retry_on

    def on_give_up(delivery: WebhookDelivery) -> None:
        hook = sb.state.inbox.zalo_webhook
        if hook is None or not hook.enabled:
            return
        # "the webhook is disabled, the app is unsubscribed from the OA's events"
        # (docs/platforms/zalo-oa.md#delivery-and-retries).
        hook.enabled = False
        hook.disabled_at = delivery.attempts[-1].scheduled_at
        hook.disabled_reason = (
            f"delivery {delivery.id} still failed after its last retry; re-request event "
            "permission (PUT /_sandbox/zalo/webhook)"
        )
        for other in sb.state.inbox.deliveries:
            if other.platform == PLATFORM:
                sb.webhooks.drop(other, f"webhook disabled after {delivery.id}")
        sb.touch()

    return PlatformRules(
        retry_offsets_s=RETRY_OFFSETS_S,
        retries=retries,
        retry_headers=retry_headers,
        on_give_up=on_give_up,
    )


def register_webhook(sb: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``PUT /_sandbox/zalo/webhook``: the app's webhook URL and settings
    (docs/platforms/zalo-oa.md#registering-the-webhook); enabled again
    when Zalo had disabled it."""
    url = str(body.get("url") or "")
    if not url.startswith(("http://", "https://")):
        raise ValueError("url (http or https) is required")
    events = body.get("events")
    if events is not None:
        events = field_names(events, "events", EVENTS)
    signature_format = str(body.get("signature_format") or "mac")
    if signature_format not in ("mac", "hex"):
        raise ValueError('signature_format must be "mac" (mac=<hex>) or "hex"')
    retry_on = field_names(body.get("retry_on", list(RETRY_OUTCOMES)), "retry_on", RETRY_OUTCOMES)
    keys = body.get("oa_secret_keys") or {}
    if not isinstance(keys, dict) or any(oa not in sb.oas for oa in keys):
        raise ValueError("oa_secret_keys: expected {oa_id: key} for known OAs")
    sb.state.inbox.zalo_webhook = ZaloWebhook(
        url=url,
        events=events,
        syntax_filter=bool(body.get("syntax_filter", False)),
        signature_format=signature_format,
        timeout_s=float(body.get("timeout_s", DEFAULT_TIMEOUT_S)),
        created_at=sb.now(),
        retry_on=retry_on,
        oa_secret_keys={str(k): str(v) for k, v in keys.items()},
    )
    sb.touch()
    return webhook_view(sb)


def webhook_view(sb: Sandbox) -> dict[str, Any]:
    """``GET /_sandbox/zalo/webhook``."""
    hook = sb.state.inbox.zalo_webhook
    view = None
    if hook is not None:
        view = {
            "url": hook.url,
            "events": hook.events,
            "syntax_filter": hook.syntax_filter,
            "signature_format": hook.signature_format,
            "timeout_s": hook.timeout_s,
            "retry_on": hook.retry_on,
            "enabled": hook.enabled,
            "disabled_at": iso_utc(hook.disabled_at) if hook.disabled_at else None,
            "disabled_reason": hook.disabled_reason,
        }
    return {
        "webhook": view,
        "app_id": sb.config.zalo_app_id,
        "oa_secret_keys": {oa.oa_id: oa_secret_key(sb, oa.oa_id) for oa in sb.config.oas},
    }


def field_names(value: Any, what: str, allowed: tuple[str, ...]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what}: expected a list of names")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ValueError(f"{what}: unknown {unknown}; expected some of {list(allowed)}")
    return list(value)
