"""Zalo OA inbox endpoints: consultation (CS) replies inside the 7-day window with the free
8-in-48-hours quota, the quota check, and the read endpoints a receiver backfills from
(listrecentchat, conversation, user detail), docs/platforms/zalo-oa.md#consultation-messages and
docs/platforms/zalo-oa.md#reading-conversations-and-profiles. Citizens' actions are in
``zalo_citizens``, the webhook in ``zalo_webhook``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request

from sandbox import citizens as people
from sandbox.citizens import (
    SentRecord,
    ZaloChat,
    ZaloContact,
)
from sandbox.config import OaIdentity
from sandbox.runtime import Sandbox
from sandbox.zalo_citizens import event_message, new_message_id
from sandbox.zalo_common import ZaloError, epoch_ms, office_time, success
from sandbox.zalo_webhook import deliver

PLATFORM = "zalo"
CS_WINDOW_S = 7 * 86400  # docs/platforms/zalo-oa.md#consultation-messages
#: The first 8 messages within 48 h are free (docs/platforms/zalo-oa.md#consultation-messages).
FREE_WINDOW_S = 48 * 3600
FREE_MESSAGES = 8
CS_TEXT_LIMIT = 2000  # docs/platforms/zalo-oa.md#consultation-messages
#: Uploaded attachment ids expire after 7 days (docs/platforms/zalo-oa.md#uploads, single source).
ATTACHMENT_TTL_S = 7 * 86400
#: "max 10 per request" (docs/platforms/zalo-oa.md#reading-conversations-and-profiles).
RECENT_CHAT_MAX = 10
#: listrecentchat/conversation name the types differently from webhooks
#: (docs/platforms/zalo-oa.md#reading-conversations-and-profiles).
ROW_TYPES = {
    "text": "text",
    "image": "photo",
    "gif": "GIF",
    "link": "link",
    "audio": "voice",
    "sticker": "sticker",
    "location": "location",
}
V2_SHUT_DOWN = (
    "MessageV2 API has been shut down, please switch to MessageV3. See instructions here "
    "https://go.zalo.me/api-v3"
)


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
        """The contact for a ``user_id`` (a string, or a JSON number as in the docs,
        docs/platforms/zalo-oa.md#event-envelope-and-ids)."""
        user_id = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
        contact = self.sb.state.inbox.contacts.get(f"{oa.oa_id}:{user_id}")
        if contact is None:
            raise ZaloError(-201, "user_id is invalid!")
        return contact

    # ------------------------------------------------------------- CS messages

    async def send_cs(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``POST /v3.0/oa/message/cs``: a consultation message, only within 7 days of the
        user's last interaction (-230; -232 without any),
        docs/platforms/zalo-oa.md#consultation-messages."""
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
            # Inside the free quota: "reply" with remain/total as strings
            # (docs/platforms/zalo-oa.md#consultation-messages); beyond it the
            # message is charged and the answer has no quota.
            remain = FREE_MESSAGES - contact.replies_since_interaction - 1
            data["quota"] = {
                "quota_type": "reply",
                "remain": str(remain),
                "total": str(FREE_MESSAGES),
            }
        contact.replies_since_interaction += 1
        chat = ZaloChat(
            message_id=new_message_id(self.sb),
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
        """``oa_send_<type>`` for a message sent through the Open API: no ``admin_id``
        (docs/platforms/zalo-oa.md#other-events)."""
        payload = {
            "app_id": self.sb.config.zalo_app_id,
            "sender": {"id": oa.oa_id},
            "recipient": {"id": chat.user_id},
            "event_name": f"oa_send_{chat.kind}",
            "message": event_message(chat),
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
        """``POST /v3.0/oa/quota/message``: last interaction and the free CS quota left
        (docs/platforms/zalo-oa.md#consultation-messages)."""
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
        directions), newest first, at most 10 a request
        (docs/platforms/zalo-oa.md#reading-conversations-and-profiles)."""
        offset, count = self._paging(self._data(request))
        rows = [c for c in self.sb.state.inbox.chats if c.oa_id == oa.oa_id and not c.anonymous]
        rows = rows[::-1][offset : offset + count]
        return success([self._row(oa, chat) for chat in rows])

    async def conversation(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``GET /v2.0/oa/conversation?data={"user_id","offset","count"}``: one user's thread,
        newest first, at most 10 a request
        (docs/platforms/zalo-oa.md#reading-conversations-and-profiles)."""
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
        """A message as the read APIs show it: other field names than the webhooks'
        (docs/platforms/zalo-oa.md#reading-conversations-and-profiles)."""
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
        elif chat.kind in ("audio", "sticker", "video", "file"):
            # Zalo lists no row type for files or videos
            # (docs/platforms/zalo-oa.md#reading-conversations-and-profiles); they carry their url
            # like audio.
            row["url"] = payload.get("url", "")
        elif chat.kind == "link":
            row["links"] = [payload.get("url", "")]
        elif chat.kind == "location":
            # A string "with longitude and latitude" per the docs; its layout is not given, so
            # the webhook's coordinates object is sent as JSON text.
            row["location"] = json.dumps(payload.get("coordinates", {}), separators=(",", ":"))
        return row

    async def user_detail(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``GET /v3.0/oa/user/detail?data={"user_id"}``
        (docs/platforms/zalo-oa.md#reading-conversations-and-profiles): the profile, with what the
        user shared through the info form."""
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
