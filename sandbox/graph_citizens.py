"""Citizens on Facebook: their comments and Messenger messages, stored as the Graph stand-in
serves them and delivered through the Page webhook (docs/platforms/facebook-graph.md#comments,
docs/platforms/facebook-graph.md#messenger); the helpers the
comment and Messenger endpoints share.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from sandbox import citizen_media
from sandbox import citizens as people
from sandbox.citizens import (
    GraphComment,
    MessengerMessage,
    MessengerThread,
    SentRecord,
    WebhookDelivery,
    get_or_create_citizen,
)
from sandbox.config import PageIdentity
from sandbox.graph_errors import (
    GraphError,
)
from sandbox.graph_render import graph_time
from sandbox.graph_webhook import PLATFORM, deliver
from sandbox.runtime import Sandbox
from sandbox.state import GraphPost

PRIVATE_REPLY_WINDOW_S = 7 * 86400  # docs/platforms/facebook-graph.md#private-replies


def citizen_comment(sb: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/graph/comment``: a citizen comments on a published post (or replies to a
    comment with ``parent_id``); the ``feed`` change goes to the webhook
    (docs/platforms/facebook-graph.md#comment-changes-in-the-feed)."""
    post = sb.state.posts.get(str(body.get("post_id") or ""))
    if post is None or post.deleted:
        raise LookupError(f"unknown post {body.get('post_id')!r} (use the {{page}}_{{post}} id)")
    if not post.is_published:
        raise ValueError(f"post {post.id} is not published: citizens cannot see it yet")
    message = str(body.get("message") or "")
    photo = body.get("photo")
    if photo is True or isinstance(photo, dict):
        # A photo the sandbox serves at an expiring URL (receivers download it over HTTP).
        photo, _ = citizen_media.host(
            sb, PLATFORM, "image", (photo if isinstance(photo, dict) else {}) | _base(body)
        )
    if not message and not photo:
        raise ValueError("a comment needs a message or a photo")
    parent = _parent(sb, post, body.get("parent_id"))
    citizen = get_or_create_citizen(
        sb.state.inbox, str(body.get("citizen") or ""), sb.now(), body.get("name")
    )
    comment = add_comment(
        sb,
        post,
        parent,
        author=citizen.handle,
        from_id=people.fb_user_id(sb.config.seed, citizen.handle),
        from_name=citizen.name,
        message=message,
        photo=str(photo) if photo else None,
    )
    delivery = deliver_comment(sb, comment)
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
    URL, a location); the ``messages`` event goes to the webhook
    (docs/platforms/facebook-graph.md#message-events)."""
    page = sb.pages.get(str(body.get("page_id") or ""))
    if page is None:
        raise LookupError(f"unknown page {body.get('page_id')!r}")
    citizen = get_or_create_citizen(
        sb.state.inbox, str(body.get("citizen") or ""), sb.now(), body.get("name")
    )
    attachments = _citizen_attachments(sb, citizen.name, body)
    text = body.get("text")
    if not text and not attachments:
        raise ValueError("a Messenger message needs text, an image or a location")
    now = sb.now()
    thread = thread_for(sb, page, citizen.handle)
    reply_to = str(body["reply_to"]) if body.get("reply_to") else None
    message = MessengerMessage(
        mid=new_mid(sb),
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
        "timestamp": epoch_ms(now),
        "message": content,
    }
    entry = {"id": page.page_id, "time": epoch_ms(now), "messaging": [event]}
    delivery = deliver(sb, page.page_id, "messages", entry, "message")
    return {
        "mid": message.mid,
        "psid": thread.psid,
        "conversation_id": thread.id,
        "timestamp": epoch_ms(now),
        "delivery": delivery.id if delivery else None,
    }


def _base(body: dict[str, Any]) -> dict[str, Any]:
    return {"_media_base": body["_media_base"]} if body.get("_media_base") else {}


def _citizen_attachments(sb: Sandbox, name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    attachments: list[dict[str, Any]] = []
    hosted = body.get("attachment")
    if body.get("image") is True:
        hosted = {"type": "image"}
    if isinstance(hosted, dict):
        # image|video|audio|file (docs/platforms/facebook-graph.md#message-events), each at an
        # expiring URL the sandbox serves.
        kind = str(hosted.get("type") or "image")
        if kind not in ("image", "video", "audio", "file"):
            raise ValueError("attachment type must be image, video, audio or file")
        url, _ = citizen_media.host(sb, PLATFORM, kind, hosted | _base(body))
        attachments.append({"type": kind, "payload": {"url": url}})
    elif body.get("image"):
        attachments.append({"type": "image", "payload": {"url": str(body["image"])}})
    location = body.get("location")
    if location:
        if not isinstance(location, dict) or "lat" not in location or "long" not in location:
            raise ValueError('location must be {"lat": number, "long": number}')
        lat, long = float(location["lat"]), float(location["long"])
        # Not in Meta's pages (docs/platforms/facebook-graph.md#message-events lists image, video,
        # audio, file, reel); the shape is the one
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


def add_comment(
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
    # Comment ids are "{post part}_{comment part}"
    # (docs/platforms/facebook-graph.md#comment-changes-in-the-feed), numbered from Graph's id
    # space.
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


#: What a citizen may do to his comment after writing it, as ``feed`` change verbs (Meta's
#: feed reference lists add, edited, remove, hide, unhide...; the set is not pinned
#: down, so these follow what integrators receive: an edit carries the new message, a removal
#: none; docs/platforms/facebook-graph.md#comment-changes-in-the-feed).
COMMENT_VERBS = ("edited", "remove", "hide", "unhide")


def change_comment(sb: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/graph/comment/change``: ``{"comment_id", "verb", "message"}``: the
    citizen edits or removes his comment (or the Page hides it); the ``feed`` change goes to
    the webhook with that verb."""
    comment = sb.state.inbox.comments.get(str(body.get("comment_id") or ""))
    if comment is None:
        raise LookupError(f"unknown comment {body.get('comment_id')!r}")
    verb = str(body.get("verb") or "")
    if verb not in COMMENT_VERBS:
        raise ValueError(f"verb must be one of {list(COMMENT_VERBS)}")
    if verb == "edited":
        message = str(body.get("message") or "")
        if not message:
            raise ValueError("an edit needs the new message")
        comment.message = message
    elif verb in ("hide", "unhide"):
        comment.is_hidden = verb == "hide"
    delivery = deliver_comment(sb, comment, verb)
    if verb == "remove":
        del sb.state.inbox.comments[comment.id]  # gone from the comments edge too
    sb.touch()
    return {"comment_id": comment.id, "verb": verb, "delivery": delivery.id if delivery else None}


def deliver_comment(
    sb: Sandbox, comment: GraphComment, verb: str = "add"
) -> WebhookDelivery | None:
    """The ``feed`` change of a comment, in the key order of the captured example
    (docs/platforms/facebook-graph.md#comment-changes-in-the-feed); a
    removal carries no message."""
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
    if verb == "remove":
        del value["message"]
    if comment.photo and verb != "remove":
        value["photo"] = comment.photo
    value.update(
        {
            "post_id": post.id,
            "comment_id": comment.id,
            "created_time": int(comment.created_time),
            "item": "comment",
            # A top-level comment's parent is the post
            # (docs/platforms/facebook-graph.md#comment-changes-in-the-feed).
            "parent_id": comment.parent_id or post.id,
            "verb": verb,
        }
    )
    entry = {
        "id": comment.page_id,
        "time": int(sb.now()),
        "changes": [{"field": "feed", "value": value}],
    }
    return deliver(sb, comment.page_id, "feed", entry, "comment")


def thread_for(sb: Sandbox, page: PageIdentity, handle: str) -> MessengerThread:
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


def new_mid(sb: Sandbox) -> str:
    """A fresh Messenger message id (``m_`` + opaque text)."""
    serial = sb.state.inbox.serial()
    digest = hashlib.sha256(f"{sb.config.seed}:mid:{serial}".encode()).digest()
    return "m_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def epoch_ms(epoch: float) -> int:
    """Meta's millisecond timestamps (Messenger)."""
    return int(epoch * 1000)


def record_sent(
    sb: Sandbox,
    kind: str,
    page: PageIdentity,
    to: str,
    citizen: str | None,
    thread: str | None,
    payload: dict[str, Any],
    answer: dict[str, Any] | None,
    error: GraphError | None,
) -> None:
    """Keep what a Page sent, or tried to send and was refused (``GET /_sandbox/sent``)."""
    inbox = sb.state.inbox
    inbox.sent.append(
        SentRecord(
            seq=inbox.serial(),
            at=sb.now(),
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
    sb.touch()
