"""Comments on Page posts through Graph: reading them (filter, order, since, summary, paging,
the fields a MODERATE token sees), the Page's public replies and hiding
(docs/platforms/facebook-graph.md#comments).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sandbox.citizens import (
    GraphComment,
)
from sandbox.config import PageIdentity
from sandbox.graph_call import GraphCall, Principal, Reply, as_epoch
from sandbox.graph_citizens import (
    PRIVATE_REPLY_WINDOW_S,
    add_comment,
    deliver_comment,
    record_sent,
)
from sandbox.graph_errors import (
    GraphError,
    invalid_parameter,
    nonexisting_field,
    object_not_found,
)
from sandbox.graph_fields import FieldRequest
from sandbox.graph_permissions import (
    ENGAGE,
    HIDE,
    READ,
    READ_USER_CONTENT,
    require,
    require_page_token,
)
from sandbox.graph_render import graph_time, post_engagement
from sandbox.state import GraphPost

if TYPE_CHECKING:
    from sandbox.graph import GraphApi

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


class GraphComments:
    """``/{post-id}/comments``, ``/{comment-id}`` and ``/{comment-id}/comments``."""

    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.sb = api.sb

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
        # one) plus the modelled comments; like Graph's, it can exceed what is listable
        # (docs/platforms/facebook-graph.md#reading-comments).
        synthetic = post_engagement(self.sb.config.seed, post, self.sb.now()).comments
        return Reply(200, self._comment_list(call, principal, page, items, synthetic + len(items)))

    def comment_node(
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

    def _read_comments(self, principal: Principal, page: PageIdentity) -> None:
        if principal.kind == "user":
            # Live probe: a User token reading comments gets #200
            # (docs/platforms/facebook-graph.md#reading-comments).
            raise GraphError(200, "(#200) Missing Permissions", status=403)
        require(self.sb, principal, page, READ)
        require(self.sb, principal, page, READ_USER_CONTENT)

    def _can_moderate(self, principal: Principal, page: PageIdentity) -> bool:
        """Comment ids are returned only to MODERATE-capable tokens (v11+,
        docs/platforms/facebook-graph.md#reading-comments)."""
        if principal.kind != "page":
            return True
        return "MODERATE" in self.sb.app.page_grants[page.page_id].tasks

    def _filter(self, call: GraphCall) -> str:
        # Graph's default filtering is toplevel; stream adds the replies
        # (docs/platforms/facebook-graph.md#reading-comments).
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
            # Without order the live API answers a mixed order
            # (docs/platforms/facebook-graph.md#reading-comments): a stable shuffle, so
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
        public; its comment comes back through ``feed`` like any other
        (docs/platforms/facebook-graph.md#replying-to-and-hiding-comments)."""
        target = parent.id if parent else post.id
        payload = {k: v for k, v in call.params.items() if k != "fields"}
        try:
            require_page_token(principal, page)
            require(self.sb, principal, page, ENGAGE)
            message = str(call.params.get("message") or "")
            photo = call.params.get("attachment_url")
            if not message and not photo:
                # Wording ours: Meta's pages name none.
                raise invalid_parameter("Missing message or attachment")
        except GraphError as error:
            self._record("comment_reply", page, target, parent, payload, error=error)
            raise
        comment = add_comment(
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
        deliver_comment(self.sb, comment)
        return Reply(200, answer)

    def _hide(
        self, call: GraphCall, principal: Principal, page: PageIdentity, comment: GraphComment
    ) -> Reply:
        """``POST /{comment-id}`` with ``is_hidden``
        (docs/platforms/facebook-graph.md#replying-to-and-hiding-comments)."""
        payload = dict(call.params)
        try:
            require_page_token(principal, page)
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
