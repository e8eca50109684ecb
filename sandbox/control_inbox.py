"""The control API's inbox part (under ``/_sandbox``): receivers, citizens, deliveries, sent.

Documented in sandbox/README.md, "Citizens and webhooks". Platform behaviour lives in
``graph_inbox`` and ``zalo_inbox``; this module only parses requests and shapes answers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import citizen_media, graph_citizens, graph_webhook, zalo_citizens, zalo_webhook
from sandbox.citizens import citizen_ids, get_or_create_citizen
from sandbox.clock import iso_utc
from sandbox.runtime import Sandbox
from sandbox.webhooks import describe_delivery

#: Where the control API is mounted (sandbox.app.CONTROL_PREFIX; not imported: app imports us).
CONTROL_PREFIX = "/_sandbox"

Handler = Callable[[Request], Awaitable[Any]]


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


async def _with_media(request: Request) -> dict[str, Any]:
    """The request's body, with where the sandbox serves attachments (its own address: the
    receiver downloads them over real HTTP, as from the platforms' CDNs)."""
    body = await _body(request)
    body["_media_base"] = f"{request.url.scheme}://{request.url.netloc}{CONTROL_PREFIX}/cdn"
    return body


def _answer(handler: Handler, sb: Sandbox) -> Callable[[Request], Awaitable[Response]]:
    """JSON in and out; a bad request is 400, an unknown object 404 (``{"error": ...}``)."""

    async def endpoint(request: Request) -> Response:
        try:
            data = await handler(request)
        except LookupError as exc:
            return JSONResponse({"error": str(exc).strip("'\"")}, status_code=404)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        sb.save_if_dirty()
        return JSONResponse(data)

    return endpoint


class InboxControl:
    """Inbox control endpoints bound to one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    # ------------------------------------------------------------- receivers

    async def graph_webhook(self, request: Request) -> dict[str, Any]:
        """GET / PUT (with Meta's verification handshake) / DELETE the Meta app's webhook."""
        if request.method == "PUT":
            return await graph_webhook.register_webhook(self.sb, await _body(request))
        if request.method == "DELETE":
            self.sb.state.inbox.graph_webhook = None
            self.sb.touch()
        return graph_webhook.webhook_view(self.sb)

    async def zalo_webhook(self, request: Request) -> dict[str, Any]:
        """GET / PUT / DELETE the Zalo app's webhook (a PUT re-enables a disabled one)."""
        if request.method == "PUT":
            return zalo_webhook.register_webhook(self.sb, await _body(request))
        if request.method == "DELETE":
            self.sb.state.inbox.zalo_webhook = None
            self.sb.touch()
        return zalo_webhook.webhook_view(self.sb)

    # ------------------------------------------------------------- citizens

    async def graph_comment(self, request: Request) -> dict[str, Any]:
        """A citizen comments on a published post (or replies to a comment)."""
        return graph_citizens.citizen_comment(self.sb, await _with_media(request))

    async def graph_comment_change(self, request: Request) -> dict[str, Any]:
        """A citizen edits or removes his comment, or the Page hides it (``verb``)."""
        return graph_citizens.change_comment(self.sb, await _body(request))

    async def graph_message(self, request: Request) -> dict[str, Any]:
        """A citizen writes to a Page in Messenger."""
        return graph_citizens.citizen_message(self.sb, await _with_media(request))

    async def zalo_message(self, request: Request) -> dict[str, Any]:
        """A citizen writes to an OA (or anonymously through the chat widget)."""
        return zalo_citizens.citizen_message(self.sb, await _with_media(request))

    def zalo_event(self, action: str) -> Handler:
        """A citizen follows, unfollows, shares info, taps "Nhắn tin" or withdraws consent."""

        async def handler(request: Request) -> dict[str, Any]:
            return zalo_citizens.citizen_event(self.sb, action, await _body(request))

        return handler

    async def citizens(self, request: Request) -> dict[str, Any]:
        """Every citizen with their ids on every Page and OA."""
        return {"citizens": [self._citizen(c) for c in self.sb.state.inbox.citizens.values()]}

    async def citizen(self, request: Request) -> dict[str, Any]:
        """GET or PUT one citizen: ``{"name", "blocked": [page/OA ids], "inactive", "minor"}``."""
        handle = request.path_params["handle"]
        inbox = self.sb.state.inbox
        if request.method == "PUT":
            body = await _body(request)
            citizen = get_or_create_citizen(inbox, handle, self.sb.now(), body.get("name"))
            if "blocked" in body:
                blocked = body["blocked"]
                known = set(self.sb.pages) | set(self.sb.oas)
                if not isinstance(blocked, list) or not set(map(str, blocked)) <= known:
                    raise ValueError("blocked: expected a list of page or OA ids")
                citizen.blocked = [str(b) for b in blocked]
            for flag in ("inactive", "minor"):
                if flag in body:
                    setattr(citizen, flag, bool(body[flag]))
            self.sb.touch()
        found = inbox.citizens.get(handle)
        if found is None:
            raise LookupError(f"unknown citizen {handle!r}")
        return self._citizen(found)

    def _citizen(self, citizen: Any) -> dict[str, Any]:
        config = self.sb.config
        ids = citizen_ids(
            config.seed,
            citizen,
            [p.page_id for p in config.pages],
            [o.oa_id for o in config.oas],
        )
        return ids | {"created_at": iso_utc(citizen.created_at)}

    # ------------------------------------------------------------- records

    async def run(self, request: Request) -> dict[str, Any]:
        """Start the retries due by the simulated clock, wait for every delivery in flight."""
        attempts = await self.sb.webhooks.drain()
        return {"attempts": [asdict(a) for a in attempts], "clock": self.sb.clock.describe()}

    async def duplicate(self, request: Request) -> dict[str, Any]:
        """``{"delivery": id}``: send that delivery's exact request again (a duplicate)."""
        wanted = str((await _body(request)).get("delivery") or "")
        for delivery in self.sb.state.inbox.deliveries:
            if delivery.id == wanted:
                return {"delivery": self.sb.webhooks.duplicate(delivery).id}
        raise LookupError(f"unknown delivery {wanted!r}")

    async def deliveries(self, request: Request) -> dict[str, Any]:
        """Every webhook delivery (``?platform=graph|zalo&channel=&state=``), oldest first."""
        query = request.query_params
        items = [
            describe_delivery(d)
            for d in self.sb.state.inbox.deliveries
            if (not query.get("platform") or d.platform == query["platform"])
            and (not query.get("channel") or d.channel == query["channel"])
            and (not query.get("state") or d.state == query["state"])
        ]
        return {"deliveries": items}

    async def sent(self, request: Request) -> dict[str, Any]:
        """What Pages and OAs sent, accepted or refused (``?platform=&channel=&kind=``)."""
        query = request.query_params
        items = []
        for record in self.sb.state.inbox.sent:
            if query.get("platform") and record.platform != query["platform"]:
                continue
            if query.get("channel") and record.channel != query["channel"]:
                continue
            if query.get("kind") and record.kind != query["kind"]:
                continue
            items.append(asdict(record) | {"at_iso": iso_utc(record.at)})
        return {"sent": items}


def inbox_routes(sandbox: Sandbox) -> list[Route]:
    """The inbox's control routes, for :func:`sandbox.control.control_app`."""
    control = InboxControl(sandbox)
    post = ["POST"]

    def route(path: str, handler: Handler, methods: list[str]) -> Route:
        return Route(path, _answer(handler, sandbox), methods=methods)

    routes = [
        route("/graph/webhook", control.graph_webhook, ["GET", "PUT", "DELETE"]),
        route("/zalo/webhook", control.zalo_webhook, ["GET", "PUT", "DELETE"]),
        route("/graph/comment", control.graph_comment, post),
        route("/graph/comment/change", control.graph_comment_change, post),
        route("/graph/message", control.graph_message, post),
        route("/zalo/message", control.zalo_message, post),
        route("/citizens", control.citizens, ["GET"]),
        route("/citizens/{handle}", control.citizen, ["GET", "PUT"]),
        route("/webhooks/run", control.run, post),
        route("/webhooks/deliveries", control.deliveries, ["GET"]),
        route("/webhooks/duplicate", control.duplicate, post),
        route("/sent", control.sent, ["GET"]),
    ]
    routes.append(Route("/cdn/{name}", citizen_media.server(sandbox), methods=["GET"]))
    for action in ("follow", "unfollow", "submit_info", "chatnow", "withdraw"):
        routes.append(route(f"/zalo/{action}", control.zalo_event(action), post))
    return routes
