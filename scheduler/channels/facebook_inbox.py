"""Facebook Page inbound: the webhook handshake and signature, ``feed`` comments and
``messages`` events, Graph comment and conversation rows, reply refusals
(docs/platforms/facebook-graph.md#webhooks, docs/platforms/facebook-graph.md#comments and
docs/platforms/facebook-graph.md#messenger).

* ``X-Hub-Signature-256`` is ``sha256=`` + hex HMAC-SHA256 of the raw body keyed by the app secret
  (docs/platforms/facebook-graph.md#signatures). Meta signs the body as it sends it, with non-ASCII
  text ``\\u``-escaped: it is checked over the bytes received, never over re-serialised JSON (which
  breaks for nearly every Vietnamese comment).
* A delivery batches several ``entry`` objects, each with ``messaging`` (or ``standby``) events or
  ``changes`` (docs/platforms/facebook-graph.md#delivery-and-retries); Meta retries for 36 hours, so
  an ``entry.time`` older than :data:`MAX_AGE` is a replay and refused.
* The Page's own comments come back through ``feed`` with ``from.id`` = the Page
  (docs/platforms/facebook-graph.md#comment-changes-in-the-feed); its Messenger replies come back as
  echoes (``is_echo``, docs/platforms/facebook-graph.md#message-events).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from content.inbox import Inbound
from content.models import ThreadKind
from scheduler.channels.base import ChannelError
from scheduler.channels.facebook_errors import PLATFORM, GraphErrorBody
from scheduler.channels.facebook_transport import GraphTransport, graph_time, required_id
from scheduler.channels.inbound import (
    PRIVATE_USED,
    REFUSED,
    UNAVAILABLE,
    WINDOW_CLOSED,
    ReplyRejected,
    Verdict,
    WebhookItem,
)

SIGNATURE_HEADER = "x-hub-signature-256"
#: Meta stops retrying after 36 hours (docs/platforms/facebook-graph.md#delivery-and-retries); a
#: little margin.
MAX_AGE = timedelta(hours=37)
MAX_AHEAD = timedelta(minutes=10)
#: Send API refusals (docs/platforms/facebook-graph.md#the-24-hour-window): out of the window; the
#: person cannot be reached.
WINDOW_ERRORS = frozenset({(10, 2018278)})
UNAVAILABLE_ERRORS = frozenset({(551, 1545041), (10, 2018108)})
#: Private-reply refusals as integrators quote Graph's answers (not in Meta's pages,
#: docs/platforms/facebook-graph.md#private-replies):
#: "(#10900) Activity already replied to", "(#10901) Activity replying time expired".
PRIVATE_REPLY_USED = 10900
PRIVATE_REPLY_EXPIRED = 10901


def signature(raw: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``raw``."""
    return "sha256=" + hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()


def handshake(params: Mapping[str, str], verify_tokens: Iterable[str]) -> tuple[int, str]:
    """Meta's verification GET (docs/platforms/facebook-graph.md#verification-handshake): 200 and
    the challenge when the token is one of ours."""
    token = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not token:
        return 403, "forbidden"
    if not any(hmac.compare_digest(token.encode(), t.encode()) for t in verify_tokens if t):
        return 403, "forbidden"
    return 200, params.get("hub.challenge", "")


def receive(
    raw: bytes,
    header: str | None,
    pages: Mapping[str, str],
    secrets: Mapping[str, str],
    now: datetime,
) -> Verdict:
    """Check one delivery and say what to store.

    ``pages`` maps Page ids to channel ids; ``secrets`` channel ids to their app secrets.
    403 without a signature, when no configured app secret gives it, or when the newest entry
    is older than Meta's retry horizon; 400 for a signed body that is not Meta's JSON; else 200
    with each kept event of the Pages the signing app is configured for (other Pages' events
    are acknowledged and dropped: answering otherwise only makes Meta retry for 36 hours).
    """
    if not header:
        return Verdict(403, "no X-Hub-Signature-256")
    given = header.strip()
    signed = {
        cid
        for cid, secret in secrets.items()
        if secret and hmac.compare_digest(given.encode(), signature(raw, secret).encode())
    }
    if not signed:
        return Verdict(403, "signature does not match")
    try:
        body = json.loads(raw)
    except ValueError:
        return Verdict(400, "body is not JSON")
    if not isinstance(body, dict) or body.get("object") != "page":
        return Verdict(400, "not a Page event")
    entries = [e for e in body.get("entry") or [] if isinstance(e, dict)]
    times = [t for t in (_entry_time(e) for e in entries) if t is not None]
    newest = max(times) if times else None
    if newest is None:
        return Verdict(403, "no usable entry time")
    if newest < now - MAX_AGE or newest > now + MAX_AHEAD:
        return Verdict(403, f"stale entry time {newest.isoformat()}")
    items: list[WebhookItem] = []
    for entry in entries:
        channel = pages.get(str(entry.get("id") or ""))
        if channel is None or channel not in signed:
            continue
        page_id = str(entry["id"])
        for event in [*(entry.get("messaging") or []), *(entry.get("standby") or [])]:
            item = _messaging_item(channel, page_id, event)
            if item is not None:
                items.append(item)
        for change in entry.get("changes") or []:
            item = _comment_item(channel, page_id, change, entry.get("time"))
            if item is not None:
                items.append(item)
    return Verdict(200, f"{len(items)} events", tuple(items))


def _messaging_item(channel: str, page_id: str, event: Any) -> WebhookItem | None:
    if not isinstance(event, dict) or not isinstance(event.get("message"), dict):
        return None  # deliveries, reads, reactions: nothing the inbox keeps
    mid = str(event["message"].get("mid") or "")
    if not mid:
        return None
    payload = {"page_id": page_id, "messaging": event}
    return WebhookItem(channel, f"mid:{mid}", _ms(event.get("timestamp")), _dump(payload))


#: A comment's ``verb`` -> what the inbox does (Meta's feed reference lists more verbs than it pins
#: down, docs/platforms/facebook-graph.md#comment-changes-in-the-feed: the usual spellings of each
#: are taken).
COMMENT_CHANGES = {
    "edited": "edit",
    "edit": "edit",
    "remove": "remove",
    "delete": "remove",
    "hide": "hide",
    "unhide": "unhide",
}


def _comment_item(
    channel: str, page_id: str, change: Any, entry_time: Any = None
) -> WebhookItem | None:
    if not isinstance(change, dict) or change.get("field") != "feed":
        return None
    value = change.get("value")
    if not isinstance(value, dict) or value.get("item") != "comment":
        return None
    verb = str(value.get("verb") or "")
    if not value.get("comment_id") or (verb != "add" and verb not in COMMENT_CHANGES):
        return None
    when = _seconds(value.get("created_time"))
    if verb == "add":
        payload = {"page_id": page_id, "comment": value}
        return WebhookItem(channel, f"comment:{value['comment_id']}", when, _dump(payload))
    # An edit or removal: the same comment changes again later, so its key is the change
    # itself (a retry of it sends the same body and time: stored once).
    at = _seconds(entry_time) or when
    payload = {"page_id": page_id, "comment": value, "at": entry_time}
    digest = hashlib.sha256(_dump({"value": value, "at": entry_time})).hexdigest()[:24]
    key = f"comment:{value['comment_id']}:{verb}:{digest}"
    return WebhookItem(channel, key, at, _dump(payload))


def parse_event(channel: str, payload: bytes) -> list[Inbound]:
    """A stored event as inbox records."""
    data = json.loads(payload)
    page_id = str(data.get("page_id") or "")
    if "comment" in data:
        value = _dict(data["comment"])
        change = COMMENT_CHANGES.get(str(value.get("verb") or "add"))
        if change is not None:
            return [_comment_change(channel, value, change, data.get("at"))]
        record = comment_record(channel, page_id, value, source="webhook")
        return [record] if record is not None else []
    event = _dict(data.get("messaging"))
    message = _dict(event.get("message"))
    echo = bool(message.get("is_echo"))
    citizen = str(_dict(event.get("recipient") if echo else event.get("sender")).get("id") or "")
    attachments = tuple(_attachment(a) for a in message.get("attachments") or [])
    kind = "text" if message.get("text") or not attachments else str(attachments[0]["type"])
    return [
        Inbound(
            channel=channel,
            kind=ThreadKind.MESSENGER,
            event="message",
            occurred_at=_ms(event.get("timestamp")) or datetime.now(UTC),
            citizen_id=citizen,
            direction="out" if echo else "in",
            platform_id=str(message.get("mid") or "") or None,
            message_kind=kind,
            text=message.get("text") or None,
            attachments=attachments,
            reply_to=str(_dict(message.get("reply_to")).get("mid") or "") or None,
        )
    ]


def _comment_change(channel: str, value: Mapping[str, Any], change: str, at: Any) -> Inbound:
    """A citizen's comment edited (the new text) or removed, or hidden by the Page."""
    when = _seconds(at) or _seconds(value.get("created_time")) or datetime.now(UTC)
    return Inbound(
        channel=channel,
        kind=ThreadKind.COMMENTS,
        event=change,
        occurred_at=when,
        platform_id=str(value.get("comment_id") or ""),
        text=str(value.get("message") or "") or None,
    )


def comment_record(
    channel: str, page_id: str, value: Mapping[str, Any], *, source: str
) -> Inbound | None:
    """A comment (a ``feed`` change value or a Graph comment row) as an inbox record.

    The Page's own comment is outbound and belongs to the thread of the comment it answers.
    """
    comment_id = str(value.get("comment_id") or value.get("id") or "")
    if not comment_id:
        return None
    author = _dict(value.get("from"))
    author_id = str(author.get("id") or "")
    parent_id = str(value.get("parent_id") or _dict(value.get("parent")).get("id") or "")
    post_id = str(value.get("post_id") or _dict(value.get("post")).get("id") or "")
    if not post_id and "_" in comment_id:
        post_id = f"{page_id}_{comment_id.split('_', 1)[0]}"
    ours = author_id == page_id
    attachments = []
    for key in ("photo", "video"):
        if value.get(key):
            attachments.append({"type": "image" if key == "photo" else key, "url": value[key]})
    media = _dict(value.get("attachment"))
    if media:
        url = _dict(_dict(media.get("media")).get("image")).get("src") or media.get("url")
        if url:
            attachments.append({"type": str(media.get("type") or "image"), "url": url})
    when = _seconds(value.get("created_time")) or datetime.now(UTC)
    return Inbound(
        channel=channel,
        kind=ThreadKind.COMMENTS,
        event="message",
        occurred_at=when,
        # A comment without an author Loa can see is its own thread.
        citizen_id=None if ours else (author_id or f"comment:{comment_id}"),
        citizen_name=None if ours else (str(author.get("name") or "") or None),
        direction="out" if ours else "in",
        platform_id=comment_id,
        message_kind="text" if value.get("message") or not attachments else "image",
        text=str(value.get("message") or "") or None,
        attachments=tuple(attachments),
        reply_to=parent_id or post_id or None,
        post_ref=post_id or None,
        source=source,
    )


def message_record(channel: str, page_id: str, row: Mapping[str, Any]) -> Inbound | None:
    """A Graph conversation message row (docs/platforms/facebook-graph.md#conversations-api) as an
    inbox record."""
    mid = str(row.get("id") or "")
    sender = _dict(row.get("from"))
    if not mid:
        return None
    ours = str(sender.get("id") or "") == page_id
    if ours:
        to = _dict(row.get("to")).get("data") or [{}]
        citizen = str(_dict(to[0]).get("id") or "")
    else:
        citizen = str(sender.get("id") or "")
    if not citizen:
        return None
    attachments = tuple(
        {"type": _row_type(a), "url": _row_url(a)}
        for a in _dict(row.get("attachments")).get("data") or []
        if isinstance(a, dict)
    )
    return Inbound(
        channel=channel,
        kind=ThreadKind.MESSENGER,
        event="message",
        occurred_at=graph_time(row.get("created_time")) or datetime.now(UTC),
        citizen_id=citizen,
        citizen_name=None if ours else (str(sender.get("name") or "") or None),
        direction="out" if ours else "in",
        platform_id=mid,
        text=str(row.get("message") or "") or None,
        attachments=attachments,
        source="backfill",
    )


def reply_rejection(code: int | None, subcode: int | None, message: str) -> ChannelError | None:
    """The refusal of a reply, when the error is about the citizen or the window
    (docs/platforms/facebook-graph.md#private-replies,
    docs/platforms/facebook-graph.md#the-24-hour-window)."""
    pair = (code or 0, subcode or 0)
    kw: dict[str, Any] = {"code": code, "subcode": subcode, "platform": PLATFORM}
    if pair in WINDOW_ERRORS or code == PRIVATE_REPLY_EXPIRED:
        return ReplyRejected(WINDOW_CLOSED, message, **kw)
    if code == PRIVATE_REPLY_USED:
        return ReplyRejected(PRIVATE_USED, message, **kw)
    if pair in UNAVAILABLE_ERRORS:
        return ReplyRejected(UNAVAILABLE, message, **kw)
    if code == 100 and subcode in (1545041, 2018001, 2018047):
        return ReplyRejected(REFUSED, message, **kw)
    return None


#: The backfill reads the comments of the Page's posts published this long before what it
#: looks for: a citizen comments under an older post too.
COMMENT_POSTS_LOOKBACK = timedelta(days=14)


class PageInbox:
    """One Page's citizens by API: the backfill of comments and Messenger messages, the
    replies, and the Page's webhook subscription, through its :class:`GraphTransport`."""

    def __init__(self, graph: GraphTransport) -> None:
        self._graph = graph

    async def fetch_inbound(self, since: datetime) -> list[Inbound]:
        """Every comment under the Page's recent posts and every Messenger message since
        ``since``, by API (the backfill; docs/platforms/facebook-graph.md#reading-comments,
        docs/platforms/facebook-graph.md#conversations-api)."""
        graph, channel, page = self._graph, self._graph.channel_id, self._graph.config.page_id
        records: list[Inbound] = []
        posts_since = since - COMMENT_POSTS_LOOKBACK
        posts = await graph.list(
            f"{page}/published_posts",
            {"fields": "id,created_time", "since": str(int(posts_since.timestamp()))},
            until=None,
        )
        for post in posts:
            post_id = str(post.get("id") or "")
            if not post_id:
                continue
            comments = await graph.list(
                f"{post_id}/comments",
                {
                    # stream: replies too; newest first, so the walk stops at ``since``.
                    "filter": "stream",
                    "order": "reverse_chronological",
                    "fields": "id,message,from,created_time,parent{id},attachment",
                },
                until=since,
            )
            for row in comments:
                record = comment_record(
                    channel, page, {**row, "post_id": post_id}, source="backfill"
                )
                if record is not None:
                    records.append(record)
        conversations = await graph.list(
            f"{page}/conversations",
            {"platform": "messenger", "fields": "id,updated_time"},
            until=since,
            time_field="updated_time",
        )
        for conversation in conversations:
            rows = await graph.list(
                f"{conversation.get('id')}/messages",
                {"fields": "id,message,from,to,created_time,attachments"},
                until=since,
            )
            for row in rows:
                record = message_record(channel, page, row)
                if record is not None:
                    records.append(record)
        return records

    async def subscribed_apps(self) -> list[dict[str, Any]]:
        """The apps the Page is subscribed to, each with its ``subscribed_fields``
        (``GET /{page-id}/subscribed_apps``, docs/platforms/facebook-graph.md#subscribing-a-page):
        no entry, or no ``feed`` or ``messages``, and Meta delivers nothing to the inbox."""
        body = await self._graph.call("GET", f"{self._graph.config.page_id}/subscribed_apps")
        return [a for a in body.get("data") or [] if isinstance(a, dict)]

    async def reply_comment(self, comment_id: str, text: str) -> str:
        """Answer a comment publicly, as the Page; returns the new comment's id."""
        body = await self._graph.call(
            "POST",
            f"{comment_id}/comments",
            data={"message": text},
            publish=True,
            refusal=_reply_refusal,
        )
        return required_id(body, "id")

    async def private_reply(self, comment_id: str, text: str) -> str:
        """Answer a comment in Messenger (one private reply per comment, within 7 days:
        docs/platforms/facebook-graph.md#private-replies); returns the message id."""
        body = await self._graph.call(
            "POST",
            f"{self._graph.config.page_id}/messages",
            json={"recipient": {"comment_id": comment_id}, "message": {"text": text}},
            publish=True,
            refusal=_reply_refusal,
        )
        return required_id(body, "message_id")

    async def send_message(self, psid: str, text: str, *, human_agent: bool = False) -> str:
        """Answer a Messenger message (Send API,
        docs/platforms/facebook-graph.md#the-24-hour-window): inside the 24 hours as a
        RESPONSE; with ``human_agent`` (the app has the reviewed feature) up to 7 days with the
        HUMAN_AGENT tag. Returns the message id."""
        body: dict[str, Any] = {
            "recipient": {"id": psid},
            "messaging_type": "RESPONSE",
            "message": {"text": text},
        }
        if human_agent:
            body.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
        answer = await self._graph.call(
            "POST",
            f"{self._graph.config.page_id}/messages",
            json=body,
            publish=True,
            refusal=_reply_refusal,
        )
        return required_id(answer, "message_id")


def _reply_refusal(error: GraphErrorBody) -> ChannelError | None:
    """A reply's Graph error as the refusal the inbox shows, when it is one."""
    return reply_rejection(error.code, error.subcode, error.message)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _attachment(raw: Any) -> dict[str, Any]:
    item = _dict(raw)
    payload = _dict(item.get("payload"))
    out: dict[str, Any] = {"type": str(item.get("type") or "file")}
    if payload.get("url"):
        out["url"] = str(payload["url"])
    coordinates = _dict(payload.get("coordinates"))
    if coordinates:
        out["latitude"] = str(coordinates.get("lat", ""))
        out["longitude"] = str(coordinates.get("long", ""))
    return out


def _row_type(attachment: Mapping[str, Any]) -> str:
    """A conversation row's attachment as the webhook names it (image, video, audio, file): the row
    gives a MIME type (docs/platforms/facebook-graph.md#conversations-api), and what is downloaded
    goes by the webhook's names."""
    given = str(attachment.get("mime_type") or attachment.get("type") or "")
    for kind in ("image", "video", "audio"):
        if given.startswith(kind) or kind + "_data" in attachment:
            return kind
    return "file"


def _row_url(attachment: Mapping[str, Any]) -> str:
    for key in ("image_data", "video_data"):
        data = attachment.get(key)
        if isinstance(data, dict) and data.get("url"):
            return str(data["url"])
    return str(attachment.get("file_url") or attachment.get("url") or "")


def _entry_time(entry: Mapping[str, Any]) -> datetime | None:
    # entry.time is seconds for feed changes and milliseconds for messaging
    # (docs/platforms/facebook-graph.md#comment-changes-in-the-feed).
    value = entry.get("time")
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    return _ms(value) if value > 10_000_000_000 else _seconds(value)


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _seconds(value: Any) -> datetime | None:
    if isinstance(value, str):
        return graph_time(value)
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _dump(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
