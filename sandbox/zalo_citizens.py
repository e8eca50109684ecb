"""Citizens on Zalo: their messages to an OA (or through the anonymous chat widget) and their
follows, shared info, "Nhắn tin" taps and withdrawals, stored as the read APIs serve them and
delivered through the app's webhook (docs/platforms/zalo-oa.md#webhooks).
"""

from __future__ import annotations

from typing import Any

from sandbox import citizen_media
from sandbox import citizens as people
from sandbox.citizens import (
    Citizen,
    ZaloChat,
    ZaloContact,
    get_or_create_citizen,
)
from sandbox.config import OaIdentity
from sandbox.runtime import Sandbox
from sandbox.zalo_common import epoch_ms, opaque_id
from sandbox.zalo_webhook import ANONYMOUS_TYPES, USER_TYPES, deliver


def citizen_message(sb: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/zalo/message``: a citizen writes to an OA (``user_send_<type>``), or
    anonymously through the chat widget (``anonymous_send_<type>``),
    docs/platforms/zalo-oa.md#message-events-and-attachments."""
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
        message_id=new_message_id(sb),
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
    message = event_message(chat)
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
    """``POST /_sandbox/zalo/{follow,unfollow,submit_info,chatnow,withdraw}``
    (docs/platforms/zalo-oa.md#other-events)."""
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
        # Sent once per user and OA, and only to someone who never chatted
        # (docs/platforms/zalo-oa.md#other-events).
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
    sandbox keeps its own copy of the chats: Zalo asks partners to delete theirs
    (docs/platforms/zalo-oa.md#other-events), so a
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
    """An interaction opens a new CS window and a new 8-in-48 h free quota
    (docs/platforms/zalo-oa.md#consultation-messages)."""
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
    # The phone arrives as a JSON number (docs/platforms/zalo-oa.md#event-envelope-and-ids): 0912...
    # is sent as 84912...
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    info["phone"] = int(digits) if digits else 0  # type: ignore[assignment]
    return info


def new_message_id(sb: Sandbox) -> str:
    """A fresh Zalo message id (20 hex characters, like the documented examples)."""
    serial = sb.state.inbox.serial()
    return opaque_id(sb.config.seed, "zalo-msg", serial, length=20)


def _anonymous_conversation(sb: Sandbox, oa: OaIdentity, user_id: str) -> str:
    return opaque_id(sb.config.seed, "zalo-anon-conversation", oa.oa_id, user_id, length=20)


def _attachments(sb: Sandbox, kind: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Attachment payloads exactly as the official examples
    (docs/platforms/zalo-oa.md#message-events-and-attachments)."""
    token = opaque_id(sb.config.seed, "zalo-media", sb.state.inbox.next_serial, length=20)
    url = str(body.get("url") or "")
    if kind == "text":
        return []
    if not url and kind in ("image", "gif", "audio", "video", "file") and body.get("_media_base"):
        # Served by the sandbox at an expiring URL, so receivers download it over HTTP.
        url, media = citizen_media.host(sb, "zalo", kind, body)
        if kind == "file":
            name = str(body.get("name") or "tai-lieu.pdf")
            payload = {
                "size": str(len(media.data)),
                "name": name,
                "checksum": citizen_media.md5(media.data),
                "type": name.rsplit(".", 1)[-1],
                "url": url,
            }
            return [{"payload": payload, "type": "file"}]
        if kind == "video":
            payload = {"url": url, "thumbnail": url, "description": ""}
            return [{"payload": payload, "type": "video"}]
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
    if kind in ("video", "file"):
        url = url or f"https://f4-zvc.zdn.vn/{token}"
        if kind == "video":
            return [{"payload": {"url": url, "thumbnail": url, "description": ""}, "type": kind}]
        name = str(body.get("name") or "tai-lieu.pdf")
        payload = {"size": "0", "name": name, "checksum": "", "type": "pdf", "url": url}
        return [{"payload": payload, "type": "file"}]
    if kind == "sticker":
        sticker = str(body.get("sticker_id") or token[:19])
        url = url or f"https://api.zalo.me/api/emoticon/oasticker?eid={sticker}&size=130"
        return [{"payload": {"url": url, "id": sticker}, "type": "sticker"}]
    # location: coordinates as strings (docs/platforms/zalo-oa.md#message-events-and-attachments).
    try:
        latitude, longitude = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("a location needs latitude and longitude") from None
    coordinates = {"latitude": str(latitude), "longitude": str(longitude)}
    return [{"payload": {"coordinates": coordinates}, "type": "location"}]


def event_message(chat: ZaloChat) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if chat.text:
        message["text"] = chat.text
    if chat.attachments:
        message["attachments"] = chat.attachments
    message["msg_id"] = chat.message_id
    if chat.quote_msg_id:
        message["quote_msg_id"] = chat.quote_msg_id
    return message
