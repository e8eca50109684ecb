"""Messenger through Graph: the Send API with Meta's windows, private replies to comments, the
Conversations API a receiver backfills from, and ``subscribed_apps``
(docs/platforms/facebook-graph.md#messenger, docs/platforms/facebook-graph.md#subscribing-a-page).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.citizens import (
    GraphComment,
    MessengerMessage,
    MessengerThread,
)
from sandbox.config import PageIdentity
from sandbox.graph_call import GraphCall, Principal, Reply
from sandbox.graph_citizens import (
    PRIVATE_REPLY_WINDOW_S,
    epoch_ms,
    new_mid,
    record_sent,
    thread_for,
)
from sandbox.graph_errors import (
    GraphError,
    invalid_parameter,
    nonexisting_field,
)
from sandbox.graph_fields import FieldRequest
from sandbox.graph_permissions import (
    CONVERSATIONS,
    MESSAGING,
    require,
    require_page_token,
)
from sandbox.graph_render import graph_time
from sandbox.graph_webhook import WEBHOOK_FIELDS, deliver, subscribe_page

if TYPE_CHECKING:
    from sandbox.graph import GraphApi

STANDARD_WINDOW_S = 24 * 3600  # docs/platforms/facebook-graph.md#the-24-hour-window
HUMAN_AGENT_WINDOW_S = 7 * 86400  # docs/platforms/facebook-graph.md#the-24-hour-window
#: Retired on 2026-04-27 (docs/platforms/facebook-graph.md#the-24-hour-window, reported by
#: integrators): then answered code 100.
RETIRED_TAGS = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE")
TAGS_RETIRED_AT = datetime(2026, 4, 27, tzinfo=UTC).timestamp()
#: Text limit for Messenger: Meta states none; 2,000 is common practice
#: (docs/platforms/facebook-graph.md#the-24-hour-window).
MESSENGER_TEXT_LIMIT = 2000
#: Details only for a conversation's 20 most recent messages (reported by integrators,
#: docs/platforms/facebook-graph.md#conversations-api).
MESSAGE_DETAIL_LIMIT = 20
CONVERSATION_FIELDS = (
    "id",
    "updated_time",
    "message_count",
    "unread_count",
    "snippet",
    "participants",
    "senders",
    "can_reply",
    "link",
    "messages",
)
MESSAGE_FIELDS = ("id", "created_time", "message", "from", "to", "attachments", "shares")


class GraphMessenger:
    """``POST /{page-id}/messages``, conversations, messages and ``subscribed_apps``."""

    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.sb = api.sb

    def send(self, call: GraphCall, principal: Principal, page: PageIdentity) -> Reply:
        """``POST /{page-id}/messages``: to a PSID inside Meta's windows, or a private reply to
        a comment (``recipient: {comment_id}``), one per comment within 7 days
        (docs/platforms/facebook-graph.md#private-replies)."""
        payload = {k: v for k, v in call.params.items() if k != "fields"}
        recipient: dict[str, Any] = {}
        try:
            require_page_token(principal, page)
            require(self.sb, principal, page, MESSAGING)
            recipient = _json_param(call.params.get("recipient"), "recipient")
            message = _json_param(call.params.get("message"), "message")
            _check_message(message)
            if recipient.get("comment_id"):
                return self._private_reply(page, str(recipient["comment_id"]), message, payload)
            if recipient.get("id"):
                return self._send_to_psid(call, page, str(recipient["id"]), message, payload)
            raise invalid_parameter("param recipient must be non-empty.")
        except GraphError as error:
            # Refusals are recorded too: a test proves what was refused, and why.
            if recipient.get("comment_id"):
                comment = self.sb.state.inbox.comments.get(str(recipient["comment_id"]))
                to = str(recipient["comment_id"])
                self._record("private_reply", page, to, comment, payload, error=error)
            else:
                self._record_send(
                    "messenger",
                    page,
                    str(recipient.get("id") or ""),
                    self._thread_of(page, recipient.get("id")),
                    payload,
                    error=error,
                )
            raise

    def _thread_of(self, page: PageIdentity, psid: Any) -> MessengerThread | None:
        return next(
            (
                t
                for t in self.sb.state.inbox.threads.values()
                if t.page_id == page.page_id and t.psid == str(psid)
            ),
            None,
        )

    def _private_reply(
        self, page: PageIdentity, comment_id: str, message: dict[str, Any], payload: dict
    ) -> Reply:
        comment = self.sb.state.inbox.comments.get(comment_id)
        if comment is None or comment.page_id != page.page_id:
            raise invalid_parameter(f"Invalid comment_id {comment_id}")  # wording ours
        if comment.author == "page":
            # "cannot private-reply to another Page"
            # (docs/platforms/facebook-graph.md#private-replies); wording ours.
            raise invalid_parameter("Cannot send a private reply to a Page's own comment")
        now = self.sb.now()
        # Codes not in Meta's pages; integrators quote these answers verbatim
        # (docs/platforms/facebook-graph.md#private-replies).
        if comment.private_reply is not None:
            raise GraphError(10900, "(#10900) Activity already replied to")
        if now - comment.created_time > PRIVATE_REPLY_WINDOW_S:
            raise GraphError(10901, "(#10901) Activity replying time expired")
        citizen = self.sb.state.inbox.citizens[comment.author]
        if page.page_id in citizen.blocked:
            raise _unavailable()
        thread = thread_for(self.sb, page, citizen.handle)
        sent = self._store_page_message(page, thread, message, comment_id=comment.id)
        comment.private_reply = {"at": now, "mid": sent.mid, "conversation_id": thread.id}
        answer = {"recipient_id": thread.psid, "message_id": sent.mid}
        self._record_send("private_reply", page, comment.id, thread, payload, answer=answer)
        self._echo(page, thread, sent)
        return Reply(200, answer)

    def _send_to_psid(
        self,
        call: GraphCall,
        page: PageIdentity,
        psid: str,
        message: dict[str, Any],
        payload: dict,
    ) -> Reply:
        inbox = self.sb.state.inbox
        thread = self._thread_of(page, psid)
        if thread is None:
            # Not in Meta's pages; Graph's answer for an unknown PSID [from memory].
            raise GraphError(100, "(#100) No matching user found", subcode=2018001)
        messaging_type = str(call.params.get("messaging_type") or "RESPONSE").upper()
        if messaging_type not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            raise invalid_parameter(
                "Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"
            )
        self._check_window(thread, messaging_type, call.params.get("tag"))
        if page.page_id in inbox.citizens[thread.citizen].blocked:
            raise _unavailable()
        sent = self._store_page_message(page, thread, message)
        answer = {"recipient_id": thread.psid, "message_id": sent.mid}
        self._record_send("messenger", page, thread.psid, thread, payload, answer=answer)
        self._echo(page, thread, sent)
        return Reply(200, answer)

    def _check_window(self, thread: MessengerThread, messaging_type: str, tag: Any) -> None:
        """The 24 h standard window; HUMAN_AGENT to 7 days for apps that have the feature;
        the retired tags fail with code 100 from 2026-04-27
        (docs/platforms/facebook-graph.md#the-24-hour-window)."""
        now = self.sb.now()
        last = thread.last_user_message_at
        if last is not None and now - last <= STANDARD_WINDOW_S:
            return
        if messaging_type == "MESSAGE_TAG":
            name = str(tag or "").upper()
            if not name:
                raise invalid_parameter("Param tag is required with messaging_type MESSAGE_TAG")
            if name in RETIRED_TAGS:
                if now >= TAGS_RETIRED_AT:
                    raise invalid_parameter("Invalid parameter")
                return
            if name != "HUMAN_AGENT":
                raise invalid_parameter(f"Param tag must be one of {{HUMAN_AGENT}}, got {name}")
            if self.sb.app.human_agent and last is not None and now - last <= HUMAN_AGENT_WINDOW_S:
                return
        raise GraphError(
            10, "(#10) This message is sent outside of allowed window", subcode=2018278
        )

    def _store_page_message(
        self,
        page: PageIdentity,
        thread: MessengerThread,
        message: dict[str, Any],
        *,
        comment_id: str | None = None,
    ) -> MessengerMessage:
        now = self.sb.now()
        attachment = message.get("attachment")
        sent = MessengerMessage(
            mid=new_mid(self.sb),
            thread_id=thread.id,
            page_id=page.page_id,
            psid=thread.psid,
            from_page=True,
            created_time=now,
            text=str(message["text"]) if message.get("text") else None,
            attachments=[attachment] if isinstance(attachment, dict) else [],
            comment_id=comment_id,
        )
        self.sb.state.inbox.messages.append(sent)
        thread.updated_time = now
        self.sb.touch()
        return sent

    def _echo(self, page: PageIdentity, thread: MessengerThread, sent: MessengerMessage) -> None:
        """``message_echoes``: the Page's own message, with ``is_echo`` and ``app_id``
        (docs/platforms/facebook-graph.md#message-events)."""
        content: dict[str, Any] = {
            "is_echo": True,
            "app_id": int(self.sb.config.graph_app_id),
            "mid": sent.mid,
        }
        if sent.text:
            content["text"] = sent.text
        if sent.attachments:
            content["attachments"] = sent.attachments
        event = {
            "sender": {"id": page.page_id},
            "recipient": {"id": thread.psid},
            "timestamp": epoch_ms(sent.created_time),
            "message": content,
        }
        entry = {"id": page.page_id, "time": epoch_ms(self.sb.now()), "messaging": [event]}
        deliver(self.sb, page.page_id, "message_echoes", entry, "echo")

    def _record(
        self,
        kind: str,
        page: PageIdentity,
        to: str,
        comment: GraphComment | None,
        payload: dict[str, Any],
        *,
        answer: dict[str, Any] | None = None,
        error: GraphError | None = None,
    ) -> None:
        citizen = comment.author if comment is not None and comment.author != "page" else None
        post_id = comment.post_id if comment is not None else to
        record_sent(self.sb, kind, page, to, citizen, post_id, payload, answer, error)

    def _record_send(
        self,
        kind: str,
        page: PageIdentity,
        to: str,
        thread: MessengerThread | None,
        payload: dict[str, Any],
        *,
        answer: dict[str, Any] | None = None,
        error: GraphError | None = None,
    ) -> None:
        citizen = thread.citizen if thread else None
        record_sent(
            self.sb, kind, page, to, citizen, thread.id if thread else None, payload, answer, error
        )

    def conversations(self, call: GraphCall, principal: Principal, page: PageIdentity) -> Reply:
        """``GET /{page-id}/conversations?platform=messenger`` newest first
        (docs/platforms/facebook-graph.md#conversations-api)."""
        require_page_token(principal, page)
        require(self.sb, principal, page, CONVERSATIONS)
        platform = str(call.params.get("platform") or "messenger")
        if platform not in ("messenger", "instagram"):
            raise invalid_parameter("Param platform must be one of {MESSENGER, INSTAGRAM}")
        threads = (
            []
            if platform == "instagram"
            else [t for t in self.sb.state.inbox.threads.values() if t.page_id == page.page_id]
        )
        user_id = call.params.get("user_id")
        if user_id:
            threads = [t for t in threads if t.psid == str(user_id)]
        threads.sort(key=lambda t: (t.updated_time, t.id), reverse=True)
        requests = self._checked(call, CONVERSATION_FIELDS, "Conversation")
        return Reply(
            200,
            self.api._paged(
                call,
                threads,
                key=lambda t: t.id,
                render=lambda t: self.render_thread(t, requests),
            ),
        )

    def thread_node(
        self, call: GraphCall, principal: Principal, thread: MessengerThread, rest: list[str]
    ) -> Reply:
        page = self.sb.pages[thread.page_id]
        require_page_token(principal, page)
        require(self.sb, principal, page, CONVERSATIONS)
        if call.method != "GET":
            raise invalid_parameter(f"Unsupported {call.method.lower()} request")
        if rest == ["messages"]:
            requests = self._checked(call, MESSAGE_FIELDS, "Message")
            return Reply(
                200,
                self.api._paged(
                    call,
                    self._messages_of(thread),
                    key=lambda m: m.mid,
                    render=lambda m: self.render_message(m, requests),
                ),
            )
        if rest:
            raise nonexisting_field(rest[0], "Conversation")
        return Reply(
            200,
            self.render_thread(thread, self._checked(call, CONVERSATION_FIELDS, "Conversation")),
        )

    def message_node(
        self, call: GraphCall, principal: Principal, message: MessengerMessage, rest: list[str]
    ) -> Reply:
        page = self.sb.pages[message.page_id]
        require_page_token(principal, page)
        require(self.sb, principal, page, CONVERSATIONS)
        if rest:
            raise nonexisting_field(rest[0], "Message")
        thread = self.sb.state.inbox.threads[message.thread_id]
        recent = [m.mid for m in self._messages_of(thread)[:MESSAGE_DETAIL_LIMIT]]
        if message.mid not in recent:
            # Details only for the 20 most recent messages
            # (docs/platforms/facebook-graph.md#conversations-api); wording ours.
            raise invalid_parameter(
                "This message is older than the 20 most recent messages of its conversation: "
                "its details are not available"
            )
        return Reply(
            200, self.render_message(message, self._checked(call, MESSAGE_FIELDS, "Message"))
        )

    def _checked(self, call: GraphCall, allowed: tuple[str, ...], node: str) -> list[FieldRequest]:
        requests = self.api._fields(call)
        for request in requests:
            if request.name not in allowed:
                raise nonexisting_field(request.name, node)
        return requests

    def _messages_of(self, thread: MessengerThread) -> list[MessengerMessage]:
        """A conversation's messages, newest first (Graph's order)."""
        messages = [m for m in self.sb.state.inbox.messages if m.thread_id == thread.id]
        return messages[::-1]

    def _participant(self, thread: MessengerThread, page_side: bool) -> dict[str, str]:
        if page_side:
            page = self.sb.pages[thread.page_id]
            return {"name": page.name, "email": f"{page.page_id}@facebook.com", "id": page.page_id}
        citizen = self.sb.state.inbox.citizens[thread.citizen]
        return {"name": citizen.name, "email": f"{thread.psid}@facebook.com", "id": thread.psid}

    def render_thread(self, thread: MessengerThread, requests: list[FieldRequest]) -> dict:
        """A conversation with the requested fields (id and updated_time by default)."""
        if not requests:
            requests = [FieldRequest("id"), FieldRequest("updated_time")]
        messages = self._messages_of(thread)
        out: dict[str, Any] = {}
        for request in requests:
            name = request.name
            value: Any = None
            if name == "id":
                value = thread.id
            elif name == "updated_time":
                value = graph_time(thread.updated_time)
            elif name == "message_count":
                value = len(messages)
            elif name == "unread_count":
                value = 0
            elif name == "snippet":
                value = (messages[0].text or "") if messages else ""
            elif name in ("participants", "senders"):
                value = {
                    "data": [self._participant(thread, False), self._participant(thread, True)]
                }
            elif name == "can_reply":
                value = True
            elif name == "link":
                value = f"/{thread.page_id}/inbox/{thread.id}"
            elif name == "messages":
                limit = int(request.modifiers.get("limit", "25") or 25)
                subfields = list(request.subfields)
                value = {"data": [self.render_message(m, subfields) for m in messages[:limit]]}
            if value is not None:
                out[request.key] = value
        return out

    def render_message(self, message: MessengerMessage, requests: list[FieldRequest]) -> dict:
        """A Messenger message as the Conversations API shows it (id, created_time default)."""
        if not requests:
            requests = [FieldRequest("id"), FieldRequest("created_time")]
        thread = self.sb.state.inbox.threads[message.thread_id]
        out: dict[str, Any] = {}
        for request in requests:
            name = request.name
            value: Any = None
            if name == "id":
                value = message.mid
            elif name == "created_time":
                value = graph_time(message.created_time)
            elif name == "message":
                value = message.text or ""
            elif name == "from":
                value = self._participant(thread, message.from_page)
            elif name == "to":
                value = {"data": [self._participant(thread, not message.from_page)]}
            elif name == "attachments":
                images = [a for a in message.attachments if a.get("type") == "image"]
                if images:
                    value = {
                        "data": [_image_attachment(message.mid, i, a) for i, a in enumerate(images)]
                    }
            elif name == "shares":
                # Only the URL of a share comes back
                # (docs/platforms/facebook-graph.md#conversations-api); a location is one.
                shared = [a for a in message.attachments if a.get("type") == "location"]
                if shared:
                    value = {"data": [{"link": a["url"], "name": a["title"]} for a in shared]}
            if value is not None:
                out[request.key] = value
        return out

    def subscribed_apps(self, call: GraphCall, principal: Principal, page: PageIdentity) -> Reply:
        """``GET/POST/DELETE /{page-id}/subscribed_apps`` with the Page token
        (docs/platforms/facebook-graph.md#subscribing-a-page)."""
        require_page_token(principal, page)
        inbox = self.sb.state.inbox
        if call.method == "GET":
            fields = inbox.page_subscriptions.get(page.page_id)
            data = []
            if fields is not None:
                data.append(
                    {
                        "category": "Business",
                        "link": "https://loa.example.gov.vn/",
                        "name": "Loa",
                        "id": self.sb.config.graph_app_id,
                        "subscribed_fields": fields,
                    }
                )
            return Reply(200, {"data": data})
        if call.method == "DELETE":
            inbox.page_subscriptions.pop(page.page_id, None)
            self.sb.touch()
            return Reply(200, {"success": True})
        raw = call.params.get("subscribed_fields")
        if not raw:
            raise invalid_parameter("The parameter subscribed_fields is required.")
        names = raw if isinstance(raw, list) else str(raw).split(",")
        fields = [str(n).strip() for n in names if str(n).strip()]
        grant = self.sb.app.page_grants[page.page_id]
        for index, field in enumerate(fields):
            if field not in WEBHOOK_FIELDS:
                raise invalid_parameter(
                    f"Param subscribed_fields[{index}] must be one of "
                    f"{{{', '.join(WEBHOOK_FIELDS)}}}"
                )
            # feed: pages_manage_metadata; Messenger fields: pages_messaging
            # (docs/platforms/facebook-graph.md#permissions-and-tasks). The
            # wording is Graph's as we remember it [unverified].
            needed = "pages_manage_metadata" if field == "feed" else "pages_messaging"
            if needed not in grant.scopes:
                raise GraphError(
                    200,
                    f"(#200) To subscribe to the {field} field, one of these permissions is "
                    f"needed: {needed}",
                    status=403,
                )
        subscribe_page(self.sb, page.page_id, fields)
        # Meta's example shows the string "true" here
        # (docs/platforms/facebook-graph.md#subscribing-a-page).
        return Reply(200, {"success": "true"})


def _image_attachment(mid: str, index: int, attachment: dict[str, Any]) -> dict[str, Any]:
    url = str(attachment.get("payload", {}).get("url", ""))
    return {
        "id": f"{mid}_{index}",
        "mime_type": "image/jpeg",
        "name": f"image-{index}.jpg",
        "image_data": {"width": 720, "height": 720, "url": url, "preview_url": url},
    }


def _unavailable() -> GraphError:
    """The citizen blocked the Page or turned messages off
    (docs/platforms/facebook-graph.md#the-24-hour-window)."""
    return GraphError(551, "(#551) This person isn't available right now.", subcode=1545041)


def _json_param(raw: Any, name: str) -> dict[str, Any]:
    """``recipient``/``message``: a JSON object, or its text in form encoding."""
    if raw is None or raw == "":
        raise invalid_parameter(f"The parameter {name} is required")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise invalid_parameter(f"param {name} must be a JSON object") from None
    if not isinstance(raw, dict):
        raise invalid_parameter(f"param {name} must be a JSON object")
    return raw


def _check_message(message: dict[str, Any]) -> None:
    text = message.get("text")
    if not text and not message.get("attachment"):
        raise invalid_parameter("param message must have text or an attachment")
    if text and len(str(text)) > MESSENGER_TEXT_LIMIT:
        raise invalid_parameter(
            f"Length of param message[text] must be less than or equal to {MESSENGER_TEXT_LIMIT}"
        )
