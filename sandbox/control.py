"""The control API under ``/_sandbox``: clock, faults, inspection, tokens, reset.

Not reachable through the platform paths (those are mounted under /graph, /zalo, /zalo-oauth).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.clock import iso_utc, parse_instant
from sandbox.config import ZALO_PERMISSION_GROUPS
from sandbox.control_inbox import inbox_routes
from sandbox.disconnect import HANDLERS
from sandbox.faults import FaultSpec
from sandbox.graph_render import post_engagement
from sandbox.runtime import Sandbox
from sandbox.zalo_articles import article_figures, complete_pending_jobs
from sandbox.zalo_oauth import issue_auth_code
from sandbox.zalo_webhook import oa_secret_key


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)


def _problem(message: str, status: int = 400) -> Response:
    return _json({"error": message}, status)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


class Control:
    """Control endpoints bound to one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    async def health(self, request: Request) -> Response:
        """Identities, seed and clock: also what ``running_sandbox`` polls at start."""
        sb = self.sb
        return _json(
            {
                "ok": True,
                "seed": sb.config.seed,
                "clock": sb.clock.describe(),
                "pages": [{"page_id": p.page_id, "name": p.name} for p in sb.config.pages],
                "oas": [{"oa_id": o.oa_id, "name": o.name} for o in sb.config.oas],
            }
        )

    async def config(self, request: Request) -> Response:
        """The full start-up configuration (tokens included: this is a local sandbox)."""
        return _json(self.sb.config.to_dict())

    async def tokens(self, request: Request) -> Response:
        """Current tokens: Graph page/user/app tokens and each OA's live Zalo pair."""
        sb = self.sb
        return _json(
            {
                "graph": {
                    "app_id": sb.config.graph_app_id,
                    "app_secret": sb.config.graph_app_secret,
                    "app_token": sb.config.graph_app_token,
                    "user_token": sb.config.graph_user_token,
                    "pages": {p.page_id: p.token for p in sb.config.pages},
                },
                "zalo": {
                    "app_id": sb.config.zalo_app_id,
                    "app_secret": sb.config.zalo_app_secret,
                    # The webhook signing keys (docs/platforms/zalo-oa.md#signatures), one per OA.
                    "oa_secret_keys": {o.oa_id: oa_secret_key(sb, o.oa_id) for o in sb.config.oas},
                    "oas": {
                        oa_id: {
                            "generation": grant.generation,
                            "refresh_token": grant.refresh_token,
                            "access_token": grant.access_token,
                            "access_expires_at": grant.access_expires_at,
                        }
                        for oa_id, grant in sb.state.grants.items()
                    },
                },
            }
        )

    async def clock(self, request: Request) -> Response:
        """GET: read.  POST ``{"set": iso|epoch, "advance": s, "frozen": bool, "real": true}``."""
        clock = self.sb.clock
        if request.method == "POST":
            try:
                body = await _body(request)
                if body.get("real"):
                    clock.reset()
                if "set" in body:
                    clock.set(parse_instant(body["set"]), frozen=body.get("frozen", True))
                elif "frozen" in body:
                    clock.set(clock.now(), frozen=bool(body["frozen"]))
                if "advance" in body:
                    clock.advance(float(body["advance"]))
            except (ValueError, TypeError) as exc:
                return _problem(f"clock: {exc}")
            self.sb.publish_due_posts()
            # Webhook retries that fell due go out now (POST /webhooks/run waits for them).
            self.sb.webhooks.run_due()
            self.sb.touch()
            self.sb.save_if_dirty()
        return _json(clock.describe())

    async def faults(self, request: Request) -> Response:
        """GET: every channel's spec.  DELETE: clear all."""
        if request.method == "DELETE":
            for channel in list(self.sb.faults.specs):
                self.sb.faults.clear(channel)
        return _json({k: v.to_dict() for k, v in self.sb.faults.specs.items()})

    async def channel_faults(self, request: Request) -> Response:
        """PUT/POST a spec for a channel (``*`` = default); DELETE removes it."""
        channel = request.path_params["channel"]
        if request.method == "DELETE":
            self.sb.faults.clear(channel)
            return _json({"cleared": channel})
        try:
            spec = FaultSpec.from_dict(await _body(request))
        except (ValueError, TypeError) as exc:
            return _problem(f"faults: {exc}")
        self.sb.faults.set(channel, spec)
        return _json({channel: spec.to_dict()})

    async def posts(self, request: Request) -> Response:
        """Graph posts received, with payloads, times and current engagement."""
        page_id = request.query_params.get("page_id")
        now = self.sb.now()
        out = []
        for post in self.sb.state.posts.values():
            if page_id and post.page_id != page_id:
                continue
            item = asdict(post)
            item["received_at_iso"] = iso_utc(post.received_at)
            figures = post_engagement(self.sb.config.seed, post, now)
            item["engagement"] = {**asdict(figures), "reactions_total": figures.reactions_total}
            out.append(item)
        return _json({"posts": out})

    async def photos(self, request: Request) -> Response:
        """Graph photos received."""
        page_id = request.query_params.get("page_id")
        items = [
            asdict(p) for p in self.sb.state.photos.values() if not page_id or p.page_id == page_id
        ]
        return _json({"photos": items})

    async def articles(self, request: Request) -> Response:
        """Zalo articles (verified) and jobs (create/update requests, with their payloads).

        ``?settle=1`` first finishes every job still processing, as Zalo does whether or not
        anyone polls: an accepted create whose answer was lost (and never verified) is then
        listed too, which is what a check of "what is on the OA" needs.
        """
        oa_id = request.query_params.get("oa_id")
        if request.query_params.get("settle") in ("1", "true", "yes"):
            for oa in [oa_id] if oa_id else list(self.sb.oas):
                await complete_pending_jobs(self.sb, oa)
            self.sb.save_if_dirty()
        articles = []
        for article in self.sb.state.articles.values():
            if oa_id and article.oa_id != oa_id:
                continue
            item = asdict(article)
            item["total_view"], item["total_share"] = article_figures(self.sb, article)
            articles.append(item)
        jobs = [asdict(j) for j in self.sb.state.jobs.values() if not oa_id or j.oa_id == oa_id]
        return _json({"articles": articles, "jobs": jobs})

    async def uploads(self, request: Request) -> Response:
        """Zalo image uploads."""
        return _json({"uploads": [asdict(u) for u in self.sb.state.uploads.values()]})

    async def broadcasts(self, request: Request) -> Response:
        """Zalo broadcasts with recipients reached/skipped, totals reached per OA, and how
        many broadcasts each article had (``per_article``: more than 1 is a repeat)."""
        oa_id = request.query_params.get("oa_id")
        items = [asdict(b) for b in self.sb.state.broadcasts if not oa_id or b.oa_id == oa_id]
        reached: dict[str, int] = {}
        for record in self.sb.state.broadcasts:
            reached[record.oa_id] = reached.get(record.oa_id, 0) + record.reached
        per_article = self.sb.state.broadcasts_per_article(oa_id)
        return _json({"broadcasts": items, "reached": reached, "per_article": per_article})

    async def received(self, request: Request) -> Response:
        """Everything published, in arrival order: posts, photos, article jobs, broadcasts."""
        state = self.sb.state
        items: list[dict[str, Any]] = []
        for post in state.posts.values():
            items.append(
                {
                    "kind": "graph_post",
                    "id": post.id,
                    "channel": post.page_id,
                    "at": post.received_at,
                    "payload": post.payload,
                }
            )
        for photo in state.photos.values():
            items.append(
                {
                    "kind": "graph_photo",
                    "id": photo.id,
                    "channel": photo.page_id,
                    "at": photo.received_at,
                    "payload": photo.payload,
                }
            )
        for job in state.jobs.values():
            items.append(
                {
                    "kind": f"zalo_article_{job.kind}",
                    "id": job.token,
                    "channel": job.oa_id,
                    "at": job.created_at,
                    "payload": job.payload.get("_received", job.payload),
                }
            )
        for record in state.broadcasts:
            items.append(
                {
                    "kind": "zalo_broadcast",
                    "id": record.message_id,
                    "channel": record.oa_id,
                    "at": record.received_at,
                    "payload": record.payload,
                }
            )
        items.sort(key=lambda item: item["at"])
        for item in items:
            item["at_iso"] = iso_utc(item["at"])
        return _json({"received": items})

    async def requests(self, request: Request) -> Response:
        """The request log (newest last; ``?limit=N``) and counts by api/endpoint/status..."""
        limit = int(request.query_params.get("limit") or 200)
        log = [asdict(r) for r in self.sb.state.requests[-limit:]] if limit > 0 else []
        return _json({"summary": self.sb.state.request_summary(), "log": log})

    async def reset(self, request: Request) -> Response:
        """Forget everything since start-up; ``{"keep_clock": true}`` keeps the time."""
        body = await _body(request)
        self.sb.reset(keep_clock=bool(body.get("keep_clock")))
        self.sb.save_if_dirty()
        return _json({"reset": True, "clock": self.sb.clock.describe()})

    async def expire_access(self, request: Request) -> Response:
        """Make an OA's current access token expire now: ``{"oa_id"}``.

        Its next call answers -220 "expired", as after the token's 25 hours, without moving
        the clock for everyone; a refresh (``/v4/oa/access_token``) gives a working pair.
        """
        body = await _body(request)
        oa_id = str(body.get("oa_id") or self.sb.config.oas[0].oa_id)
        grant = self.sb.state.grants.get(oa_id)
        if grant is None:
            return _problem(f"unknown oa_id {oa_id!r}", 404)
        grant.access_expires_at = min(grant.access_expires_at, self.sb.now())
        self.sb.touch()
        self.sb.save_if_dirty()
        return _json({"oa_id": oa_id, "access_expires_at": grant.access_expires_at})

    async def graph_app(self, request: Request) -> Response:
        """GET/PUT the Meta app's settings: ``{"require_appsecret_proof": bool,
        "user_scopes": [...], "human_agent": bool}`` (fields left out stay as they are)."""
        app = self.sb.app
        if request.method == "PUT":
            try:
                body = await _body(request)
                if "require_appsecret_proof" in body:
                    app.require_appsecret_proof = bool(body["require_appsecret_proof"])
                if "user_scopes" in body:
                    app.user_scopes = set(_names(body["user_scopes"]))
                if "human_agent" in body:
                    app.human_agent = bool(body["human_agent"])
            except (ValueError, TypeError) as exc:
                return _problem(f"graph app: {exc}")
        return _json(
            {
                "app_id": self.sb.config.graph_app_id,
                "require_appsecret_proof": app.require_appsecret_proof,
                "user_scopes": sorted(app.user_scopes),
                "human_agent": app.human_agent,
            }
        )

    async def page_grant(self, request: Request) -> Response:
        """GET/PUT what a page token may do: ``{"scopes": [...], "tasks": [...],
        "expires_at": epoch or 0}`` (fields left out stay as they are)."""
        page_id = request.path_params["page_id"]
        grant = self.sb.app.page_grants.get(page_id)
        if grant is None:
            return _problem(f"unknown page_id {page_id!r}", 404)
        if request.method == "PUT":
            try:
                body = await _body(request)
                if "scopes" in body:
                    grant.scopes = set(_names(body["scopes"]))
                if "tasks" in body:
                    grant.tasks = {t.upper() for t in _names(body["tasks"])}
                if "expires_at" in body:
                    grant.expires_at = float(body["expires_at"] or 0)
            except (ValueError, TypeError) as exc:
                return _problem(f"page grant: {exc}")
        return _json(
            {
                "page_id": page_id,
                "scopes": sorted(grant.scopes),
                "tasks": sorted(grant.tasks),
                "expires_at": grant.expires_at,
            }
        )

    async def zalo_permissions(self, request: Request) -> Response:
        """GET/PUT the permission groups an OA granted: ``{"groups": [...]}``."""
        oa_id = request.path_params["oa_id"]
        if oa_id not in self.sb.app.zalo_groups:
            return _problem(f"unknown oa_id {oa_id!r}", 404)
        if request.method == "PUT":
            try:
                body = await _body(request)
                groups = set(_names(body.get("groups", [])))
            except (ValueError, TypeError) as exc:
                return _problem(f"zalo permissions: {exc}")
            unknown = groups - set(ZALO_PERMISSION_GROUPS)
            if unknown:
                return _problem(
                    f"unknown group(s) {sorted(unknown)}; expected {list(ZALO_PERMISSION_GROUPS)}"
                )
            self.sb.app.zalo_groups[oa_id] = groups
        return _json({"oa_id": oa_id, "groups": sorted(self.sb.app.zalo_groups[oa_id])})

    async def consent(self, request: Request) -> Response:
        """Simulate an OA admin's consent: ``{"oa_id", "code_challenge"?}`` -> an auth code."""
        body = await _body(request)
        oa_id = str(body.get("oa_id") or self.sb.config.oas[0].oa_id)
        if oa_id not in self.sb.oas:
            return _problem(f"unknown oa_id {oa_id!r}", 404)
        code = issue_auth_code(self.sb, oa_id, body.get("code_challenge"))
        self.sb.save_if_dirty()
        return _json({"code": code, "oa_id": oa_id})


def _names(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of names")
    return list(value)


def control_app(sandbox: Sandbox) -> Starlette:
    """The control API as an ASGI app (mounted at ``/_sandbox``)."""
    control = Control(sandbox)
    get, post = ["GET"], ["POST"]
    return Starlette(
        routes=[
            Route("/", control.health, methods=get),
            Route("/health", control.health, methods=get),
            Route("/config", control.config, methods=get),
            Route("/tokens", control.tokens, methods=get),
            Route("/clock", control.clock, methods=["GET", "POST"]),
            Route("/faults", control.faults, methods=["GET", "DELETE"]),
            Route("/faults/{channel}", control.channel_faults, methods=["PUT", "POST", "DELETE"]),
            Route("/posts", control.posts, methods=get),
            Route("/photos", control.photos, methods=get),
            Route("/articles", control.articles, methods=get),
            Route("/uploads", control.uploads, methods=get),
            Route("/broadcasts", control.broadcasts, methods=get),
            Route("/received", control.received, methods=get),
            Route("/requests", control.requests, methods=get),
            Route("/reset", control.reset, methods=post),
            Route("/zalo/consent", control.consent, methods=post),
            Route("/graph/app", control.graph_app, methods=["GET", "PUT"]),
            Route("/graph/pages/{page_id}", control.page_grant, methods=["GET", "PUT"]),
            Route("/zalo/permissions/{oa_id}", control.zalo_permissions, methods=["GET", "PUT"]),
            Route("/zalo/expire", control.expire_access, methods=post),
            *inbox_routes(sandbox),
        ],
        exception_handlers=HANDLERS,
    )
