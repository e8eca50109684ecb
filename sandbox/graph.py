"""The Graph API stand-in's logic: one call in, one reply out (HTTP and batch share it)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from sandbox import faults as fault_kinds
from sandbox.config import GRAPH_SCOPES, PAGE_TASKS, PageIdentity
from sandbox.graph_call import (
    PUBLISH_EDGES,
    GraphCall,
    Principal,
    Reply,
    as_epoch,
    decode_cursor,
    encode_cursor,
)
from sandbox.graph_errors import (
    GraphError,
    content_rejected,
    invalid_parameter,
    missing_token,
    nonexisting_field,
    object_not_found,
    permission_error,
    posting_as_user,
    server_error,
    throttled,
    token_error,
)
from sandbox.graph_fields import FieldSyntaxError, parse_fields
from sandbox.graph_inbox import GraphInbox
from sandbox.graph_permissions import INSIGHTS, PUBLISH, READ, check_proof, require
from sandbox.graph_publish import create_feed_post, create_photo, edit_post
from sandbox.graph_render import (
    POST_FIELDS,
    VALID_PAGE_METRICS,
    check_post_metrics,
    graph_time,
    parse_metric_names,
    post_engagement,
    post_insight,
    render_photo,
    render_post,
)
from sandbox.graph_tokens import dead_token, debug_token, oauth_access_token
from sandbox.graph_versions import serve_version
from sandbox.runtime import Sandbox
from sandbox.state import GraphPhoto, GraphPost

PAGE_TOKEN_REQUIRED = "(#190) This method must be called with a Page Access Token"
LIST_EDGES = ("feed", "posts", "published_posts", "scheduled_posts")


class GraphApi:
    """Serves Graph calls against a :class:`Sandbox`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        #: Comments, Messenger and webhook subscriptions (sandbox.graph_inbox).
        self.inbox = GraphInbox(self)

    # ----------------------------------------------------------------- entry point

    async def serve(self, call: GraphCall) -> Reply:
        """Authenticate, meter, inject faults, dispatch; every call goes through here."""
        sb = self.sb
        sb.publish_due_posts()
        principal: Principal | None = None
        channel: str | None = None
        fault: str | None = None
        try:
            # An unknown version fails before anything else; an expired one is served by the
            # oldest live version (docs/platforms/facebook-graph.md#versions).
            call.served_version = serve_version(call.version, call.path, sb.now())
            if call.path[:2] == ["oauth", "access_token"]:
                reply = Reply(200, oauth_access_token(self.sb, call))
            else:
                principal = self.authenticate(call)
                channel = self._channel(call, principal)
                reply, fault = await self._serve_authenticated(call, principal, channel)
        except GraphError as error:
            reply = Reply(error.status, error.body(), dict(error.headers))
        if principal is not None and not reply.headers.get("X-Forced-Usage"):
            reply.headers.update(self._usage_headers(principal))
        reply.headers.pop("X-Forced-Usage", None)
        if call.served_version:
            # The version that actually served the call (docs/platforms/facebook-graph.md#versions).
            reply.headers.setdefault("facebook-api-version", call.served_version)
        error_code = (
            reply.body.get("error", {}).get("code") if isinstance(reply.body, dict) else None
        )
        sb.record_request(
            api="graph",
            method=call.method,
            path=call.display_path,
            channel=channel,
            status=reply.status if reply.transport is None else 0,
            error=error_code,
            fault=fault,
        )
        return reply

    async def _serve_authenticated(
        self, call: GraphCall, principal: Principal, channel: str
    ) -> tuple[Reply, str | None]:
        sb = self.sb
        now = sb.now()
        sb.graph_usage.record(principal.bucket, now)
        decision = sb.faults.decide(channel, is_publish=call.is_publish())
        delay = decision.latency_s if decision else 0.0
        outcome = decision.outcome if decision else fault_kinds.OK
        spec = decision.spec if decision else None
        try:
            if decision and decision.auth:
                error = self._token_error(decision.auth)
                return self._error_reply(error, delay), f"auth:{decision.auth}"
            if sb.graph_usage.percent(principal.bucket, now) >= 100:
                code = 80001 if principal.kind == "page" else 4
                raise throttled(code, self._usage_headers(principal))
            if spec is not None and outcome != fault_kinds.OK:
                early = self._early_fault(outcome, spec, principal, delay)
                if early is not None:
                    return early, outcome
            reply = await self._dispatch(call, principal)
        except GraphError as error:
            return self._error_reply(error, delay), None
        reply.delay_s = delay
        if spec is not None and reply.status == 200:
            if outcome == fault_kinds.ACCEPT_THEN_ERROR:
                return self._error_reply(server_error(spec.error_code), delay), outcome
            if outcome == fault_kinds.ACCEPT_THEN_TIMEOUT:
                hang = Reply(504, {}, delay_s=delay, transport="hang", hang_s=spec.hang_s)
                return hang, outcome
        return reply, None

    @staticmethod
    def _error_reply(error: GraphError, delay: float) -> Reply:
        return Reply(error.status, error.body(), dict(error.headers), delay_s=delay)

    def _early_fault(
        self, outcome: str, spec: fault_kinds.FaultSpec, principal: Principal, delay: float
    ) -> Reply | None:
        """The reply for a fault that stops the call before it does anything."""
        if outcome == fault_kinds.ERROR:
            error = server_error(spec.error_code)
        elif outcome == fault_kinds.TIMEOUT:
            return Reply(504, {}, delay_s=delay, transport="hang", hang_s=spec.hang_s)
        elif outcome == fault_kinds.RESET:
            return Reply(502, {}, delay_s=delay, transport="drop")
        elif outcome == fault_kinds.RATE_LIMIT:
            headers = self._usage_headers(principal, forced=(100, spec.regain_minutes))
            if spec.rate_limit_code in (4, 17):
                # Platform (app/user) limits show in X-App-Usage whatever the token.
                headers["X-App-Usage"] = json.dumps(
                    {"call_count": 100, "total_cputime": 100, "total_time": 100}
                )
            headers["X-Forced-Usage"] = "1"
            error = throttled(spec.rate_limit_code, headers)
        elif outcome == fault_kinds.REJECT:
            error = content_rejected(spec.reject_code)
        else:
            return None
        return Reply(error.status, error.body(), dict(error.headers), delay_s=delay)

    # ----------------------------------------------------------------- tokens, usage

    def authenticate(self, call: GraphCall) -> Principal:
        """Who the call's token belongs to; refuses a missing, unknown or expired token and a
        missing or wrong ``appsecret_proof``."""
        principal = self._authenticate(call.token)
        check_proof(self.sb, principal, call)
        return principal

    def _authenticate(self, token: str | None) -> Principal:
        if not token:
            raise missing_token()
        config = self.sb.config
        page = self.sb.page_by_token.get(token)
        if page is not None:
            expires_at = self.sb.app.page_grants[page.page_id].expires_at
            if expires_at and self.sb.now() >= expires_at:
                raise dead_token(self.sb, "expired")
            return Principal("page", token, page)
        if token == config.graph_user_token:
            return Principal("user", token)
        if token == config.graph_app_token:
            return Principal("app", token)
        raise token_error("invalid")

    def _token_error(self, kind: str) -> GraphError:
        return dead_token(self.sb, kind)

    def _channel(self, call: GraphCall, principal: Principal) -> str:
        if principal.page is not None:
            return principal.page.page_id
        head = call.path[0] if call.path else ""
        owner = self._owner_page(head)
        return owner or "app"

    def _owner_page(self, object_id: str) -> str | None:
        if object_id in self.sb.pages:
            return object_id
        if "_" in object_id and object_id.split("_", 1)[0] in self.sb.pages:
            return object_id.split("_", 1)[0]
        photo = self.sb.state.photos.get(object_id)
        return photo.page_id if photo else None

    def _usage_headers(
        self, principal: Principal, forced: tuple[int, int] | None = None
    ) -> dict[str, str]:
        """Usage headers for the token's bucket; absent while usage rounds to 0%."""
        usage = self.sb.graph_usage
        now = self.sb.now()
        if forced is not None:
            percent, regain = forced
        else:
            percent = usage.percent(principal.bucket, now)
            regain = usage.regain_minutes(principal.bucket, now)
        if percent <= 0:
            return {}
        # CPU and time shares track the call count loosely, as they do on Graph.
        figures = {
            "call_count": percent,
            "total_cputime": max(1, percent * 3 // 5) if percent < 100 else percent,
            "total_time": max(1, percent * 7 // 10) if percent < 100 else percent,
        }
        if principal.page is None:
            return {"X-App-Usage": json.dumps(figures)}
        entry = {"type": "pages", **figures, "estimated_time_to_regain_access": regain}
        return {"X-Business-Use-Case-Usage": json.dumps({principal.page.page_id: [entry]})}

    # ----------------------------------------------------------------- routing

    async def _dispatch(self, call: GraphCall, principal: Principal) -> Reply:
        path = call.path
        if not path and call.method == "GET" and call.params.get("ids"):
            return await self._ids(call, principal)
        if not path:
            raise invalid_parameter("Unsupported request: a node id is required")
        head, rest = path[0], path[1:]
        if head == "debug_token" and not rest and call.method == "GET":
            return Reply(200, debug_token(self.sb, call))
        if head == "me":
            return await self._me(call, principal, rest)
        if head in self.sb.pages:
            return await self._page(call, principal, self.sb.pages[head], rest)
        post = self.sb.state.posts.get(head)
        if post is not None and not post.deleted:
            return await self._post(call, principal, post, rest)
        photo = self.sb.state.photos.get(head)
        if photo is not None and not photo.deleted:
            return self._photo(call, principal, photo, rest)
        reply = await self.inbox.node(call, principal, head, rest)
        if reply is not None:
            return reply
        if head.isdigit() and any(post_id.endswith(f"_{head}") for post_id in self.sb.state.posts):
            # A Page post read by its bare id (docs/platforms/facebook-graph.md#reading-comments:
            # "bare id -> #12"); the wording is Graph's for the retired singular statuses API [from
            # memory].
            raise GraphError(
                12, "(#12) singular statuses API is deprecated for versions v2.4 and higher"
            )
        raise object_not_found(call.method, head)

    async def _ids(self, call: GraphCall, principal: Principal) -> Reply:
        """``GET /?ids=a,b``: each node read with the same fields, keyed by its id.

        One unknown id fails the whole call with code 803; another error (a permission, a bad
        field) is the call's error as well (Graph answers all or nothing here) [unverified].
        """
        ids = [i.strip() for i in str(call.params["ids"]).split(",") if i.strip()]
        params = {k: v for k, v in call.params.items() if k != "ids"}
        missing = [i for i in ids if not self._exists(i)]
        if missing:
            raise GraphError(
                803, f"(#803) Some of the aliases you requested do not exist: {','.join(missing)}"
            )
        out: dict[str, Any] = {}
        for object_id in ids:
            one = GraphCall(
                method="GET",
                path=[object_id],
                params=params,
                token=call.token,
                version=call.version,
                query={k: v for k, v in call.query.items() if k != "ids"},
                url_prefix=call.url_prefix,
                proof=call.proof,
                served_version=call.served_version,
            )
            reply = await self._dispatch(one, principal)
            out[object_id] = reply.body
        return Reply(200, out)

    def _exists(self, object_id: str) -> bool:
        if object_id in self.sb.pages or object_id == "me":
            return True
        post = self.sb.state.posts.get(object_id)
        photo = self.sb.state.photos.get(object_id)
        return (post is not None and not post.deleted) or (photo is not None and not photo.deleted)

    async def _me(self, call: GraphCall, principal: Principal, rest: list[str]) -> Reply:
        if principal.page is not None:
            return await self._page(call, principal, principal.page, rest)
        if principal.kind == "app":
            raise GraphError(
                2500,
                "An active access token must be used to query information about the current user.",
            )
        if call.method != "GET":
            raise object_not_found(call.method, "me")
        if not rest:
            return Reply(200, {"id": self.sb.config.graph_user_id, "name": "Quản trị viên Demo"})
        if rest == ["accounts"]:
            return Reply(200, self._accounts(call))
        if rest == ["permissions"]:
            granted = self.sb.app.user_scopes
            data = [{"permission": p, "status": "granted"} for p in sorted(granted)]
            data += [
                {"permission": p, "status": "declined"} for p in GRAPH_SCOPES if p not in granted
            ]
            return Reply(200, {"data": data})
        raise nonexisting_field(rest[0], "User")

    def _accounts(self, call: GraphCall) -> dict[str, Any]:
        grants = self.sb.app.page_grants
        items = [
            {
                "id": page.page_id,
                "name": page.name,
                "access_token": page.token,
                "category": page.category,
                "tasks": [t for t in PAGE_TASKS if t in grants[page.page_id].tasks],
            }
            for page in self.sb.config.pages
        ]
        return self._paged(call, items, key=lambda item: item["id"])

    # ----------------------------------------------------------------- pages

    async def _page(
        self, call: GraphCall, principal: Principal, page: PageIdentity, rest: list[str]
    ) -> Reply:
        if not rest:
            if call.method != "GET":
                raise object_not_found(call.method, page.page_id)
            return Reply(200, self._page_fields(call, principal, page))
        edge = rest[0]
        inbox_reply = await self.inbox.page_edge(call, principal, page, rest)
        if inbox_reply is not None:
            return inbox_reply
        if call.method == "POST" and edge in PUBLISH_EDGES and len(rest) == 1:
            self._require_page_token(principal, page, posting=True)
            require(self.sb, principal, page, PUBLISH)
            if edge == "feed":
                post = create_feed_post(self.sb, call, page)
                return Reply(200, {"id": post.id, **self._read_after_write(call, post)})
            return Reply(200, await create_photo(self.sb, call, page))
        if call.method == "GET" and edge in LIST_EDGES and len(rest) == 1:
            require(self.sb, principal, page, READ)
            return Reply(200, self._list_posts(call, page, scheduled=edge == "scheduled_posts"))
        if call.method == "GET" and edge == "insights":
            self._require_page_token(principal, page, posting=False)
            require(self.sb, principal, page, INSIGHTS)
            return Reply(200, self._page_insights(call, page, rest[1:]))
        if call.method == "GET" and edge == "photos" and len(rest) == 1:
            require(self.sb, principal, page, READ)
            photos = [
                {"id": p.id, "created_time": graph_time(p.created_time), "name": p.message}
                for p in self.sb.state.photos.values()
                if p.page_id == page.page_id and p.published and not p.deleted
            ]
            return Reply(200, self._paged(call, photos[::-1], key=lambda item: item["id"]))
        if call.method == "GET":
            raise nonexisting_field(edge, "Page")
        raise object_not_found(call.method, "/".join([page.page_id, *rest]))

    def _page_fields(
        self, call: GraphCall, principal: Principal, page: PageIdentity
    ) -> dict[str, Any]:
        available: dict[str, Any] = {
            "id": page.page_id,
            "name": page.name,
            "category": page.category,
            "fan_count": page.followers,
            "followers_count": page.followers,
            "link": f"https://www.facebook.com/{page.page_id}",
            "about": f"Trang thông tin của {page.name}",
            "verification_status": "blue_verified",
            "username": f"congan{page.page_id[-6:]}",
            "website": "https://congan.example.gov.vn",
            "category_list": [{"id": "2235", "name": page.category}],
            "picture": {
                "data": {
                    "height": 50,
                    "is_silhouette": False,
                    "url": f"https://scontent.xx.fbcdn.net/v/t39.30808-1/{page.page_id}_p.jpg",
                    "width": 50,
                }
            },
            "cover": {
                "cover_id": f"{page.page_id}9",
                "offset_x": 0,
                "offset_y": 50,
                "source": f"https://scontent.xx.fbcdn.net/v/t39.30808-6/{page.page_id}_c.jpg",
                "id": f"{page.page_id}9",
            },
        }
        if principal.kind == "user" or principal.page == page:
            available["access_token"] = page.token
        requested = self._fields(call) or []
        if not requested:
            return {"name": page.name, "id": page.page_id}
        out = {}
        for request in requested:
            if request.name not in available and request.name != "access_token":
                raise nonexisting_field(request.name, "Page")
            if request.name in available:
                out[request.key] = available[request.name]
        return out

    def _require_page_token(self, principal: Principal, page: PageIdentity, *, posting: bool):
        if principal.kind == "user":
            if posting:
                raise posting_as_user()
            raise GraphError(190, PAGE_TOKEN_REQUIRED)
        if principal.page is None or principal.page.page_id != page.page_id:
            raise permission_error()

    def _read_after_write(self, call: GraphCall, post: GraphPost) -> dict[str, Any]:
        requests = self._fields(call)
        if not requests:
            return {}
        return self._render(post, requests)

    # ----------------------------------------------------------------- posts

    async def _post(
        self, call: GraphCall, principal: Principal, post: GraphPost, rest: list[str]
    ) -> Reply:
        page = self.sb.pages[post.page_id]
        if principal.kind == "page" and principal.page != page:
            raise object_not_found(call.method, post.id)
        if not rest:
            if call.method == "GET":
                requests = self._fields(call)
                if principal.kind != "page" and any(r.name == "insights" for r in requests):
                    raise GraphError(190, PAGE_TOKEN_REQUIRED)
                require(self.sb, principal, page, READ)
                if any(r.name == "insights" for r in requests):
                    require(self.sb, principal, page, INSIGHTS)
                return Reply(200, self._render(post, requests))
            self._require_page_token(principal, page, posting=False)
            require(self.sb, principal, page, PUBLISH)
            if call.method == "DELETE":
                post.deleted = True
                self.sb.touch()
                return Reply(200, {"success": True})
            return Reply(200, edit_post(self.sb, call, post))
        if rest == ["comments"]:
            return self.inbox.post_comments(call, principal, post)
        edge = rest[0]
        if call.method != "GET":
            raise object_not_found(call.method, "/".join([post.id, *rest]))
        if edge == "insights":
            if principal.kind != "page":
                raise GraphError(190, PAGE_TOKEN_REQUIRED)
            require(self.sb, principal, page, INSIGHTS)
            return Reply(200, self._post_insights(call, post, rest[1:]))
        if edge in ("reactions", "likes"):
            require(self.sb, principal, page, READ)
            return Reply(200, self._post_edge(call, post, edge))
        raise nonexisting_field(edge, "PagePost")

    def _render(self, post: GraphPost, requests: Any) -> dict[str, Any]:
        page = self.sb.pages[post.page_id]
        return render_post(
            post,
            requests or [],
            seed=self.sb.config.seed,
            now=self.sb.now(),
            page_name=page.name,
            photos=self.sb.state.photos,
            # Counted only when asked for: every post read would walk the comments otherwise.
            extra_comments=self.inbox.comment_count(post.id)
            if any(r.name == "comments" for r in requests or [])
            else 0,
        )

    def _fields(self, call: GraphCall) -> list[Any]:
        try:
            return parse_fields(call.params.get("fields"))
        except FieldSyntaxError as exc:
            raise invalid_parameter(f"Syntax error in fields: {exc}") from None

    def _post_insights(self, call: GraphCall, post: GraphPost, rest: list[str]) -> dict[str, Any]:
        names = [rest[0]] if rest else parse_metric_names(call.params.get("metric"))
        check_post_metrics(names, self.sb.now())
        figures = post_engagement(self.sb.config.seed, post, self.sb.now())
        return {"data": [post_insight(post.id, name, figures) for name in names]}

    def _post_edge(self, call: GraphCall, post: GraphPost, edge: str) -> dict[str, Any]:
        figures = post_engagement(self.sb.config.seed, post, self.sb.now())
        out: dict[str, Any] = {"data": []}
        wants_summary = str(call.params.get("summary", "")).lower() not in ("", "false", "0")
        kind = str(call.params.get("type", "")).upper() if edge == "reactions" else "LIKE"
        total = figures.reactions.get(kind, 0) if kind else figures.reactions_total
        if wants_summary:
            out["summary"] = {"total_count": total, "viewer_reaction": "NONE"}
        return out

    def _page_insights(self, call: GraphCall, page: PageIdentity, rest: list[str]) -> dict:
        names = [rest[0]] if rest else parse_metric_names(call.params.get("metric"))
        if not names:
            check_post_metrics(names, self.sb.now())
        for name in names:
            if name not in VALID_PAGE_METRICS:
                raise invalid_parameter("The value must be a valid insights metric")
        now = self.sb.now()
        posts = self.sb.posts_of(page.page_id)
        figures = [post_engagement(self.sb.config.seed, p, now) for p in posts if not p.deleted]
        totals = {
            "page_media_view": sum(f.views for f in figures),
            "page_total_media_view_unique": sum(f.unique_views for f in figures),
            "page_post_engagements": sum(
                f.reactions_total + f.comments + f.shares + f.clicks for f in figures
            ),
            "page_follows": page.followers,
            "page_views_total": sum(f.clicks for f in figures),
            "page_total_actions": sum(f.clicks for f in figures) // 10,
        }
        period = str(call.params.get("period") or "day")
        end_time = graph_time((int(now) // 86400 + 1) * 86400 - 8 * 3600)
        data = [
            {
                "name": name,
                "period": period,
                "values": [{"value": totals.get(name, 0), "end_time": end_time}],
                "title": name.replace("_", " ").capitalize(),
                "description": "Sandbox figure.",
                "id": f"{page.page_id}/insights/{name}/{period}",
            }
            for name in names
        ]
        return {"data": data}

    # ----------------------------------------------------------------- photos, tokens

    def _photo(
        self, call: GraphCall, principal: Principal, photo: GraphPhoto, rest: list[str]
    ) -> Reply:
        page = self.sb.pages[photo.page_id]
        if principal.kind == "page" and principal.page != page:
            raise object_not_found(call.method, photo.id)
        if rest:
            raise nonexisting_field(rest[0], "Photo")
        if call.method == "DELETE":
            self._require_page_token(principal, page, posting=False)
            require(self.sb, principal, page, PUBLISH)
            photo.deleted = True
            post = self.sb.state.posts.get(photo.post_id or "")
            if post is not None and post.photo_ids == [photo.id]:
                post.deleted = True
            self.sb.touch()
            return Reply(200, {"success": True})
        if call.method != "GET":
            raise object_not_found(call.method, photo.id)
        require(self.sb, principal, page, READ)
        return Reply(200, render_photo(photo, self._fields(call), page))

    def _list_posts(self, call: GraphCall, page: PageIdentity, *, scheduled: bool) -> dict:
        """Published posts newest first, or scheduled ones soonest first."""

        def listed(post: GraphPost) -> bool:
            if post.page_id != page.page_id or post.deleted:
                return False
            if scheduled:
                return post.scheduled_publish_time is not None and not post.is_published
            return post.is_published

        posts = [p for p in self.sb.posts_of(page.page_id) if listed(p)]
        since = as_epoch(call.params.get("since"))
        until = as_epoch(call.params.get("until"))
        if since is not None:
            posts = [p for p in posts if p.created_time >= since]
        if until is not None:
            posts = [p for p in posts if p.created_time <= until]
        if scheduled:
            posts.sort(key=lambda p: (p.scheduled_publish_time or 0, p.id))
        else:
            posts.sort(key=lambda p: (p.created_time, int(p.id.split("_")[1])), reverse=True)
        requests = self._fields(call)
        for request in requests:
            # Checked up front so an empty list fails like a full one would.
            if request.name not in POST_FIELDS:
                raise nonexisting_field(request.name, "PagePost")
        return self._paged(
            call, posts, key=lambda post: post.id, render=lambda post: self._render(post, requests)
        )

    def _paged(
        self,
        call: GraphCall,
        items: list[Any],
        *,
        key: Any,
        render: Any = None,
    ) -> dict[str, Any]:
        """Cursor paging: ``limit`` (default 25, capped at 100) and ``after``/``before``."""
        try:
            limit = int(call.params.get("limit") or 25)
        except ValueError:
            raise invalid_parameter("limit must be an integer") from None
        limit = max(1, min(limit, 100))  # page edges cap limit at 100
        call_limit = limit
        keys = [str(key(item)) for item in items]
        start = 0
        after = call.params.get("after")
        before = call.params.get("before")
        if after:
            cursor = decode_cursor(str(after))
            start = keys.index(cursor) + 1 if cursor in keys else len(keys)
        elif before:
            # The page that ends just before the cursor (paging.previous leads here).
            cursor = decode_cursor(str(before))
            end = keys.index(cursor) if cursor in keys else 0
            start = max(0, end - limit)
            limit = end - start
        window = items[start : start + limit] if limit > 0 else []
        data = [render(item) if render else item for item in window]
        out: dict[str, Any] = {"data": data}
        if window:
            out["paging"] = {
                "cursors": {
                    "before": encode_cursor(keys[start]),
                    "after": encode_cursor(keys[start + len(window) - 1]),
                }
            }
            base = {k: v for k, v in call.query.items() if k not in ("after", "before")}
            base["limit"] = str(call_limit)
            here = f"{call.url_prefix}/{call.served_version}/{'/'.join(call.path)}"
            if start > 0:
                out["paging"]["previous"] = (
                    f"{here}?{urlencode({**base, 'before': encode_cursor(keys[start])})}"
                )
            if start + len(window) < len(items):
                last = encode_cursor(keys[start + len(window) - 1])
                out["paging"]["next"] = f"{here}?{urlencode({**base, 'after': last})}"
        return out
