"""Facebook Page inbox stand-in: citizens' comments and Messenger messages, the Page's webhook,
replies with Meta's windows, and the read endpoints a receiver backfills from.

Every behaviour follows ``shared/reference/inbox.md`` (§B Facebook, §F3 checklist); where the
reference names no wording or code, the comment beside it says where the value comes from.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox import citizens as people
from sandbox.citizens import (
    GraphComment,
    GraphWebhook,
    MessengerMessage,
    MessengerThread,
    SentRecord,
    WebhookDelivery,
    get_or_create_citizen,
)
from sandbox.clock import iso_utc
from sandbox.config import PageIdentity
from sandbox.graph_call import GraphCall, Principal, Reply, as_epoch
from sandbox.graph_errors import (
    GraphError,
    invalid_parameter,
    nonexisting_field,
    object_not_found,
    permission_error,
)
from sandbox.graph_fields import FieldRequest
from sandbox.graph_permissions import (
    CONVERSATIONS,
    ENGAGE,
    HIDE,
    MESSAGING,
    READ,
    READ_USER_CONTENT,
    require,
)
from sandbox.graph_render import graph_time, post_engagement
from sandbox.runtime import Sandbox
from sandbox.state import GraphPost
from sandbox.webhooks import PlatformRules

if TYPE_CHECKING:
    from sandbox.graph import GraphApi

PLATFORM = "graph"
PAGE_TOKEN_REQUIRED = "(#190) This method must be called with a Page Access Token"

#: Meta: "retry immediately, then try a few more times with decreasing frequency over the next
#: 36 hours" (inbox.md §B4). The reference gives no exact times; these are the sandbox's,
#: offsets from the first attempt, ending at 36 h.
RETRY_OFFSETS_S = (0, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600, 36 * 3600)
#: Messenger webhooks time out after 20 seconds (inbox.md §B4).
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
#: Fields Messenger delivers (their sustained failure unsubscribes the app, inbox.md §B4).
MESSENGER_FIELDS = tuple(f for f in WEBHOOK_FIELDS if f != "feed")

STANDARD_WINDOW_S = 24 * 3600  # §B9
HUMAN_AGENT_WINDOW_S = 7 * 86400  # §B9
PRIVATE_REPLY_WINDOW_S = 7 * 86400  # §B8
#: Retired on 2026-04-27 (§B9, secondary: erxes/erxes PR #9177): then answered code 100.
RETIRED_TAGS = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE")
TAGS_RETIRED_AT = datetime(2026, 4, 27, tzinfo=UTC).timestamp()
#: Text limit for Messenger: [UNSOURCED] in §B9 ("commonly 2,000 chars").
MESSENGER_TEXT_LIMIT = 2000
#: Details only for a conversation's 20 most recent messages (§B10, secondary).
MESSAGE_DETAIL_LIMIT = 20

COMMENT_FIELDS = (
    "id",
    "message",
    "created_time",
    "from",
    "parent",
    "comment_count",
    "comments",
    "is_hidden",
    "can_hide",
    "can_comment",
    "can_reply_privately",
    "attachment",
    "permalink_url",
    "like_count",
)
DEFAULT_COMMENT_FIELDS = ("created_time", "from", "message", "id")
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


# --------------------------------------------------------------------------- webhook


def meta_json(payload: Any) -> str:
    """The body as Meta sends it: ``\\uXXXX`` escapes in lowercase hex for every non-ASCII
    character and ``\\/`` for slashes (inbox.md §B3: Meta signs "an escaped unicode version of
    the payload, with lowercase hex digits"; the checklist §F3 adds ``\\/``)."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/")


def signature_headers(app_secret: str, body: str) -> dict[str, str]:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`` (§B3), and the
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
    the delivery is kept as ``filtered`` so a test can see why (§B1).
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
            # "no 200 for an extended period -> ... app unsubscribed from the Page" (§B4).
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

    Meta calls ``GET callback?hub.mode=subscribe&hub.challenge=N&hub.verify_token=T`` and
    expects HTTP 200 with exactly ``N`` (§B2); anything else keeps the old settings and raises
    ``ValueError`` with the dashboard's complaint.
    """
    url = str(body.get("callback_url") or "")
    token = str(body.get("verify_token") or "")
    if not url.startswith(("http://", "https://")) or not token:
        raise ValueError("callback_url (http or https) and verify_token are required")
    fields = _names(body.get("fields", ["feed", "messages"]), "fields", WEBHOOK_FIELDS)
    pages = _names(body.get("pages", []), "pages", tuple(sb.pages))
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


# --------------------------------------------------------------------------- citizens act


def citizen_comment(sb: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/graph/comment``: a citizen comments on a published post (or replies to a
    comment with ``parent_id``); the ``feed`` change goes to the webhook (§B5)."""
    post = sb.state.posts.get(str(body.get("post_id") or ""))
    if post is None or post.deleted:
        raise LookupError(f"unknown post {body.get('post_id')!r} (use the {{page}}_{{post}} id)")
    if not post.is_published:
        raise ValueError(f"post {post.id} is not published: citizens cannot see it yet")
    message = str(body.get("message") or "")
    photo = body.get("photo")
    if not message and not photo:
        raise ValueError("a comment needs a message or a photo")
    parent = _parent(sb, post, body.get("parent_id"))
    citizen = get_or_create_citizen(
        sb.state.inbox, str(body.get("citizen") or ""), sb.now(), body.get("name")
    )
    comment = _add_comment(
        sb,
        post,
        parent,
        author=citizen.handle,
        from_id=people.fb_user_id(sb.config.seed, citizen.handle),
        from_name=citizen.name,
        message=message,
        photo=str(photo) if photo else None,
    )
    delivery = _deliver_comment(sb, comment)
    return {
        "comment_id": comment.id,
        "post_id": post.id,
        "parent_id": comment.parent_id,
        "from": {"id": comment.from_id, "name": comment.from_name},
        "created_time": int(comment.created_time),
        "delivery": delivery.id if delivery else None,
    }


def citizen_message(sb: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/graph/message``: a citizen writes to a Page in Messenger (text, an image
    URL, a location); the ``messages`` event goes to the webhook (§B6)."""
    page = sb.pages.get(str(body.get("page_id") or ""))
    if page is None:
        raise LookupError(f"unknown page {body.get('page_id')!r}")
    citizen = get_or_create_citizen(
        sb.state.inbox, str(body.get("citizen") or ""), sb.now(), body.get("name")
    )
    attachments = _citizen_attachments(citizen.name, body)
    text = body.get("text")
    if not text and not attachments:
        raise ValueError("a Messenger message needs text, an image or a location")
    now = sb.now()
    thread = _thread(sb, page, citizen.handle)
    reply_to = str(body["reply_to"]) if body.get("reply_to") else None
    message = MessengerMessage(
        mid=_mid(sb),
        thread_id=thread.id,
        page_id=page.page_id,
        psid=thread.psid,
        from_page=False,
        created_time=now,
        text=str(text) if text else None,
        attachments=attachments,
        reply_to=reply_to,
    )
    sb.state.inbox.messages.append(message)
    thread.last_user_message_at = now
    thread.updated_time = now
    sb.touch()
    content: dict[str, Any] = {"mid": message.mid}
    if message.text:
        content["text"] = message.text
    if attachments:
        content["attachments"] = attachments
    if reply_to:
        content["reply_to"] = {"mid": reply_to}
    event = {
        "sender": {"id": thread.psid},
        "recipient": {"id": page.page_id},
        "timestamp": _ms(now),
        "message": content,
    }
    entry = {"id": page.page_id, "time": _ms(now), "messaging": [event]}
    delivery = deliver(sb, page.page_id, "messages", entry, "message")
    return {
        "mid": message.mid,
        "psid": thread.psid,
        "conversation_id": thread.id,
        "timestamp": _ms(now),
        "delivery": delivery.id if delivery else None,
    }


def _citizen_attachments(name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    attachments: list[dict[str, Any]] = []
    if body.get("image"):
        attachments.append({"type": "image", "payload": {"url": str(body["image"])}})
    location = body.get("location")
    if location:
        if not isinstance(location, dict) or "lat" not in location or "long" not in location:
            raise ValueError('location must be {"lat": number, "long": number}')
        lat, long = float(location["lat"]), float(location["long"])
        # Not in the reference (§B6 lists image|video|audio|file|reel); the shape is the one
        # captured in integrators' fixtures: title, a map URL, numeric coordinates.
        attachments.append(
            {
                "title": f"{name}'s Location",
                "url": f"https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.bing.com%2Fmaps%2F"
                f"default.aspx%3Fwhere1%3D{lat}%252C%2B{long}",
                "type": "location",
                "payload": {"coordinates": {"lat": lat, "long": long}},
            }
        )
    return attachments


def _parent(sb: Sandbox, post: GraphPost, parent_id: Any) -> GraphComment | None:
    if not parent_id:
        return None
    parent = sb.state.inbox.comments.get(str(parent_id))
    if parent is None or parent.post_id != post.id:
        raise LookupError(f"unknown comment {parent_id!r} on post {post.id}")
    return parent


def _add_comment(
    sb: Sandbox,
    post: GraphPost,
    parent: GraphComment | None,
    *,
    author: str,
    from_id: str,
    from_name: str,
    message: str,
    photo: str | None = None,
) -> GraphComment:
    # Comment ids are "{post part}_{comment part}" (§B5), numbered from Graph's id space.
    comment = GraphComment(
        id=f"{post.id.split('_', 1)[1]}_{sb.state.new_graph_id()}",
        post_id=post.id,
        page_id=post.page_id,
        parent_id=parent.id if parent else None,
        author=author,
        from_id=from_id,
        from_name=from_name,
        message=message,
        created_time=sb.now(),
        photo=photo,
    )
    sb.state.inbox.comments[comment.id] = comment
    sb.touch()
    return comment


def _deliver_comment(sb: Sandbox, comment: GraphComment) -> WebhookDelivery | None:
    """The ``feed`` change of a new comment, in the key order of the captured example (§B5)."""
    post = sb.state.posts[comment.post_id]
    value: dict[str, Any] = {
        "from": {"id": comment.from_id, "name": comment.from_name},
        "post": {
            "status_type": post.status_type,
            "is_published": True,
            "updated_time": graph_time(post.updated_time),
            "promotion_status": "inactive",
            "id": post.id,
        },
        "message": comment.message,
    }
    if comment.photo:
        value["photo"] = comment.photo
    value.update(
        {
            "post_id": post.id,
            "comment_id": comment.id,
            "created_time": int(comment.created_time),
            "item": "comment",
            # A top-level comment's parent is the post (§B5).
            "parent_id": comment.parent_id or post.id,
            "verb": "add",
        }
    )
    entry = {
        "id": comment.page_id,
        "time": int(sb.now()),
        "changes": [{"field": "feed", "value": value}],
    }
    return deliver(sb, comment.page_id, "feed", entry, "comment")


def _thread(sb: Sandbox, page: PageIdentity, handle: str) -> MessengerThread:
    """The conversation of ``page`` with citizen ``handle`` (created on first contact)."""
    inbox = sb.state.inbox
    scoped = people.psid(sb.config.seed, handle, page.page_id)
    for thread in inbox.threads.values():
        if thread.page_id == page.page_id and thread.psid == scoped:
            return thread
    now = sb.now()
    thread = MessengerThread(
        id=f"t_{sb.state.new_graph_id()}",
        page_id=page.page_id,
        psid=scoped,
        citizen=handle,
        created_time=now,
        updated_time=now,
    )
    inbox.threads[thread.id] = thread
    sb.touch()
    return thread


def _mid(sb: Sandbox) -> str:
    """A fresh Messenger message id (``m_`` + opaque text)."""
    serial = sb.state.inbox.serial()
    digest = hashlib.sha256(f"{sb.config.seed}:mid:{serial}".encode()).digest()
    return "m_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _ms(epoch: float) -> int:
    return int(epoch * 1000)


def _names(value: Any, what: str, allowed: tuple[str, ...]) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what}: expected a list of names")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ValueError(f"{what}: unknown {unknown}; expected some of {list(allowed)}")
    return list(value)


# --------------------------------------------------------------------------- Graph endpoints


class GraphInbox:
    """The inbox's Graph endpoints, served through :class:`sandbox.graph.GraphApi`."""

    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.sb = api.sb

    # ------------------------------------------------------------- routing hooks

    async def page_edge(
        self, call: GraphCall, principal: Principal, page: PageIdentity, rest: list[str]
    ) -> Reply | None:
        """``/{page-id}/messages``, ``/conversations``, ``/subscribed_apps``; None otherwise."""
        if len(rest) != 1:
            return None
        edge = rest[0]
        if edge == "messages" and call.method == "POST":
            return self.send(call, principal, page)
        if edge == "conversations" and call.method == "GET":
            return self.conversations(call, principal, page)
        if edge == "subscribed_apps":
            return self.subscribed_apps(call, principal, page)
        return None

    def comment_count(self, post_id: str) -> int:
        """Comments and replies on a post (they add to its synthetic ``comments`` figure)."""
        return sum(1 for c in self.sb.state.inbox.comments.values() if c.post_id == post_id)

    async def node(
        self, call: GraphCall, principal: Principal, head: str, rest: list[str]
    ) -> Reply | None:
        """A comment, conversation or message id; None when ``head`` is none of them."""
        inbox = self.sb.state.inbox
        comment = inbox.comments.get(head)
        if comment is not None:
            return self._comment_node(call, principal, comment, rest)
        thread = inbox.threads.get(head)
        if thread is not None:
            return self._thread_node(call, principal, thread, rest)
        if head.startswith("m_"):
            for message in inbox.messages:
                if message.mid == head:
                    return self._message_node(call, principal, message, rest)
        return None

    # ------------------------------------------------------------- permissions

    def _page_token(self, principal: Principal, page: PageIdentity) -> None:
        if principal.kind != "page":
            raise GraphError(190, PAGE_TOKEN_REQUIRED)
        if principal.page is None or principal.page.page_id != page.page_id:
            raise permission_error()

    def _read_comments(self, principal: Principal, page: PageIdentity) -> None:
        if principal.kind == "user":
            # Live probe: a User token reading comments gets #200 (inbox.md §B7).
            raise GraphError(200, "(#200) Missing Permissions", status=403)
        require(self.sb, principal, page, READ)
        require(self.sb, principal, page, READ_USER_CONTENT)

    def _can_moderate(self, principal: Principal, page: PageIdentity) -> bool:
        """Comment ids are returned only to MODERATE-capable tokens (v11+, §B7)."""
        if principal.kind != "page":
            return True
        return "MODERATE" in self.sb.app.page_grants[page.page_id].tasks

    # ------------------------------------------------------------- comments

    def post_comments(self, call: GraphCall, principal: Principal, post: GraphPost) -> Reply:
        """``GET /{post-id}/comments`` (list) or ``POST`` (the Page comments)."""
        page = self.sb.pages[post.page_id]
        if call.method == "POST":
            return self._page_comment(call, principal, page, post, None)
        if call.method != "GET":
            raise invalid_parameter("Unsupported method on comments")
        self._read_comments(principal, page)
        inbox = self.sb.state.inbox
        mode = self._filter(call)
        items = [
            c
            for c in inbox.comments.values()
            if c.post_id == post.id and (mode == "stream" or c.parent_id is None)
        ]
        # A post's count is the synthetic figure (people the sandbox does not model one by
        # one) plus the modelled comments; like Graph's, it can exceed what is listable (§B7).
        synthetic = post_engagement(self.sb.config.seed, post, self.sb.now()).comments
        return Reply(200, self._comment_list(call, principal, page, items, synthetic + len(items)))

    def _comment_node(
        self, call: GraphCall, principal: Principal, comment: GraphComment, rest: list[str]
    ) -> Reply:
        page = self.sb.pages[comment.page_id]
        if principal.kind == "page" and principal.page != page:
            raise object_not_found(call.method, comment.id)
        if rest == ["comments"]:
            if call.method == "POST":
                post = self.sb.state.posts[comment.post_id]
                return self._page_comment(call, principal, page, post, comment)
            self._read_comments(principal, page)
            replies = [
                c for c in self.sb.state.inbox.comments.values() if c.parent_id == comment.id
            ]
            return Reply(200, self._comment_list(call, principal, page, replies, len(replies)))
        if rest:
            raise nonexisting_field(rest[0], "Comment")
        if call.method == "POST":
            return self._hide(call, principal, page, comment)
        if call.method != "GET":
            raise invalid_parameter(f"Unsupported {call.method.lower()} request")
        self._read_comments(principal, page)
        requests = self.api._fields(call)
        return Reply(
            200, self.render_comment(comment, requests, self._can_moderate(principal, page))
        )

    def _filter(self, call: GraphCall) -> str:
        # Graph's default filtering is toplevel; stream adds the replies (§B7).
        mode = str(call.params.get("filter") or "toplevel")
        if mode not in ("toplevel", "stream"):
            raise invalid_parameter("Param filter must be one of {toplevel, stream}")
        return mode

    def _comment_list(
        self,
        call: GraphCall,
        principal: Principal,
        page: PageIdentity,
        items: list[GraphComment],
        total: int,
    ) -> dict[str, Any]:
        order = call.params.get("order")
        if order not in (None, "", "chronological", "reverse_chronological"):
            raise invalid_parameter(
                "Param order must be one of {chronological, reverse_chronological}"
            )
        since = as_epoch(call.params.get("since"))
        until = as_epoch(call.params.get("until"))
        listed = [
            c
            for c in items
            if (since is None or c.created_time >= since)
            and (until is None or c.created_time <= until)
        ]
        serial = {c.id: int(c.id.split("_")[1]) for c in listed}
        if order == "chronological":
            listed.sort(key=lambda c: (c.created_time, serial[c.id]))
        elif order == "reverse_chronological":
            listed.sort(key=lambda c: (c.created_time, serial[c.id]), reverse=True)
        else:
            # Without order the live API answers a mixed order (§B7): a stable shuffle, so
            # cursors still page through every comment once.
            seed = self.sb.config.seed
            listed.sort(key=lambda c: hashlib.sha256(f"{seed}:{c.id}".encode()).hexdigest())
        requests = self.api._fields(call)
        for request in requests:
            if request.name not in COMMENT_FIELDS:
                raise nonexisting_field(request.name, "Comment")
        moderate = self._can_moderate(principal, page)
        out = self.api._paged(
            call,
            listed,
            key=lambda c: c.id,
            render=lambda c: self.render_comment(c, requests, moderate),
        )
        if str(call.params.get("summary", "")).lower() not in ("", "false", "0"):
            out["summary"] = {
                "order": order or "ranked",
                "total_count": total,
                "can_comment": True,
            }
        return out

    def render_comment(
        self, comment: GraphComment, requests: list[FieldRequest], moderate: bool
    ) -> dict[str, Any]:
        """A comment with the requested fields (Graph's defaults when none)."""
        if not requests:
            requests = [FieldRequest(name) for name in DEFAULT_COMMENT_FIELDS]
        out: dict[str, Any] = {}
        for request in requests:
            if request.name not in COMMENT_FIELDS:
                raise nonexisting_field(request.name, "Comment")
            value = self._comment_field(comment, request, moderate)
            if value is not None:
                out[request.key] = value
        return out

    def _comment_field(self, comment: GraphComment, request: FieldRequest, moderate: bool) -> Any:
        inbox = self.sb.state.inbox
        name = request.name
        replies = [c for c in inbox.comments.values() if c.parent_id == comment.id]
        if name == "id":
            return comment.id if moderate else None
        if name == "message":
            return comment.message
        if name == "created_time":
            return graph_time(comment.created_time)
        if name == "from":
            return {"name": comment.from_name, "id": comment.from_id}
        if name == "parent":
            if comment.parent_id is None:
                return None
            parent = inbox.comments[comment.parent_id]
            if request.subfields:
                return self.render_comment(parent, list(request.subfields), moderate)
            return {"id": parent.id}
        if name == "comment_count":
            return len(replies)
        if name == "comments":
            replies.sort(key=lambda c: (c.created_time, c.id))
            limit = int(request.modifiers.get("limit", "25") or 25)
            data = [
                self.render_comment(c, list(request.subfields), moderate) for c in replies[:limit]
            ]
            connection: dict[str, Any] = {"data": data}
            if request.wants_summary():
                connection["summary"] = {
                    "order": "chronological",
                    "total_count": len(replies),
                    "can_comment": True,
                }
            return connection
        if name == "is_hidden":
            return comment.is_hidden
        if name == "can_hide":
            return comment.author != "page"
        if name == "can_comment":
            return True
        if name == "can_reply_privately":
            return (
                comment.author != "page"
                and comment.private_reply is None
                and self.sb.now() - comment.created_time <= PRIVATE_REPLY_WINDOW_S
            )
        if name == "attachment":
            if not comment.photo:
                return None
            return {
                "type": "photo",
                "media": {"image": {"src": comment.photo, "height": 720, "width": 720}},
                "url": comment.photo,
            }
        if name == "permalink_url":
            post_part, comment_part = comment.id.split("_", 1)
            return (
                f"https://www.facebook.com/{comment.page_id}/posts/{post_part}"
                f"?comment_id={comment_part}"
            )
        if name == "like_count":
            return 0
        return None

    def _page_comment(
        self,
        call: GraphCall,
        principal: Principal,
        page: PageIdentity,
        post: GraphPost,
        parent: GraphComment | None,
    ) -> Reply:
        """``POST /{comment-id}/comments`` (or ``/{post-id}/comments``): the Page answers in
        public; its comment comes back through ``feed`` like any other (§B5, §B7)."""
        target = parent.id if parent else post.id
        payload = {k: v for k, v in call.params.items() if k != "fields"}
        try:
            self._page_token(principal, page)
            require(self.sb, principal, page, ENGAGE)
            message = str(call.params.get("message") or "")
            photo = call.params.get("attachment_url")
            if not message and not photo:
                # Wording ours: the reference names none.
                raise invalid_parameter("Missing message or attachment")
        except GraphError as error:
            self._record("comment_reply", page, target, parent, payload, error=error)
            raise
        comment = _add_comment(
            self.sb,
            post,
            parent,
            author="page",
            from_id=page.page_id,
            from_name=page.name,
            message=message,
            photo=str(photo) if photo else None,
        )
        answer = {"id": comment.id}
        self._record("comment_reply", page, target, parent, payload, answer=answer)
        _deliver_comment(self.sb, comment)
        return Reply(200, answer)

    def _hide(
        self, call: GraphCall, principal: Principal, page: PageIdentity, comment: GraphComment
    ) -> Reply:
        """``POST /{comment-id}`` with ``is_hidden`` (§B7)."""
        payload = dict(call.params)
        try:
            self._page_token(principal, page)
            require(self.sb, principal, page, HIDE)
            raw = call.params.get("is_hidden")
            if raw is None:
                raise invalid_parameter("Param is_hidden is required")
            hidden = str(raw).lower() in ("true", "1")
        except GraphError as error:
            self._record("comment_hide", page, comment.id, comment, payload, error=error)
            raise
        comment.is_hidden = hidden
        self.sb.touch()
        answer = {"success": True}
        self._record("comment_hide", page, comment.id, comment, payload, answer=answer)
        return Reply(200, answer)

    # ------------------------------------------------------------- Send API

    def send(self, call: GraphCall, principal: Principal, page: PageIdentity) -> Reply:
        """``POST /{page-id}/messages``: to a PSID inside Meta's windows, or a private reply to
        a comment (``recipient: {comment_id}``), one per comment within 7 days (§B8, §B9)."""
        payload = {k: v for k, v in call.params.items() if k != "fields"}
        recipient: dict[str, Any] = {}
        try:
            self._page_token(principal, page)
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
            # "cannot private-reply to another Page" (§B8); wording ours.
            raise invalid_parameter("Cannot send a private reply to a Page's own comment")
        now = self.sb.now()
        # Codes not in the reference; integrators quote these answers verbatim.
        if comment.private_reply is not None:
            raise GraphError(10900, "(#10900) Activity already replied to")
        if now - comment.created_time > PRIVATE_REPLY_WINDOW_S:
            raise GraphError(10901, "(#10901) Activity replying time expired")
        citizen = self.sb.state.inbox.citizens[comment.author]
        if page.page_id in citizen.blocked:
            raise _unavailable()
        thread = _thread(self.sb, page, citizen.handle)
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
            # Not in the reference; Graph's answer for an unknown PSID [from memory].
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
        the retired tags fail with code 100 from 2026-04-27 (§B9)."""
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
            mid=_mid(self.sb),
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
        """``message_echoes``: the Page's own message, with ``is_echo`` and ``app_id`` (§B6)."""
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
            "timestamp": _ms(sent.created_time),
            "message": content,
        }
        entry = {"id": page.page_id, "time": _ms(self.sb.now()), "messaging": [event]}
        deliver(self.sb, page.page_id, "message_echoes", entry, "echo")

    # ------------------------------------------------------------- records

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
        self._append(kind, page, to, citizen, post_id, payload, answer, error)

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
        self._append(kind, page, to, citizen, thread.id if thread else None, payload, answer, error)

    def _append(
        self,
        kind: str,
        page: PageIdentity,
        to: str,
        citizen: str | None,
        thread: str | None,
        payload: dict[str, Any],
        answer: dict[str, Any] | None,
        error: GraphError | None,
    ) -> None:
        inbox = self.sb.state.inbox
        inbox.sent.append(
            SentRecord(
                seq=inbox.serial(),
                at=self.sb.now(),
                platform=PLATFORM,
                channel=page.page_id,
                kind=kind,
                to=to,
                citizen=citizen,
                thread=thread,
                payload=payload,
                accepted=error is None,
                result=error.body() if error is not None else answer or {},
            )
        )
        self.sb.touch()

    # ------------------------------------------------------------- conversations

    def conversations(self, call: GraphCall, principal: Principal, page: PageIdentity) -> Reply:
        """``GET /{page-id}/conversations?platform=messenger`` newest first (§B10)."""
        self._page_token(principal, page)
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

    def _thread_node(
        self, call: GraphCall, principal: Principal, thread: MessengerThread, rest: list[str]
    ) -> Reply:
        page = self.sb.pages[thread.page_id]
        self._page_token(principal, page)
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

    def _message_node(
        self, call: GraphCall, principal: Principal, message: MessengerMessage, rest: list[str]
    ) -> Reply:
        page = self.sb.pages[message.page_id]
        self._page_token(principal, page)
        require(self.sb, principal, page, CONVERSATIONS)
        if rest:
            raise nonexisting_field(rest[0], "Message")
        thread = self.sb.state.inbox.threads[message.thread_id]
        recent = [m.mid for m in self._messages_of(thread)[:MESSAGE_DETAIL_LIMIT]]
        if message.mid not in recent:
            # Details only for the 20 most recent messages (§B10); wording ours.
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
                # Only the URL of a share comes back (§B10); a location is one.
                shared = [a for a in message.attachments if a.get("type") == "location"]
                if shared:
                    value = {"data": [{"link": a["url"], "name": a["title"]} for a in shared]}
            if value is not None:
                out[request.key] = value
        return out

    # ------------------------------------------------------------- subscribed_apps

    def subscribed_apps(self, call: GraphCall, principal: Principal, page: PageIdentity) -> Reply:
        """``GET/POST/DELETE /{page-id}/subscribed_apps`` with the Page token (§B1)."""
        self._page_token(principal, page)
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
            # feed: pages_manage_metadata; Messenger fields: pages_messaging (§B1). The
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
        # The reference shows the string "true" here (§B1).
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
    """The citizen blocked the Page or turned messages off (§B9)."""
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
