"""Zalo OA inbound: webhook signatures and events, conversation rows, reply refusals, and the
calls that read conversations and answer citizens (:class:`OaInbox`)
(docs/platforms/zalo-oa.md#webhooks, docs/platforms/zalo-oa.md#consultation-messages and
docs/platforms/zalo-oa.md#reading-conversations-and-profiles).

* ``X-ZEvent-Signature`` is ``mac=`` + hex SHA-256 of ``app_id + body + timestamp +
  OA secret key`` (docs/platforms/zalo-oa.md#signatures): a plain hash of a concatenation, not
  an HMAC; ``body`` the raw bytes as received, ``timestamp`` the body's own ``timestamp``
  field, the key the OA Secret Key of the app's Webhook settings (not the app secret). Some
  senders omit ``mac=``: both accepted.
* Zalo retries a delivery it could not make after 30 s, 5 min, 15 min, 30 min and 1 h with
  the same body (docs/platforms/zalo-oa.md#delivery-and-retries), so its ``timestamp`` may be
  two hours old: older than :data:`MAX_AGE` is refused as stale.
* Ids are per OA (``sender.id`` of a ``user_*`` event is the citizen's UID for that OA);
  ``user_id_by_app`` names him for the app. Phones arrive as JSON numbers
  (docs/platforms/zalo-oa.md#event-envelope-and-ids).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from content.inbox import Inbound
from content.models import ThreadKind
from scheduler.channels.base import ChannelError, TransientError
from scheduler.channels.inbound import (
    REFUSED,
    UNAVAILABLE,
    WINDOW_CLOSED,
    ReplyRejected,
    Verdict,
    WebhookItem,
)
from scheduler.channels.zalo_errors import PLATFORM
from scheduler.channels.zalo_transport import ZaloTransport, log

SIGNATURE_HEADER = "x-zevent-signature"
#: The last retry comes about two hours after the first attempt
#: (docs/platforms/zalo-oa.md#delivery-and-retries); a little margin.
MAX_AGE = timedelta(hours=2, minutes=30)
#: A timestamp this far ahead of our clock is not Zalo's.
MAX_AHEAD = timedelta(minutes=10)
#: Events the inbox keeps (others, e.g. seen and received receipts, are acknowledged only).
MESSAGE_TYPES = (
    "text",
    "image",
    "gif",
    "link",
    "audio",
    "video",
    "sticker",
    "location",
    "business_card",
    "file",
)
INTERACTIONS = frozenset({"follow", "user_click_chatnow"})
KEPT = frozenset(
    {
        *(f"user_send_{t}" for t in MESSAGE_TYPES),
        *(f"anonymous_send_{t}" for t in MESSAGE_TYPES),
        *(f"oa_send_{t}" for t in ("text", "image", "gif", "list", "file", "sticker")),
        *INTERACTIONS,
        "user_submit_info",
        "user_withdraw",
    }
)
#: Consultation-message refusals (docs/platforms/zalo-oa.md#consultation-messages): out of the
#: 7-day window; the citizen unreachable.
WINDOW_CODES = frozenset({-230, -232})
UNAVAILABLE_CODES = frozenset({-213, -217, -227, -244})
#: Conversation reads answer at most 10 rows (count > 10 is -210,
#: docs/platforms/zalo-oa.md#reading-conversations-and-profiles).
CHAT_PAGE = 10
#: A backfill reads at most this many pages of recent chats, and of each citizen's
#: conversation: a guard against a list that never ends, not a limit met in practice.
CHAT_MAX_PAGES = 500
#: listrecentchat/conversation row types as message kinds
#: (docs/platforms/zalo-oa.md#reading-conversations-and-profiles).
ROW_KINDS = {"photo": "image", "voice": "audio", "GIF": "gif", "links": "link"}


@dataclass(frozen=True)
class ZaloKeys:
    """What the receiver checks a Zalo delivery for one OA with."""

    oa_id: str
    app_id: str
    secret: str = field(repr=False)


def signature(app_id: str, raw: bytes, timestamp: str, secret: str) -> str:
    """The hex SHA-256 Zalo signs a delivery with (docs/platforms/zalo-oa.md#signatures)."""
    return hashlib.sha256(app_id.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()


def receive(raw: bytes, header: str | None, oas: Mapping[str, ZaloKeys], now: datetime) -> Verdict:
    """Check one delivery and say what to store.

    403 for an unsigned, forged (no configured OA's key gives its signature) or stale
    delivery, or one whose body is not Zalo's JSON (the signature cannot be checked without
    its ``app_id`` and ``timestamp``); 200 otherwise, with the event to store unless it is
    one the inbox does not keep.
    """
    if not header:
        return Verdict(403, "no X-ZEvent-Signature")
    try:
        body = json.loads(raw)
    except ValueError:
        return Verdict(403, "body is not JSON")
    if not isinstance(body, dict):
        return Verdict(403, "body is not a JSON object")
    app_id = _text(body.get("app_id"))
    stamp = _text(body.get("timestamp"))
    given = header.strip().lower().removeprefix("mac=").strip()
    oa_id = oa_of(body)
    candidates = [
        (cid, keys)
        for cid, keys in oas.items()
        if keys.app_id == app_id and (not oa_id or keys.oa_id == oa_id)
    ]
    channel = next(
        (
            cid
            for cid, keys in candidates
            if hmac.compare_digest(given, signature(app_id, raw, stamp, keys.secret))
        ),
        None,
    )
    if channel is None:
        return Verdict(403, f"signature does not match (app {app_id}, OA {oa_id or '?'})")
    when = ms_time(stamp)
    if when is None:
        return Verdict(403, "no usable timestamp")
    if when < now - MAX_AGE or when > now + MAX_AHEAD:
        return Verdict(403, f"stale timestamp {when.isoformat()}")
    event = _text(body.get("event_name"))
    if event not in KEPT:
        return Verdict(200, f"{event or 'unnamed event'} not kept")
    return Verdict(200, event, (WebhookItem(channel, event_id(body), when, raw),))


def oa_of(body: Mapping[str, Any]) -> str:
    """The OA an event is about: the recipient of a citizen's message, the sender of the OA's
    own, else ``oa_id`` ("" when Zalo names none, e.g. a withdrawal for an unlinked app)."""
    event = _text(body.get("event_name"))
    if event.startswith(("user_send_", "anonymous_send_", "user_submit_info")):
        return _text(_dict(body.get("recipient")).get("id"))
    if event.startswith("oa_send_"):
        return _text(_dict(body.get("sender")).get("id"))
    return _text(body.get("oa_id"))


def event_id(body: Mapping[str, Any]) -> str:
    """The event's own id: its message id, else its name, time and citizen
    (docs/platforms/zalo-oa.md#event-envelope-and-ids)."""
    msg_id = _text(_dict(body.get("message")).get("msg_id"))
    if msg_id:
        return f"msg:{msg_id}"
    who = (
        _text(_dict(body.get("sender")).get("id"))
        or _text(_dict(body.get("follower")).get("id"))
        or _text(body.get("user_id"))
        or _text(body.get("user_id_by_app"))
    )
    return f"{_text(body.get('event_name'))}:{_text(body.get('timestamp'))}:{who}"


def parse_event(channel: str, payload: bytes, *, scope: Sequence[str] = ()) -> list[Inbound]:
    """A stored event as inbox records (``scope``: the channels of the app, for a withdrawal
    that names no OA)."""
    body = json.loads(payload)
    event = _text(body.get("event_name"))
    when = ms_time(_text(body.get("timestamp"))) or datetime.now(UTC)
    by_app = _text(body.get("user_id_by_app")) or None
    base: dict[str, Any] = dict(channel=channel, kind=ThreadKind.ZALO_CHAT, occurred_at=when)
    if event == "user_withdraw":
        return [
            Inbound(
                **base,
                event="withdraw",
                citizen_id=_text(body.get("user_id")) or None,
                citizen_alt_id=by_app,
                scope=tuple(scope) if not _text(body.get("oa_id")) else (),
            )
        ]
    if event in INTERACTIONS:
        who = _text(_dict(body.get("follower")).get("id")) or _text(body.get("user_id"))
        return [Inbound(**base, event="interaction", citizen_id=who, citizen_alt_id=by_app)]
    if event == "user_submit_info":
        info = {k: _text(v) for k, v in _dict(body.get("info")).items() if v not in (None, "")}
        return [
            Inbound(
                **base,
                event="info",
                citizen_id=_text(_dict(body.get("sender")).get("id")),
                citizen_alt_id=by_app,
                citizen_name=info.get("name"),
                info=info,
            )
        ]
    message = _dict(body.get("message"))
    sender, recipient = _dict(body.get("sender")), _dict(body.get("recipient"))
    outbound = event.startswith("oa_send_")
    if outbound:
        citizen = _text(recipient.get("id"))
    elif event.startswith("anonymous_send_"):
        citizen = "anon:" + _text(sender.get("id"))
    else:
        citizen = _text(sender.get("id"))
    kind = event.rsplit("_", 1)[-1]
    return [
        Inbound(
            **base,
            event="message",
            citizen_id=citizen,
            citizen_alt_id=by_app,
            direction="out" if outbound else "in",
            platform_id=_text(message.get("msg_id")) or None,
            message_kind=kind,
            text=_text(message.get("text")) or None,
            attachments=tuple(_attachment(a) for a in message.get("attachments") or []),
            reply_to=_text(message.get("quote_msg_id")) or None,
            native_by=_text(sender.get("admin_id")) or None,
        )
    ]


def parse_row(channel: str, oa_id: str, row: Mapping[str, Any]) -> Inbound | None:
    """One ``listrecentchat``/``conversation`` row as an inbox record
    (docs/platforms/zalo-oa.md#reading-conversations-and-profiles); None without an id. ``src``
    1 is the citizen writing, 0 the OA."""
    message_id = _text(row.get("message_id"))
    when = ms_time(_text(row.get("time")))
    if not message_id or when is None:
        return None
    inbound = _text(row.get("src")) == "1"
    citizen = _text(row.get("from_id") if inbound else row.get("to_id"))
    if not citizen or citizen == oa_id:
        return None
    kind = _text(row.get("type")) or "text"
    attachment = {
        k: _text(row[k])
        for k in ("url", "thumb", "description", "links", "location")
        if row.get(k) not in (None, "", [])
    }
    if attachment:
        # The webhook's type name, so a backfilled image is downloaded like a delivered one.
        attachment["type"] = ROW_KINDS.get(kind, kind.lower())
    return Inbound(
        channel=channel,
        kind=ThreadKind.ZALO_CHAT,
        event="message",
        occurred_at=when,
        citizen_id=citizen,
        citizen_name=(_text(row.get("from_display_name")) or None) if inbound else None,
        direction="in" if inbound else "out",
        platform_id=message_id,
        message_kind=ROW_KINDS.get(kind, kind.lower()),
        text=(_text(row.get("message")) or None) if kind == "text" else None,
        attachments=(attachment,) if attachment else (),
        source="backfill",
    )


def reply_rejection(code: int, message: Any) -> ChannelError | None:
    """The refusal of a consultation message, when ``code`` is about the citizen
    (docs/platforms/zalo-oa.md#consultation-messages)."""
    text = str(message or "no message")
    if code in WINDOW_CODES:
        return ReplyRejected(WINDOW_CLOSED, text, code=code, platform=PLATFORM)
    if code in UNAVAILABLE_CODES:
        return ReplyRejected(UNAVAILABLE, text, code=code, platform=PLATFORM)
    if code in (-201, -210, -233):
        return ReplyRejected(REFUSED, text, code=code, platform=PLATFORM)
    return None


def ms_time(value: str) -> datetime | None:
    """Epoch milliseconds (a string or number, as Zalo sends them) as aware UTC."""
    try:
        millis = int(float(value))
    except (TypeError, ValueError):
        return None
    if millis <= 0:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def _attachment(raw: Any) -> dict[str, Any]:
    item = _dict(raw)
    payload = _dict(item.get("payload"))
    out: dict[str, Any] = {"type": _text(item.get("type"))}
    for key in ("url", "thumbnail", "description", "name", "size", "id"):
        if payload.get(key) not in (None, ""):
            out[key] = _text(payload[key])
    coordinates = _dict(payload.get("coordinates"))
    if coordinates:
        out["latitude"] = _text(coordinates.get("latitude"))
        out["longitude"] = _text(coordinates.get("longitude"))
    return out


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    """Any id, phone or time as text: Zalo sends some as JSON numbers
    (docs/platforms/zalo-oa.md#event-envelope-and-ids)."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


class OaInbox:
    """The citizens' calls of one OA: the backfill, a citizen's profile, the replies."""

    def __init__(self, api: ZaloTransport) -> None:
        self._api = api
        self.id = api.id
        self._oa_id = api.config.oa_id

    async def fetch_inbound(self, since: datetime) -> list[Inbound]:
        """Every message to and from citizens since ``since``, by API (the backfill).

        ``listrecentchat`` (newest first, 10 a page, each row a message) names the citizens
        who wrote; each one's ``conversation`` is then read back to ``since``, so a citizen
        who sent several messages while the webhook was down loses none
        (docs/platforms/zalo-oa.md#reading-conversations-and-profiles).
        """
        records: list[Inbound] = []
        citizens: list[str] = []
        async for row in self._chat_rows("v2.0/oa/listrecentchat", {}, since):
            record = parse_row(self.id, self._oa_id, row)
            if record is not None:
                records.append(record)
                if record.citizen_id not in citizens:
                    citizens.append(record.citizen_id or "")
        for citizen in citizens:
            if not citizen.isdigit():
                continue  # an anonymous chat-widget visitor has no conversation to read
            # user_id is a JSON number in this query
            # (docs/platforms/zalo-oa.md#event-envelope-and-ids).
            async for row in self._chat_rows(
                "v2.0/oa/conversation", {"user_id": int(citizen)}, since
            ):
                record = parse_row(self.id, self._oa_id, row)
                if record is not None:
                    records.append(record)
        return records

    async def citizen_profile(self, user_id: str) -> Mapping[str, Any]:
        """A citizen's profile (``user/detail``); ``is_sensitive`` true means the account is
        under 18 (docs/platforms/zalo-oa.md#reading-conversations-and-profiles)."""
        data = await self._api.read(
            "v3.0/oa/user/detail",
            params={"data": json.dumps({"user_id": user_id})},
            step="user_detail",
        )
        return data if isinstance(data, dict) else {}

    async def _chat_rows(
        self, path: str, query: Mapping[str, Any], since: datetime
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Rows of a newest-first conversation list, page by page, back to ``since``."""
        floor = since.timestamp() * 1000
        for page in range(CHAT_MAX_PAGES):
            data = {**query, "offset": page * CHAT_PAGE, "count": CHAT_PAGE}
            rows = await self._api.read(
                path, params={"data": json.dumps(data)}, step=path.rsplit("/", 1)[-1]
            )
            rows = [r for r in (rows if isinstance(rows, list) else []) if isinstance(r, dict)]
            older = False
            for row in rows:
                when = row.get("time")
                if isinstance(when, int | float | str) and float(when or 0) < floor:
                    older = True
                    continue
                yield row
            if older or len(rows) < CHAT_PAGE:
                return
        log.warning("%s: %s still had rows after %d pages", self.id, path, CHAT_MAX_PAGES)

    async def send_consultation(self, user_id: str, text: str) -> str:
        """Answer a citizen with a consultation ("tư vấn") message; returns its message id.

        Raises :class:`~scheduler.channels.inbound.ReplyRejected` when Zalo refuses it
        because of the citizen (no interaction in 7 days, blocked, inactive...).
        """
        body = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        data = await self._api.call(
            "POST",
            "v3.0/oa/message/cs",
            json=body,
            step="reply",
            publish=True,
            refusal=reply_rejection,
        )
        message_id = str((data or {}).get("message_id") or "")
        if not message_id:
            raise TransientError(
                "Zalo accepted the reply without a message id", uncertain=True, platform=PLATFORM
            )
        return message_id
