"""The Meta app's webhook for Pages: registration with Meta's verification handshake, the body
as Meta escapes and signs it, and Meta's delivery rules (docs/platforms/facebook-graph.md#webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from sandbox import citizens as people
from sandbox.citizens import (
    GraphWebhook,
    WebhookDelivery,
)
from sandbox.clock import iso_utc
from sandbox.runtime import Sandbox
from sandbox.webhooks import PlatformRules

PLATFORM = "graph"
#: Meta: "retry immediately, then try a few more times with decreasing frequency over the next 36
#: hours" (docs/platforms/facebook-graph.md#delivery-and-retries). Meta gives no exact times; these
#: are the sandbox's, offsets from the first attempt, ending at 36 h.
RETRY_OFFSETS_S = (0, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 36 * 3600)
#: Messenger webhooks time out after 20 seconds
#: (docs/platforms/facebook-graph.md#delivery-and-retries).
DEFAULT_TIMEOUT_S = 20.0
WEBHOOK_FIELDS = (
    "feed",
    "messages",
    "message_echoes",
    "message_deliveries",
    "message_reads",
    "message_reactions",
    "message_edits",
)
#: Fields Messenger delivers (their sustained failure unsubscribes the app,
#: docs/platforms/facebook-graph.md#delivery-and-retries).
MESSENGER_FIELDS = tuple(f for f in WEBHOOK_FIELDS if f != "feed")


def meta_json(payload: Any) -> str:
    """The body as Meta sends it: ``\\uXXXX`` escapes in lowercase hex for every non-ASCII
    character and ``\\/`` for slashes (docs/platforms/facebook-graph.md#signatures: Meta signs "an
    escaped unicode version of the payload, with lowercase hex digits"; older Messenger
    documentation adds ``\\/``)."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/")


def signature_headers(app_secret: str, body: str) -> dict[str, str]:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``
    (docs/platforms/facebook-graph.md#signatures), and the
    legacy SHA-1 header Meta still sends beside it (receivers ignore it)."""
    raw = body.encode("utf-8")
    sha256 = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    sha1 = hmac.new(app_secret.encode(), raw, hashlib.sha1).hexdigest()
    return {
        "Content-Type": "application/json",
        "User-Agent": "facebookexternalua",
        "X-Hub-Signature": f"sha1={sha1}",
        "X-Hub-Signature-256": f"sha256={sha256}",
    }


def deliver(
    sb: Sandbox, page_id: str, field: str, entry: dict[str, Any], event: str
) -> WebhookDelivery | None:
    """Send one entry to the app's callback, if the app and the Page subscribed to ``field``.

    A Page that did not install the app (or was unsubscribed after failures) gets nothing sent;
    the delivery is kept as ``filtered`` so a test can see why
    (docs/platforms/facebook-graph.md#subscribing-a-page).
    """
    inbox = sb.state.inbox
    hook = inbox.graph_webhook
    if hook is None:
        return None
    body = meta_json({"object": "page", "entry": [entry]})
    headers = signature_headers(sb.config.graph_app_secret, body)
    filtered = None
    page_fields = inbox.page_subscriptions.get(page_id)
    if field not in hook.fields:
        filtered = f"the app's webhook is not subscribed to {field}"
    elif page_fields is None:
        gone = inbox.page_unsubscribed.get(page_id)
        filtered = (
            gone["reason"] if gone else "the Page has not installed the app (subscribed_apps)"
        )
    elif field not in page_fields:
        filtered = f"the Page did not subscribe the app to {field}"
    return sb.webhooks.submit(
        platform=PLATFORM,
        channel=page_id,
        url=hook.callback_url,
        body=body,
        headers=headers,
        events=[f"{field}:{event}"],
        timeout_s=hook.timeout_s,
        filtered=filtered,
    )


def graph_rules(sb: Sandbox) -> PlatformRules:
    """Meta's delivery rules: the 36-hour retries, and Messenger's unsubscribe-on-failure."""

    def on_failure(delivery: WebhookDelivery) -> None:
        if not any(e.split(":")[0] in MESSENGER_FIELDS for e in delivery.events):
            return
        inbox = sb.state.inbox
        hook = inbox.graph_webhook
        # Simulated failure time: when the attempt was due, however late the clock ran it.
        failed_at = delivery.attempts[-1].scheduled_at
        since = inbox.page_failing_since.setdefault(delivery.channel, failed_at)
        if hook is None or not hook.unsubscribe_after_s:
            return
        if failed_at - since >= hook.unsubscribe_after_s:
            # "no 200 for an extended period -> ... app unsubscribed from the Page"
            # (docs/platforms/facebook-graph.md#delivery-and-retries).
            reason = (
                f"Meta unsubscribed the app from Page {delivery.channel} after "
                f"{hook.unsubscribe_after_s:g} s of failed Messenger deliveries"
            )
            inbox.page_subscriptions.pop(delivery.channel, None)
            inbox.page_failing_since.pop(delivery.channel, None)
            inbox.page_unsubscribed[delivery.channel] = {"at": failed_at, "reason": reason}
            for other in inbox.deliveries:
                if other.platform == PLATFORM and other.channel == delivery.channel:
                    sb.webhooks.drop(other, reason)

    def on_success(delivery: WebhookDelivery) -> None:
        sb.state.inbox.page_failing_since.pop(delivery.channel, None)

    return PlatformRules(
        retry_offsets_s=RETRY_OFFSETS_S, on_failure=on_failure, on_success=on_success
    )


async def register_webhook(sb: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``PUT /_sandbox/graph/webhook``: verify the callback as Meta does, then subscribe.

    Meta calls ``GET callback?hub.mode=subscribe&hub.challenge=N&hub.verify_token=T`` and expects
    HTTP 200 with exactly ``N`` (docs/platforms/facebook-graph.md#verification-handshake); anything
    else keeps the old settings and raises ``ValueError`` with the dashboard's complaint.
    """
    url = str(body.get("callback_url") or "")
    token = str(body.get("verify_token") or "")
    if not url.startswith(("http://", "https://")) or not token:
        raise ValueError("callback_url (http or https) and verify_token are required")
    fields = field_names(body.get("fields", ["feed", "messages"]), "fields", WEBHOOK_FIELDS)
    pages = field_names(body.get("pages", []), "pages", tuple(sb.pages))
    timeout_s = float(body.get("timeout_s", DEFAULT_TIMEOUT_S))
    challenge = people.stable_digits(sb.config.seed, f"challenge:{sb.state.inbox.serial()}", 10)
    params = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": token}
    try:
        response = await sb.webhooks.http().get(url, params=params, timeout=timeout_s)
    except Exception as exc:  # any transport failure is "could not be validated"
        raise ValueError(
            f"The URL couldn't be validated. Callback verification failed: {type(exc).__name__}"
        ) from None
    if response.status_code != 200:
        raise ValueError(
            "The URL couldn't be validated. Callback verification failed with the following "
            f"errors: HTTP Status Code = {response.status_code}; HTTP Message = "
            f"{response.reason_phrase}"
        )
    if response.text != challenge:
        raise ValueError(
            "The URL couldn't be validated. Response does not match challenge, expected "
            f'value="{challenge}", received="{response.text[:100]}"'
        )
    inbox = sb.state.inbox
    inbox.graph_webhook = GraphWebhook(
        callback_url=url,
        verify_token=token,
        fields=fields,
        timeout_s=timeout_s,
        created_at=sb.now(),
        unsubscribe_after_s=float(body.get("unsubscribe_after_s", 3600.0)),
    )
    for page_id in pages:
        subscribe_page(sb, page_id, fields)
    sb.touch()
    return webhook_view(sb) | {"handshake": {"challenge": challenge, "answer": response.text}}


def subscribe_page(sb: Sandbox, page_id: str, fields: list[str]) -> None:
    """The Page installs the app for ``fields`` (clears an unsubscription after failures)."""
    inbox = sb.state.inbox
    inbox.page_subscriptions[page_id] = list(fields)
    inbox.page_unsubscribed.pop(page_id, None)
    inbox.page_failing_since.pop(page_id, None)
    sb.touch()


def webhook_view(sb: Sandbox) -> dict[str, Any]:
    """``GET /_sandbox/graph/webhook``."""
    inbox = sb.state.inbox
    hook = inbox.graph_webhook
    return {
        "webhook": None
        if hook is None
        else {
            "callback_url": hook.callback_url,
            "verify_token": hook.verify_token,
            "fields": hook.fields,
            "timeout_s": hook.timeout_s,
            "unsubscribe_after_s": hook.unsubscribe_after_s,
            "created_at": iso_utc(hook.created_at),
        },
        "app_secret": sb.config.graph_app_secret,
        "pages": inbox.page_subscriptions,
        "failing_since": inbox.page_failing_since,
        "unsubscribed": inbox.page_unsubscribed,
    }


def field_names(value: Any, what: str, allowed: tuple[str, ...]) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what}: expected a list of names")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ValueError(f"{what}: unknown {unknown}; expected some of {list(allowed)}")
    return list(value)
