"""Zalo OA OpenAPI stand-in (``openapi.zalo.me``, mounted at ``/zalo``).

Every call authenticates with the bare ``access_token`` header, is counted against the app's
per-minute limit (``X-RateLimit-*`` headers, ``-32`` beyond it), may meet an injected fault, and
answers HTTP 200 with ``{"error": <code>, "message": ...}``.  Unknown paths answer HTTP 404.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import faults as fault_kinds
from sandbox.config import OaIdentity
from sandbox.disconnect import HANDLERS
from sandbox.media import ONE_MB, image_kind
from sandbox.runtime import Sandbox
from sandbox.state import ZaloUpload
from sandbox.transport import DropConnection, hold_until_client_leaves
from sandbox.zalo_articles import (
    advance_job,
    article_detail,
    article_summary,
    check_article_quota,
    complete_pending_jobs,
    count_article,
    new_job,
    validate_article,
)
from sandbox.zalo_broadcast import broadcast
from sandbox.zalo_common import ZaloError, office_time, opaque_id, success, zalo_json
from sandbox.zalo_inbox import V2_SHUT_DOWN, ZaloInbox

Handler = Callable[[Request, OaIdentity], Awaitable[dict[str, Any]]]
GETSLICE_MAX = 10
#: Permission groups (see sandbox.config.ZALO_PERMISSION_GROUPS): articles need "Quản lý bài
#: viết"; uploads belong to "Quyền gửi tin nhắn" (docs/platforms/zalo-oa.md#permission-groups).
#: Broadcasts and getoa name no group in Zalo's pages, so they need none here.
ARTICLE = "article"
MESSAGE = "message"
#: "Quyền quản lý tin nhắn người dùng" (listrecentchat, conversation) and "Quyền quản lý thông
#: tin OA" (user detail), docs/platforms/zalo-oa.md#permission-groups.
CONVERSATION = "conversation"
OA_INFO = "oa_info"


class ZaloOpenApi:
    """The OpenAPI endpoints."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox

    def _oa_for_token(self, token: str | None) -> OaIdentity:
        if not token:
            raise ZaloError(-216, "Access token is invalid")
        now = self.sb.now()
        for grant in self.sb.state.grants.values():
            if token == grant.access_token:
                if now >= grant.access_expires_at:
                    raise ZaloError(-220, "access_token is expired or removed")
                return self.sb.oas[grant.oa_id]
            if token in grant.retired:
                # Replaced by a refresh: Zalo calls that "removed".
                raise ZaloError(-220, "access_token is expired or removed")
        raise ZaloError(-216, "Access token is invalid")

    def route(
        self, handler: Handler, *, publish: bool = False, group: str | None = None
    ) -> Callable[..., Any]:
        """Wrap a handler with auth, rate limit, faults, logging and persistence.

        ``group`` is the permission group the call needs: an OA that did not grant it answers
        -223 "Official Account has not authorized this API"
        (docs/platforms/zalo-oa.md#permission-groups).
        """

        async def endpoint(request: Request) -> Response:
            channel: str | None = None
            fault: str | None = None
            remain = self.sb.zalo_limiter.hit(self.sb.config.zalo_app_id, self.sb.now())
            headers = {
                "X-RateLimit-Limit": str(self.sb.config.zalo_rate_limit_per_minute),
                "X-RateLimit-Remain": str(max(0, remain)),
            }
            decision = None
            try:
                oa = self._oa_for_token(request.headers.get("access_token"))
                channel = oa.oa_id
                decision = self.sb.faults.decide(channel, is_publish=publish)
                if decision and decision.latency_s:
                    await asyncio.sleep(decision.latency_s)
                if decision and decision.auth:
                    fault = f"auth:{decision.auth}"
                    if decision.auth == "expired":
                        raise ZaloError(-220, "access_token is expired or removed")
                    raise ZaloError(-216, "Access token is invalid")
                if remain < 0:
                    raise ZaloError(-32, "Your OA reached limit call api")
                if group is not None and group not in self.sb.app.zalo_groups.get(oa.oa_id, ()):
                    raise ZaloError(-223, "Official Account has not authorized this API")
                outcome = decision.outcome if decision else fault_kinds.OK
                if outcome != fault_kinds.OK:
                    fault = outcome
                early = await self._early_fault(request, outcome, decision, headers)
                if early is not None:
                    self._log(request, channel, early.status_code, None, fault)
                    return early
                body = await handler(request, oa)
                if outcome == fault_kinds.ACCEPT_THEN_ERROR:
                    self._log(request, channel, 502, None, fault)
                    self.sb.save_if_dirty()
                    return Response("Bad Gateway", status_code=502, media_type="text/html")
                if outcome == fault_kinds.ACCEPT_THEN_TIMEOUT:
                    self._log(request, channel, 0, None, fault)
                    self.sb.save_if_dirty()
                    await hold_until_client_leaves(request, decision.spec.hang_s)  # type: ignore
                    return Response("Gateway Timeout", status_code=504, media_type="text/html")
                status, code = 200, 0
            except ZaloError as error:
                body, status, code = error.body(), error.status, error.code
            self._log(request, channel, status, code or None, fault)
            self.sb.save_if_dirty()
            return zalo_json(body, status=status, headers=headers)

        return endpoint

    async def _early_fault(
        self,
        request: Request,
        outcome: str,
        decision: fault_kinds.FaultDecision | None,
        headers: dict[str, str],
    ) -> Response | None:
        if decision is None or outcome == fault_kinds.OK:
            return None
        if outcome == fault_kinds.ERROR:
            # Zalo has no error code for outages: a bare gateway error.
            return Response("Bad Gateway", status_code=502, media_type="text/html")
        if outcome == fault_kinds.RESET:
            return DropConnection()
        if outcome == fault_kinds.TIMEOUT:
            await hold_until_client_leaves(request, decision.spec.hang_s)
            return Response("Gateway Timeout", status_code=504, media_type="text/html")
        if outcome == fault_kinds.RATE_LIMIT:
            limited = {**headers, "X-RateLimit-Remain": "0"}
            body = ZaloError(-32, "Your OA reached limit call api").body()
            return zalo_json(body, headers=limited)
        if outcome == fault_kinds.REJECT:
            return zalo_json(
                ZaloError(-248, "Violates our platform standards").body(), headers=headers
            )
        return None

    def _log(
        self,
        request: Request,
        channel: str | None,
        status: int,
        error: int | None,
        fault: str | None,
    ) -> None:
        self.sb.record_request(
            api="zalo",
            method=request.method,
            path="/zalo" + request.url.path.removeprefix(request.scope.get("root_path", "")),
            channel=channel,
            status=status,
            error=error,
            fault=fault,
        )

    # ----------------------------------------------------------------- handlers

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            raise ZaloError(-201, "body is invalid") from None
        if not isinstance(body, dict):
            raise ZaloError(-201, "body is invalid")
        return body

    async def upload_image(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``POST /v2.0/oa/upload/image``: multipart ``file``, jpg/png up to 1 MB."""
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ZaloError(-201, "file is invalid")
        data = await upload.read()
        kind = image_kind(data)
        if kind not in ("jpeg", "png"):
            raise ZaloError(-201, "file is invalid. We only support png and jpeg")
        if len(data) > ONE_MB:
            raise ZaloError(-201, "file is invalid. File size must not exceed 1MB")
        serial = self.sb.state.new_zalo_serial()
        attachment_id = opaque_id(self.sb.config.seed, "upload", oa.oa_id, serial, length=48)
        self.sb.state.uploads[attachment_id] = ZaloUpload(
            attachment_id=attachment_id,
            oa_id=oa.oa_id,
            kind=kind,
            size=len(data),
            filename=upload.filename,
            received_at=self.sb.now(),
        )
        self.sb.touch()
        return success({"attachment_id": attachment_id})

    async def article_create(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``POST /v2.0/article/create``: validate, count against the quota, queue a job."""
        body = await self._json(request)
        article = validate_article(body)
        check_article_quota(self.sb, oa.oa_id)
        count_article(self.sb, oa.oa_id)
        job = new_job(self.sb, oa.oa_id, "create", article, None)
        job.payload = {**article, "_received": body}
        return success({"token": job.token})

    async def article_update(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``POST /v2.0/article/update``: like create, on an existing id; a new token."""
        body = await self._json(request)
        self._article(oa, body.get("id"))
        article = validate_article(body)
        job = new_job(self.sb, oa.oa_id, "update", article, str(body["id"]))
        job.payload = {**article, "_received": body}
        return success({"token": job.token})

    async def article_verify(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``POST /v2.0/article/verify``: -214 while processing, then ``{"id": ...}``."""
        body = await self._json(request)
        job = self.sb.state.jobs.get(str(body.get("token", "")))
        if job is None or job.oa_id != oa.oa_id:
            raise ZaloError(-201, "token is invalid")
        article_id = await advance_job(self.sb, job)
        return success({"id": article_id})

    async def article_remove(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``POST /v2.0/article/remove``."""
        body = await self._json(request)
        article = self._article(oa, body.get("id"))
        article.removed = True
        self.sb.touch()
        return success()

    async def article_detail(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``GET /v2.0/article/getdetail?id=``."""
        article = self._article(oa, request.query_params.get("id"))
        return success(article_detail(self.sb, article))

    async def article_slice(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``GET /v2.0/article/getslice?offset&limit&type``: newest first."""
        query = request.query_params
        kind = query.get("type")
        if kind not in ("normal", "video"):
            raise ZaloError(-201, "type accept only 2 value normal and video.")
        try:
            offset = int(query.get("offset") or 0)
            limit = int(query.get("limit") or GETSLICE_MAX)
        except ValueError:
            raise ZaloError(-201, "offset or limit is invalid") from None
        if limit > GETSLICE_MAX:
            raise ZaloError(-201, "maximum limit is 10")
        if offset < 0 or limit < 1:
            raise ZaloError(-201, "offset or limit is invalid")
        await complete_pending_jobs(self.sb, oa.oa_id)
        # Articles are kept in creation order: newest first means later-created first, also
        # between articles made within the same instant (a frozen clock in tests).
        articles = [
            a
            for a in self.sb.state.articles.values()
            if a.oa_id == oa.oa_id and a.type == kind and not a.removed
        ][::-1]
        articles.sort(key=lambda a: a.created_at, reverse=True)
        medias = [article_summary(self.sb, a) for a in articles[offset : offset + limit]]
        return success({"medias": medias, "total": len(articles)})

    async def message(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``POST /v2.0/oa/message``: broadcast an article to followers."""
        body = await self._json(request)
        recipient = body.get("recipient")
        if isinstance(recipient, dict) and "user_id" in recipient:
            # A v2 message to one user: that API is shut down
            # (docs/platforms/zalo-oa.md#consultation-messages).
            raise ZaloError(-240, V2_SHUT_DOWN)
        record = broadcast(self.sb, oa.oa_id, body)
        return success({"message_id": record.message_id})

    async def getoa(self, request: Request, oa: OaIdentity) -> dict[str, Any]:
        """``GET /v2.0/oa/getoa``: the OA profile with ``num_follower``."""
        valid_through = office_time(self.sb.now()) + timedelta(days=180)
        return success(
            {
                "oa_id": oa.oa_id,
                "name": oa.name,
                "description": f"Kênh thông tin chính thức của {oa.name}",
                "oa_alias": f"@{oa.oa_id}",
                "is_verified": oa.is_verified,
                "oa_type": 4,
                "cate_name": "Cơ quan nhà nước",
                "num_follower": oa.followers,
                "avatar": f"https://s160-ava-talk.zadn.vn/{oa.oa_id}/avatar.jpg",
                "cover": f"https://cover-talk.zadn.vn/{oa.oa_id}/cover.jpg",
                "package_name": oa.package_name,
                "package_valid_through_date": valid_through.strftime("%d/%m/%Y"),
                "package_auto_renew_date": valid_through.strftime("%d/%m/%Y"),
                "linked_ZCA": "",
            }
        )

    def _article(self, oa: OaIdentity, article_id: Any) -> Any:
        article = self.sb.state.articles.get(str(article_id or ""))
        if article is None or article.removed or article.oa_id != oa.oa_id:
            raise ZaloError(-201, "Article is not exist")
        return article


def zalo_openapi_app(sandbox: Sandbox) -> Starlette:
    """The OpenAPI stand-in as an ASGI app (mounted at ``/zalo``)."""
    api = ZaloOpenApi(sandbox)
    inbox = ZaloInbox(sandbox)

    async def not_found(request: Request) -> Response:
        # Unknown or removed paths (e.g. /v3.0/article/*) answer HTTP 404.
        body = {"error": -209, "message": "You are accessing an empty or invalid API"}
        sandbox.record_request(
            api="zalo",
            method=request.method,
            path="/zalo/" + request.path_params["path"],
            channel=None,
            status=404,
            error=-209,
        )
        return zalo_json(body, status=404)

    return Starlette(
        routes=[
            Route(
                "/v2.0/oa/upload/image",
                api.route(api.upload_image, group=MESSAGE),
                methods=["POST"],
            ),
            Route(
                "/v2.0/article/create",
                api.route(api.article_create, publish=True, group=ARTICLE),
                methods=["POST"],
            ),
            Route(
                "/v2.0/article/update",
                api.route(api.article_update, publish=True, group=ARTICLE),
                methods=["POST"],
            ),
            Route(
                "/v2.0/article/verify",
                api.route(api.article_verify, group=ARTICLE),
                methods=["POST"],
            ),
            Route(
                "/v2.0/article/remove",
                api.route(api.article_remove, group=ARTICLE),
                methods=["POST"],
            ),
            Route(
                "/v2.0/article/getdetail",
                api.route(api.article_detail, group=ARTICLE),
                methods=["GET"],
            ),
            Route(
                "/v2.0/article/getslice",
                api.route(api.article_slice, group=ARTICLE),
                methods=["GET"],
            ),
            Route("/v2.0/oa/message", api.route(api.message, publish=True), methods=["POST"]),
            Route("/v2.0/oa/getoa", api.route(api.getoa), methods=["GET"]),
            Route(
                "/v3.0/oa/message/cs",
                api.route(inbox.send_cs, publish=True, group=MESSAGE),
                methods=["POST"],
            ),
            Route(
                "/v3.0/oa/quota/message", api.route(inbox.quota, group=MESSAGE), methods=["POST"]
            ),
            Route(
                "/v2.0/oa/listrecentchat",
                api.route(inbox.recent_chats, group=CONVERSATION),
                methods=["GET"],
            ),
            Route(
                "/v2.0/oa/conversation",
                api.route(inbox.conversation, group=CONVERSATION),
                methods=["GET"],
            ),
            Route(
                "/v3.0/oa/user/detail", api.route(inbox.user_detail, group=OA_INFO), methods=["GET"]
            ),
            Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        ],
        exception_handlers=HANDLERS,
    )
