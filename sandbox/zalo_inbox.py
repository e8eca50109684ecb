"""Zalo OA inbox stand-in: citizens' messages and events, the app's webhook, consultation (CS)
replies inside the 7-day window, and the read endpoints a receiver backfills from.

Every behaviour follows ``shared/reference/inbox.md`` (§A Zalo, §F2 checklist) and the official
pages it cites; where the reference leaves a choice, the comment beside the code says which.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request

from sandbox import citizens as people
from sandbox.citizens import (
    Citizen,
    SentRecord,
    WebhookDelivery,
    ZaloChat,
    ZaloContact,
    ZaloWebhook,
    get_or_create_citizen,
)
from sandbox.clock import iso_utc
from sandbox.config import OaIdentity, derive_secret
from sandbox.runtime import Sandbox
from sandbox.webhooks import PlatformRules
from sandbox.zalo_common import ZaloError, epoch_ms, office_time, opaque_id, success

PLATFORM = "zalo"

#: "Re-sent after 30 s, 5 min, 15 min, 30 min, 1 h" (§A2). Read as offsets from the first
#: attempt: "if still failing in that period" the webhook is disabled, and the checklist's
#: 90-minute outage (§F4) must outlast the retries, which it would not if they added up (1 h 50).
RETRY_OFFSETS_S = (30.0, 300.0, 900.0, 1800.0, 3600.0)
#: "Respond ... within 2 seconds" (§A2).
DEFAULT_TIMEOUT_S = 2.0
RETRY_OUTCOMES = ("refused", "status", "timeout", "error")

CS_WINDOW_S = 7 * 86400  # §A7
FREE_WINDOW_S = 48 * 3600  # §A7: the first 8 messages within 48 h are free
FREE_MESSAGES = 8
CS_TEXT_LIMIT = 2000  # §A7
#: Uploaded attachment ids expire after 7 days (zalo-oa.md §4, single source).
ATTACHMENT_TTL_S = 7 * 86400
RECENT_CHAT_MAX = 10  # §A8: "max 10 per request"

USER_TYPES = ("text", "image", "gif", "link", "audio", "sticker", "location")
ANONYMOUS_TYPES = ("text", "image", "sticker")
#: listrecentchat/conversation name the types differently from webhooks (§A8, trap E8).
ROW_TYPES = {
    "text": "text",
    "image": "photo",
    "gif": "GIF",
    "link": "link",
    "audio": "voice",
    "sticker": "sticker",
    "location": "location",
}
EVENTS = (
    *(f"user_send_{kind}" for kind in USER_TYPES),
    "user_send_video",
    "user_send_file",
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
V2_SHUT_DOWN = (
    "MessageV2 API has been shut down, please switch to MessageV3. See instructions here "
    "https://go.zalo.me/api-v3"
)


# --------------------------------------------------------------------------- webhook


def oa_secret_key(sb: Sandbox, oa_id: str) -> str:
    """The OA Secret Key shown in the app's webhook settings (the signing key, §A3)."""
    hook = sb.state.inbox.zalo_webhook
    if hook is not None and oa_id in hook.oa_secret_keys:
        return hook.oa_secret_keys[oa_id]
    return derive_secret(sb.config.seed, f"zalo-oa-secret:{sb.config.zalo_app_id}:{oa_id}", 20)


def zalo_mac(app_id: str, body: str, timestamp: str, secret: str) -> str:
    """``sha256(appId + data + timeStamp + OAsecretKey)`` in lowercase hex: a plain SHA-256
    of the concatenation, not an HMAC (§A3)."""
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
    # Official pages write "mac = sha256(...)"; integrators compare "mac=<hex>" (§A3).
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
        # "Lọc cú pháp": only texts starting with '#' reach the webhook (§A1).
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
        # Retries carry identical content plus "num_retry" = the retry count (§A2).
        return {"num_retry": str(number)} if number else {}

    def retries(delivery: WebhookDelivery, outcome: str) -> bool:
        hook = sb.state.inbox.zalo_webhook
        return hook is not None and outcome in hook.retry_on

    def on_give_up(delivery: WebhookDelivery) -> None:
        hook = sb.state.inbox.zalo_webhook
        if hook is None or not hook.enabled:
            return
        # "the webhook is disabled, the app is unsubscribed from the OA's events" (§A2).
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
    """``PUT /_sandbox/zalo/webhook``: the app's webhook URL and settings (§A1); enabled again
    when Zalo had disabled it."""
    url = str(body.get("url") or "")
    if not url.startswith(("http://", "https://")):
        raise ValueError("url (http or https) is required")
    events = body.get("events")
    if events is not None:
        events = _names(events, "events", EVENTS)
    signature_format = str(body.get("signature_format") or "mac")
    if signature_format not in ("mac", "hex"):
        raise ValueError('signature_format must be "mac" (mac=<hex>) or "hex"')
    retry_on = _names(body.get("retry_on", list(RETRY_OUTCOMES)), "retry_on", RETRY_OUTCOMES)
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


# --------------------------------------------------------------------------- citizens act


def citizen_message(sb: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/zalo/message``: a citizen writes to an OA (``user_send_<type>``), or
    anonymously through the chat widget (``anonymous_send_<type>``), §A5."""
    oa = _oa(sb, body)
    citizen = _citizen(sb, body)
    kind = str(body.get("type") or "text")
    anonymous = bool(body.get("anonymous"))
    allowed = ANONYMOUS_TYPES if anonymous else USER_TYPES
    if kind not in allowed:
        raise ValueError(f"type must be one of {list(allowed)}")
    text = str(body.get("text") or "")
    if kind == "text" and not text:
        raise ValueError("a text message needs text")
    now = sb.now()
    seed = sb.config.seed
    if anonymous:
        user_id = people.zalo_anonymous_id(seed, citizen.handle, oa.oa_id)
    else:
        user_id = people.zalo_uid(seed, citizen.handle, oa.oa_id)
        _interact(sb, oa, citizen, user_id)
    chat = ZaloChat(
        message_id=_message_id(sb),
        oa_id=oa.oa_id,
        user_id=user_id,
        citizen=citizen.handle,
        src=1,
        time=now,
        kind=kind,
        text=text,
        attachments=_attachments(sb, kind, body),
        quote_msg_id=str(body["quote_msg_id"]) if body.get("quote_msg_id") else None,
        anonymous=anonymous,
    )
    sb.state.inbox.chats.append(chat)
    sb.touch()
    message = _event_message(chat)
    timestamp = str(epoch_ms(now))
    if anonymous:
        payload = {
            "event_name": f"anonymous_send_{kind}",
            "app_id": sb.config.zalo_app_id,
            "sender": {"id": user_id},
            "recipient": {"id": oa.oa_id},
            "message": {"conversation_id": _anonymous_conversation(sb, oa, user_id), **message},
            "timestamp": timestamp,
            "user_id_by_app": people.zalo_uid_by_app(seed, citizen.handle),
        }
    else:
        payload = {
            "app_id": sb.config.zalo_app_id,
            "sender": {"id": user_id},
            "user_id_by_app": people.zalo_uid_by_app(seed, citizen.handle),
            "recipient": {"id": oa.oa_id},
            "event_name": f"user_send_{kind}",
            "message": message,
            "timestamp": timestamp,
        }
    delivery = deliver(sb, oa.oa_id, payload, text=text)
    return {
        "msg_id": chat.message_id,
        "user_id": user_id,
        "timestamp": timestamp,
        "delivery": delivery.id if delivery else None,
    }


def citizen_event(sb: Sandbox, action: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/zalo/{follow,unfollow,submit_info,chatnow,withdraw}`` (§A6)."""
    citizen = _citizen(sb, body)
    seed = sb.config.seed
    by_app = people.zalo_uid_by_app(seed, citizen.handle)
    timestamp = str(epoch_ms(sb.now()))
    app_id = sb.config.zalo_app_id
    if action == "withdraw":
        return _withdraw(sb, citizen, body, timestamp)
    oa = _oa(sb, body)
    user_id = people.zalo_uid(seed, citizen.handle, oa.oa_id)
    contact = _contact(sb, oa, citizen, user_id)
    payload: dict[str, Any]
    if action in ("follow", "unfollow"):
        source = str(body.get("source") or "oa_profile")
        if source not in ("oa_profile", "message_invite", "social_plugin"):
            raise ValueError("source must be oa_profile, message_invite or social_plugin")
        contact.follower = action == "follow"
        if action == "follow":
            _interact(sb, oa, citizen, user_id)
        payload = {
            "oa_id": oa.oa_id,
            "follower": {"id": user_id},
            "user_id_by_app": by_app,
            "event_name": action,
            "source": source,
            "app_id": app_id,
            "timestamp": timestamp,
        }
    elif action == "submit_info":
        info = _info(body.get("info"))
        contact.shared_info = info
        payload = {
            "sender": {"id": user_id},
            "recipient": {"id": oa.oa_id},
            "event_name": "user_submit_info",
            "app_id": app_id,
            "timestamp": timestamp,
            "info": info,
        }
    elif action == "chatnow":
        # Sent once per user and OA, and only to someone who never chatted (§A6).
        chatted = any(c.oa_id == oa.oa_id and c.user_id == user_id for c in sb.state.inbox.chats)
        if contact.chatnow_sent or chatted:
            _interact(sb, oa, citizen, user_id)
            return {"user_id": user_id, "delivery": None, "note": "Zalo sends it only once"}
        contact.chatnow_sent = True
        _interact(sb, oa, citizen, user_id)
        payload = {
            "app_id": app_id,
            "event_name": "user_click_chatnow",
            "oa_id": oa.oa_id,
            "user_id": user_id,
            "user_id_by_app": by_app,
            "timestamp": timestamp,
        }
    else:
        raise LookupError(f"unknown citizen action {action!r}")
    sb.touch()
    delivery = deliver(sb, oa.oa_id, payload)
    return {"user_id": user_id, "delivery": delivery.id if delivery else None}


def _withdraw(
    sb: Sandbox, citizen: Citizen, body: dict[str, Any], timestamp: str
) -> dict[str, Any]:
    """``user_withdraw``: one event per OA the citizen wrote to (or the one named). The
    sandbox keeps its own copy of the chats: Zalo asks partners to delete theirs (§A6), so a
    backfill after a withdrawal still finds them and the receiver must not re-ingest them."""
    seed = sb.config.seed
    if body.get("oa_id"):
        oas = [_oa(sb, body)]
    else:
        oas = [
            sb.oas[c.oa_id] for c in sb.state.inbox.contacts.values() if c.citizen == citizen.handle
        ]
    deliveries = []
    for oa in oas:
        user_id = people.zalo_uid(seed, citizen.handle, oa.oa_id)
        _contact(sb, oa, citizen, user_id).withdrawn_at = sb.now()
        payload = {
            "app_id": sb.config.zalo_app_id,
            "oa_id": oa.oa_id,
            "user_id_by_app": people.zalo_uid_by_app(seed, citizen.handle),
            "user_id": user_id,
            "event_name": "user_withdraw",
            "timestamp": timestamp,
        }
        delivery = deliver(sb, oa.oa_id, payload)
        deliveries.append(delivery.id if delivery else None)
    sb.touch()
    return {
        "user_id_by_app": people.zalo_uid_by_app(seed, citizen.handle),
        "oa_ids": [oa.oa_id for oa in oas],
        "deliveries": deliveries,
        "delivery": deliveries[0] if deliveries else None,
    }


def _oa(sb: Sandbox, body: dict[str, Any]) -> OaIdentity:
    oa = sb.oas.get(str(body.get("oa_id") or ""))
    if oa is None:
        raise LookupError(f"unknown oa_id {body.get('oa_id')!r}")
    return oa


def _citizen(sb: Sandbox, body: dict[str, Any]) -> Citizen:
    name = body.get("name")
    return get_or_create_citizen(
        sb.state.inbox, str(body.get("citizen") or ""), sb.now(), str(name) if name else None
    )


def _contact(sb: Sandbox, oa: OaIdentity, citizen: Citizen, user_id: str) -> ZaloContact:
    inbox = sb.state.inbox
    key = inbox.contact_key(oa.oa_id, user_id)
    contact = inbox.contacts.get(key)
    if contact is None:
        contact = ZaloContact(oa_id=oa.oa_id, user_id=user_id, citizen=citizen.handle)
        inbox.contacts[key] = contact
    return contact


def _interact(sb: Sandbox, oa: OaIdentity, citizen: Citizen, user_id: str) -> None:
    """An interaction opens a new CS window and a new 8-in-48 h free quota (§A7)."""
    contact = _contact(sb, oa, citizen, user_id)
    contact.last_interaction = sb.now()
    contact.replies_since_interaction = 0
    sb.touch()


def _info(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("info must be an object (name, phone, address, city, district, ward)")
    info = {key: str(raw.get(key, "")) for key in ("address", "phone", "city", "district")}
    info["name"] = str(raw.get("name", ""))
    info["ward"] = str(raw.get("ward", ""))
    digits = "".join(ch for ch in str(raw.get("phone", "")) if ch.isdigit())
    # The phone arrives as a JSON number (§A4, §A6): 0912... is sent as 84912...
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    info["phone"] = int(digits) if digits else 0  # type: ignore[assignment]
    return info


def _message_id(sb: Sandbox) -> str:
    """A fresh Zalo message id (20 hex characters, like the documented examples)."""
    serial = sb.state.inbox.serial()
    return opaque_id(sb.config.seed, "zalo-msg", serial, length=20)


def _anonymous_conversation(sb: Sandbox, oa: OaIdentity, user_id: str) -> str:
    return opaque_id(sb.config.seed, "zalo-anon-conversation", oa.oa_id, user_id, length=20)


def _attachments(sb: Sandbox, kind: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Attachment payloads exactly as the official examples (§A5)."""
    token = opaque_id(sb.config.seed, "zalo-media", sb.state.inbox.next_serial, length=20)
    url = str(body.get("url") or "")
    if kind == "text":
        return []
    if kind == "image":
        url = url or f"http://f6.photo.talk.zdn.vn/{token}.jpg"
        thumb = str(body.get("thumbnail") or url.replace("://f6.", "://t.f6."))
        return [{"payload": {"thumbnail": thumb, "url": url}, "type": "image"}]
    if kind == "gif":
        url = url or f"http://cgif.zp.zdn.vn/{token}_n.gif"
        thumb = str(body.get("thumbnail") or f"http://cgif.zp.zdn.vn/{token}_t.jpg")
        return [{"payload": {"thumbnail": thumb, "url": url}, "type": "gif"}]
    if kind == "link":
        if not url:
            raise ValueError("a link message needs url")
        return [
            {
                "payload": {
                    "thumbnail": f"https://link.photo.talk.zdn.vn/photolinkv2/720/{token}",
                    "description": str(body.get("description") or ""),
                    "url": url,
                },
                "type": "link",
            }
        ]
    if kind == "audio":
        url = url or f"http://f1.voice.talk.zdn.vn/{token}/{token}.amr"
        return [{"payload": {"url": url}, "type": "audio"}]
    if kind == "sticker":
        sticker = str(body.get("sticker_id") or token[:19])
        url = url or f"https://api.zalo.me/api/emoticon/oasticker?eid={sticker}&size=130"
        return [{"payload": {"url": url, "id": sticker}, "type": "sticker"}]
    # location: coordinates as strings (§A5).
    try:
        latitude, longitude = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("a location needs latitude and longitude") from None
    coordinates = {"latitude": str(latitude), "longitude": str(longitude)}
    return [{"payload": {"coordinates": coordinates}, "type": "location"}]


def _event_message(chat: ZaloChat) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if chat.text:
        message["text"] = chat.text
    if chat.attachments:
        message["attachments"] = chat.attachments
    message["msg_id"] = chat.message_id
    if chat.quote_msg_id:
        message["quote_msg_id"] = chat.quote_msg_id
    return message


def _names(value: Any, what: str, allowed: tuple[str, ...]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what}: expected a list of names")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ValueError(f"{what}: unknown {unknown}; expected some of {list(allowed)}")
    return list(value)


# --------------------------------------------------------------------------- OpenAPI endpoints


class ZaloInbox:
    """The inbox's OpenAPI endpoints (wrapped by ``ZaloOpenApi.route`` for auth and faults)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    async def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise ZaloError(-201, "body is invalid!") from None
        if not isinstance(body, dict):
            raise ZaloError(-201, "body is invalid!")
        return body

    def _data(self, request: Request) -> dict[str, Any]:
        """The single ``data=<JSON>`` query parameter of the v2/v3 GET endpoints."""
        try:
            data = json.loads(request.query_params.get("data") or "null")
        except ValueError:
            raise ZaloError(-201, "data is invalid!") from None
        if not isinstance(data, dict):
            raise ZaloError(-201, "data is invalid!")
        return data

    def _known(self, oa: OaIdentity, raw: Any) -> ZaloContact:
        """The contact for a ``user_id`` (a string, or a JSON number as in the docs, §A4)."""
        user_id = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
        contact = self.sb.state.inbox.contacts.get(f"{oa.oa_id}:{user_id}")
        if contact is None:
            raise ZaloError(-201, "user_id is invalid!")
        return contact

    # ------------------------------------------------------------- CS messages

    async def send_cs(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``POST /v3.0/oa/message/cs``: a consultation message, only within 7 days of the
        user's last interaction (-230; -232 without any), §A7."""
        body = await self._body(request)
        recipient = body.get("recipient")
        if not isinstance(recipient, dict):
            recipient = {}
        user_id = str(recipient.get("user_id") or "")
        try:
            data = self._send_cs(oa, user_id, body)
        except ZaloError as error:
            self._record(oa, user_id, body, error.body(), accepted=False)
            raise
        self._record(oa, user_id, body, data, accepted=True)
        return success(data)

    def _send_cs(self, oa: OaIdentity, user_id: str, body: dict[str, Any]) -> dict[str, Any]:
        inbox = self.sb.state.inbox
        message = body.get("message")
        if not user_id:
            raise ZaloError(-201, "user_id is invalid!")
        if not isinstance(message, dict):
            raise ZaloError(-201, "message is invalid!")
        text = message.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > CS_TEXT_LIMIT):
            raise ZaloError(-201, "text is invalid!")
        kind, attachments = self._outgoing(oa, message)
        if not text and not attachments:
            raise ZaloError(-201, "message is invalid!")
        quote = message.get("quote_message_id")
        if quote and not any(
            c.message_id == quote and c.oa_id == oa.oa_id and c.user_id == user_id
            for c in inbox.chats
        ):
            raise ZaloError(-201, "quote_message_id is invalid!")
        contact = inbox.contacts.get(inbox.contact_key(oa.oa_id, user_id))
        if contact is None or contact.last_interaction is None:
            raise ZaloError(
                -232, "User has not interacted with the OA, or the last interaction has expired"
            )
        citizen = inbox.citizens[contact.citizen]
        if citizen.inactive:
            raise ZaloError(-227, "User is banned or has been inactive for more than 45 days")
        if oa.oa_id in citizen.blocked:
            raise ZaloError(-244, "User has restricted this message type from your OA")
        now = self.sb.now()
        elapsed = now - contact.last_interaction
        if elapsed > CS_WINDOW_S:
            raise ZaloError(-230, "User has not interacted with the OA in the past 7 days")
        data: dict[str, Any] = {}
        if elapsed <= FREE_WINDOW_S and contact.replies_since_interaction < FREE_MESSAGES:
            # Inside the free quota: "reply" with remain/total as strings (§A7); beyond it the
            # message is charged and the answer has no quota.
            remain = FREE_MESSAGES - contact.replies_since_interaction - 1
            data["quota"] = {
                "quota_type": "reply",
                "remain": str(remain),
                "total": str(FREE_MESSAGES),
            }
        contact.replies_since_interaction += 1
        chat = ZaloChat(
            message_id=_message_id(self.sb),
            oa_id=oa.oa_id,
            user_id=user_id,
            citizen=contact.citizen,
            src=0,
            time=now,
            kind=kind,
            text=str(text or ""),
            attachments=attachments,
            quote_msg_id=str(quote) if quote else None,
        )
        inbox.chats.append(chat)
        self.sb.touch()
        data["message_id"] = chat.message_id
        data["user_id"] = user_id
        self._echo(oa, chat)
        return data

    def _outgoing(self, oa: OaIdentity, message: dict[str, Any]) -> tuple[str, list[dict]]:
        """The kind of a CS message and its attachments as the echo shows them."""
        attachment = message.get("attachment")
        if attachment is None:
            return "text", []
        if not isinstance(attachment, dict):
            raise ZaloError(-201, "attachment is invalid!")
        payload = attachment.get("payload")
        if not isinstance(payload, dict):
            payload = {}
        if attachment.get("type") == "file":
            # /upload/file is not modelled: any token is taken as a file.
            if not payload.get("token"):
                raise ZaloError(-201, "token is invalid!")
            return "file", [{"payload": {"token": payload["token"]}, "type": "file"}]
        if attachment.get("type") != "template":
            raise ZaloError(-233, "message type is invalid or not support")
        template = payload.get("template_type")
        if template == "request_user_info":
            return "list", []
        if template != "media":
            raise ZaloError(-233, "message type is invalid or not support")
        elements = payload.get("elements")
        if (
            not isinstance(elements, list)
            or len(elements) != 1
            or not isinstance(elements[0], dict)
        ):
            raise ZaloError(-201, "elements is invalid!")
        element = elements[0]
        media = element.get("media_type")
        if media not in ("image", "gif", "sticker"):
            raise ZaloError(-201, "media_type is invalid!")
        url = str(element.get("url") or "")
        attachment_id = element.get("attachment_id")
        if media in ("image", "gif") and attachment_id:
            upload = self.sb.state.uploads.get(str(attachment_id))
            if upload is None or upload.oa_id != oa.oa_id:
                raise ZaloError(-201, "attachment_id is invalid!")
            if self.sb.now() - upload.received_at > ATTACHMENT_TTL_S:
                raise ZaloError(-100, "attachment_id was expired")
            url = f"https://f6.photo.talk.zdn.vn/{attachment_id}.jpg"
        if not url and not attachment_id:
            raise ZaloError(-201, "url is invalid!")
        if media == "sticker":
            return "sticker", [
                {"payload": {"id": str(attachment_id), "url": url}, "type": "sticker"}
            ]
        return media, [{"payload": {"thumbnail": url, "url": url}, "type": media}]

    def _echo(self, oa: OaIdentity, chat: ZaloChat) -> None:
        """``oa_send_<type>`` for a message sent through the Open API: no ``admin_id`` (§A6)."""
        payload = {
            "app_id": self.sb.config.zalo_app_id,
            "sender": {"id": oa.oa_id},
            "recipient": {"id": chat.user_id},
            "event_name": f"oa_send_{chat.kind}",
            "message": _event_message(chat),
            "user_id_by_app": people.zalo_uid_by_app(self.sb.config.seed, chat.citizen),
            "timestamp": str(epoch_ms(chat.time)),
        }
        deliver(self.sb, oa.oa_id, payload)

    def _record(
        self,
        oa: OaIdentity,
        user_id: str,
        payload: dict[str, Any],
        result: dict[str, Any],
        *,
        accepted: bool,
    ) -> None:
        inbox = self.sb.state.inbox
        contact = inbox.contacts.get(inbox.contact_key(oa.oa_id, user_id))
        inbox.sent.append(
            SentRecord(
                seq=inbox.serial(),
                at=self.sb.now(),
                platform=PLATFORM,
                channel=oa.oa_id,
                kind="zalo_cs",
                to=user_id,
                citizen=contact.citizen if contact else None,
                thread=inbox.contact_key(oa.oa_id, user_id),
                payload=payload,
                accepted=accepted,
                result=result,
            )
        )
        self.sb.touch()

    async def quota(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``POST /v3.0/oa/quota/message``: last interaction and the free CS quota left (§A7)."""
        body = await self._body(request)
        contact = self._known(oa, body.get("user_id"))
        last = contact.last_interaction
        free = last is not None and self.sb.now() - last <= FREE_WINDOW_S
        remain = max(0, FREE_MESSAGES - contact.replies_since_interaction) if free else 0
        cap = oa.monthly_broadcast_cap
        return success(
            {
                "last_interaction": str(epoch_ms(last)) if last is not None else "",
                # Integers here, unlike the send answer's strings: as in the official example.
                "cs_reply": {"remain": remain, "total": FREE_MESSAGES},
                "promotion": {
                    "daily_remain": 1,
                    "daily_total": 1,
                    "monthly_remain": cap,
                    "monthly_total": cap,
                },
            }
        )

    # ------------------------------------------------------------- backfill

    def _paging(self, data: dict[str, Any]) -> tuple[int, int]:
        try:
            offset = int(data.get("offset", 0))
            count = int(data.get("count", 5))
        except (TypeError, ValueError):
            raise ZaloError(-201, "offset or count is invalid!") from None
        if count > RECENT_CHAT_MAX:
            raise ZaloError(-210, "Parameter exceeds allowable limit")
        if offset < 0 or count < 1:
            raise ZaloError(-201, "offset or count is invalid!")
        return offset, count

    async def recent_chats(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``GET /v2.0/oa/listrecentchat?data={"offset","count"}``: the OA's messages (both
        directions), newest first, at most 10 a request (§A8)."""
        offset, count = self._paging(self._data(request))
        rows = [c for c in self.sb.state.inbox.chats if c.oa_id == oa.oa_id and not c.anonymous]
        rows = rows[::-1][offset : offset + count]
        return success([self._row(oa, chat) for chat in rows])

    async def conversation(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``GET /v2.0/oa/conversation?data={"user_id","offset","count"}``: one user's thread,
        newest first, at most 10 a request (§A8)."""
        data = self._data(request)
        contact = self._known(oa, data.get("user_id"))
        offset, count = self._paging(data)
        rows = [
            c
            for c in self.sb.state.inbox.chats
            if c.oa_id == oa.oa_id and c.user_id == contact.user_id
        ]
        rows = rows[::-1][offset : offset + count]
        return success([self._row(oa, chat) for chat in rows])

    def _row(self, oa: OaIdentity, chat: ZaloChat) -> dict[str, Any]:
        """A message as the read APIs show it: other field names than the webhooks' (§A8)."""
        citizen = self.sb.state.inbox.citizens[chat.citizen]
        user = (chat.user_id, citizen.name, _avatar(chat.user_id))
        official = (oa.oa_id, oa.name, _avatar(oa.oa_id))
        sender, receiver = (user, official) if chat.src == 1 else (official, user)
        row: dict[str, Any] = {
            "src": chat.src,
            "time": epoch_ms(chat.time),
            "type": ROW_TYPES.get(chat.kind, chat.kind),
            "message": chat.text,
            "message_id": chat.message_id,
            "from_id": sender[0],
            "to_id": receiver[0],
            "from_display_name": sender[1],
            "from_avatar": sender[2],
            "to_display_name": receiver[1],
            "to_avatar": receiver[2],
        }
        payload = chat.attachments[0]["payload"] if chat.attachments else {}
        if chat.kind in ("image", "gif"):
            row["thumb"] = payload.get("thumbnail", "")
            row["url"] = payload.get("url", "")
            if chat.kind == "image":
                row["description"] = chat.text
        elif chat.kind in ("audio", "sticker"):
            row["url"] = payload.get("url", "")
        elif chat.kind == "link":
            row["links"] = [payload.get("url", "")]
        elif chat.kind == "location":
            # A string "with longitude and latitude" per the docs; its layout is not given, so
            # the webhook's coordinates object is sent as JSON text.
            row["location"] = json.dumps(payload.get("coordinates", {}), separators=(",", ":"))
        return row

    async def user_detail(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``GET /v3.0/oa/user/detail?data={"user_id"}`` (§A8): the profile, with what the user
        shared through the info form."""
        contact = self._known(oa, self._data(request).get("user_id"))
        citizen = self.sb.state.inbox.citizens[contact.citizen]
        last = contact.last_interaction
        avatar = _avatar(contact.user_id)
        detail: dict[str, Any] = {
            "user_id": contact.user_id,
            "user_id_by_app": people.zalo_uid_by_app(self.sb.config.seed, citizen.handle),
            "user_external_id": "",
            "display_name": citizen.name,
            "user_alias": citizen.name,
            "is_sensitive": citizen.minor,
            "user_last_interaction_date": office_time(last).strftime("%d/%m/%Y") if last else "",
            "user_is_follower": contact.follower,
            "avatar": avatar,
            "avatars": {"120": avatar.replace("/240/", "/120/"), "240": avatar},
            "tags_and_notes_info": {"notes": [], "tag_names": []},
        }
        if contact.shared_info:
            info = contact.shared_info
            detail["shared_info"] = {
                "address": info.get("address", ""),
                "city": info.get("city", ""),
                "district": info.get("district", ""),
                "phone": info.get("phone", 0),
                "name": info.get("name", ""),
                "user_dob": "",
            }
        return success(detail)


def _avatar(user_id: str) -> str:
    digest = hashlib.sha256(user_id.encode()).hexdigest()
    return f"https://s240-ava-talk.zadn.vn/{digest[0]}/{digest[1]}/240/{digest[2:34]}.jpg"
