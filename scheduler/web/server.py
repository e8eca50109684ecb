"""The `loa web` server: textual-serve's terminal relay behind Loa's sign-in.

textual-serve's :class:`~textual_serve.server.Server` starts one process per WebSocket with
a fixed command. This subclass keeps its relay and adds what a server for many people needs:

* a sign-in page; a session cookie (HttpOnly, SameSite=Strict, Secure behind https) whose
  token ``content.accounts`` checks on every page, WebSocket and upload;
* each tab's ``loa tui`` process gets the token (``LOA_WEB_SESSION``) and the account's
  upload directory (``LOA_UPLOAD_DIR``) in its environment, never on its command line;
* Host and Origin checked on every request (:mod:`scheduler.web.guard`), failed sign-ins
  throttled;
* its own page: the terminal font served from here (no outside host is ever asked for
  anything), a photo upload bar and a sign-out button.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, WSMsgType, web
from sqlalchemy import Engine
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from content.accounts import (
    WEB_IDLE,
    WEB_SESSION_ENV,
    AccessDenied,
    fold,
    session_account,
    sign_in,
    sign_out,
)
from content.errors import ValidationError
from content.times import utcnow
from scheduler.web import pages, uploads
from scheduler.web.guard import HostRule, Throttle, host_allowed, is_loopback, origin_allowed

log = logging.getLogger("loa.web")

#: The session cookie's name.
COOKIE = "loa_session"
#: While a tab is used, its session is looked up (and kept alive) at most this often.
SESSION_CHECK_SECONDS = 60.0
#: What the page may load and talk to: this server only (no inline script: see loa.js).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class LoaAppService(AppService):
    """textual-serve's app process, with extra environment variables (the session token)."""

    def __init__(self, command: str, *, environment: dict[str, str], **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self._extra_environment = environment

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment.update(self._extra_environment)
        return environment


class LoaWebServer(Server):
    """Serve ``command`` (``loa tui`` without ``--as``) to signed-in browsers only."""

    def __init__(
        self,
        command: str,
        *,
        engine: Engine,
        host: str,
        port: int,
        title: str,
        lang: str,
        allowed: list[HostRule],
        upload_root: Path,
        public_url: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        throttle: Throttle | None = None,
    ) -> None:
        super().__init__(command, host=host, port=port, title=title, public_url=public_url)
        self.engine = engine
        self.lang = lang
        self.allowed = allowed
        self.upload_root = upload_root
        self.clock = clock
        self.throttle = throttle or Throttle()
        self.given_public_url = public_url
        parts = urlsplit(public_url or "")
        self.base = parts.path.rstrip("/")
        self.secure = parts.scheme == "https"
        # Behind a reverse proxy on this machine every request comes from 127.0.0.1: the
        # client's address is then the last X-Forwarded-For entry (the one the proxy added).
        self.trust_forwarded = public_url is not None and is_loopback(host)
        self.texts = pages.texts(lang)
        #: The open terminals of each session token, closed when it signs out.
        self._sockets: dict[str, set[web.WebSocketResponse]] = {}

    # --- the application ---------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.add_routes(
            [
                web.get("/", self.handle_index),
                web.get("/sign-in", self.handle_sign_in_page),
                web.post("/sign-in", self.handle_sign_in),
                web.post("/sign-out", self.handle_sign_out),
                web.post("/upload", self.handle_upload),
                web.get("/ws", self.handle_websocket),
                web.get("/download/{key}", self.handle_download),
                web.static("/static", self.statics_path),
                web.static("/assets", pages.STATIC_DIR),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """Say where it serves (without the command: it names the config path only)."""
        self.console.print(f"Loa web on {self.public_url} (Ctrl+C to stop)", highlight=False)

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every terminal so their processes end with the server."""
        for sockets in list(self._sockets.values()):
            for websocket in list(sockets):
                await websocket.close()

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Host on every request; Origin when sent, and always for WebSockets and POSTs."""
        origin = request.headers.get("Origin")
        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        needs_origin = websocket or request.method not in ("GET", "HEAD", "OPTIONS")
        if not host_allowed(request.headers.get("Host"), self.allowed) or (
            (origin is not None or needs_origin) and not origin_allowed(origin, self.allowed)
        ):
            log.warning(
                "refused %s %s: Host %r, Origin %r",
                request.method,
                request.path,
                request.headers.get("Host"),
                origin,
            )
            return self._headers(web.Response(status=403, text=self.texts["forbidden"]))
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            raise self._headers(exc) from None
        return self._headers(response)

    def _headers(self, response: Any) -> Any:
        if not getattr(response, "prepared", False):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            # Not "no-referrer": with it a browser sends "Origin: null" on form posts.
            response.headers.setdefault("Referrer-Policy", "same-origin")
            if (response.content_type or "").startswith(("text/html", "application/json")):
                response.headers.setdefault("Cache-Control", "no-store")
        return response

    # --- sessions ------------------------------------------------------------------------

    async def _session(self, request: web.Request) -> tuple[str, str] | None:
        """The request's (token, account), or None when it has no live session."""
        token = request.cookies.get(COOKIE, "")
        if not token or len(token) > 200:
            return None
        name = await asyncio.to_thread(session_account, self.engine, token, clock=self.clock)
        return (token, name) if name else None

    def _client(self, request: web.Request) -> str | None:
        peer = request.remote
        forwarded = request.headers.get("X-Forwarded-For")
        if self.trust_forwarded and forwarded and peer and is_loopback(peer):
            return forwarded.split(",")[-1].strip() or peer
        return peer

    def _to_sign_in(self, reason: str | None = None) -> web.Response:
        """A redirect to the sign-in page; ``reason`` (expired, signed_out) is said there."""
        response = _redirect(f"{self.base}/sign-in" + (f"?{reason}=1" if reason else ""))
        if reason == "expired":
            response.del_cookie(COOKIE, path="/")
        return response

    def _sign_in_page(
        self, *, status: int = 200, message: str = "", info: bool = False, name: str = ""
    ) -> web.Response:
        html = pages.render(
            "sign_in.html",
            self.lang,
            title=self.title,
            base=self.base,
            message=message,
            info=info,
            name=name,
        )
        return web.Response(status=status, text=html, content_type="text/html")

    async def handle_sign_in_page(self, request: web.Request) -> web.StreamResponse:
        """The sign-in form (or the terminal, for a browser already signed in)."""
        if await self._session(request):
            return _redirect(f"{self.base}/")
        for reason in ("expired", "signed_out"):
            if reason in request.query:
                return self._sign_in_page(message=self.texts[reason], info=True)
        return self._sign_in_page()

    async def handle_sign_in(self, request: web.Request) -> web.StreamResponse:
        """Check the name and password (throttled); set the session cookie on success."""
        form = await request.post()
        name = str(form.get("name", ""))[:200]
        password = str(form.get("password", ""))[:1000]
        if not name.strip() or not password:
            return self._sign_in_page(status=400, message=self.texts["missing"], name=name)
        key = fold(name)
        client = self._client(request)
        wait = self.throttle.wait(key, client)
        if wait:
            log.warning("sign-in for %r from %s throttled (%d s)", key, client, wait)
            response = self._sign_in_page(
                status=429, message=self.texts["throttled"].format(seconds=wait), name=name
            )
            response.headers["Retry-After"] = str(wait)
            return response
        try:
            token = await asyncio.to_thread(
                sign_in, self.engine, name, password, remote=client, clock=self.clock
            )
        except AccessDenied:
            self.throttle.failed(key, client)
            return self._sign_in_page(status=401, message=self.texts["wrong"], name=name)
        self.throttle.succeeded(key)
        response = _redirect(f"{self.base}/")
        response.set_cookie(
            COOKIE, token, httponly=True, samesite="Strict", secure=self.secure, path="/"
        )
        return response

    async def handle_sign_out(self, request: web.Request) -> web.StreamResponse:
        """End the session, close its terminals, forget the cookie."""
        token = request.cookies.get(COOKIE, "")
        if token and len(token) <= 200:
            await asyncio.to_thread(sign_out, self.engine, token)
            for websocket in list(self._sockets.pop(token, ())):
                await websocket.close()
        response = self._to_sign_in("signed_out")
        response.del_cookie(COOKIE, path="/")
        return response

    # --- the terminal --------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        """The terminal page for a signed-in browser; the sign-in page otherwise."""
        found = await self._session(request)
        if found is None:
            return self._to_sign_in("expired" if request.cookies.get(COOKIE) else None)
        if self.given_public_url:
            parts = urlsplit(self.given_public_url)
            scheme = "wss" if parts.scheme == "https" else "ws"
            websocket_url = f"{scheme}://{parts.netloc}{self.base}/ws"
        else:
            # The address the browser used (already checked against the allowed hosts), so
            # the WebSocket goes where the cookie was set: localhost and 127.0.0.1 differ.
            websocket_url = f"ws://{request.host}/ws"
        html = pages.render(
            "terminal.html",
            self.lang,
            title=self.title,
            base=self.base,
            user=found[1],
            websocket_url=websocket_url,
            font_size=to_int(request.query.get("fontsize", "16"), 16),
        )
        return web.Response(text=html, content_type="text/html")

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        """A file the app offers for download (signed-in browsers only)."""
        if await self._session(request) is None:
            raise web.HTTPForbidden(text=self.texts["expired"])
        return await super().handle_download(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """Start ``loa tui`` as the session's account and relay its screen."""
        found = await self._session(request)
        if found is None:
            raise web.HTTPForbidden(text=self.texts["expired"])
        token, account = found
        upload_dir = await asyncio.to_thread(uploads.account_dir, self.upload_root, account)
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        service: LoaAppService | None = None
        sockets = self._sockets.setdefault(token, set())
        sockets.add(websocket)
        try:
            await websocket.prepare(request)
            service = LoaAppService(
                self.command,
                environment={WEB_SESSION_ENV: token, uploads.UPLOAD_DIR_ENV: str(upload_dir)},
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,
                download_manager=self.download_manager,
                debug=self.debug,
            )
            await service.start(width, height)
            try:
                await self._relay(websocket, service, token)
            finally:
                await service.stop()
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.exception(error)
        finally:
            if service is not None:
                await service.stop()
            sockets.discard(websocket)
            if not sockets:
                self._sockets.pop(token, None)
        return websocket

    async def _relay(
        self, websocket: web.WebSocketResponse, service: AppService, token: str
    ) -> None:
        """textual-serve's message loop, plus: the session must stay alive.

        While the officer types, the session is looked up once a minute (which keeps it
        alive); a session ended elsewhere (signed out, password changed, account disabled)
        closes the terminal then. A tab left without input for WEB_IDLE is closed.
        """
        loop = asyncio.get_running_loop()
        last_input = last_check = loop.time()

        async def close_when_idle() -> None:
            while True:
                left = last_input + WEB_IDLE.total_seconds() - loop.time()
                if left <= 0:
                    await websocket.close()
                    return
                await asyncio.sleep(left)

        watchdog = asyncio.create_task(close_when_idle())
        try:
            async for message in websocket:
                if message.type != WSMsgType.TEXT:
                    continue
                envelope = json.loads(message.data)
                if not isinstance(envelope, list) or not envelope:
                    continue
                kind = envelope[0]
                if kind in ("stdin", "resize", "focus"):
                    last_input = loop.time()
                    if last_input - last_check > SESSION_CHECK_SECONDS:
                        last_check = last_input
                        alive = await asyncio.to_thread(
                            session_account, self.engine, token, clock=self.clock
                        )
                        if alive is None:
                            await websocket.close()
                            return
                if kind == "stdin":
                    await service.send_bytes(str(envelope[1]).encode("utf-8"))
                elif kind == "resize":
                    await service.set_terminal_size(envelope[1]["width"], envelope[1]["height"])
                elif kind == "ping":
                    await websocket.send_json(["pong", envelope[1]])
                elif kind == "blur":
                    await service.blur()
                elif kind == "focus":
                    await service.focus()
        finally:
            watchdog.cancel()

    # --- uploads -------------------------------------------------------------------------

    async def handle_upload(self, request: web.Request) -> web.StreamResponse:
        """Store one photo (multipart field ``photo``) in the account's upload directory."""
        found = await self._session(request)
        if found is None:
            return self._upload_reply(401, self.texts["expired"])
        account = found[1]
        try:
            reader = await request.multipart()
        except (AssertionError, ValueError, KeyError):
            return self._upload_reply(400, self.texts["no_file"])
        part = await reader.next()
        while part is not None and not (
            isinstance(part, BodyPartReader) and part.name == "photo" and part.filename
        ):
            part = await reader.next()
        if part is None or not isinstance(part, BodyPartReader):
            return self._upload_reply(400, self.texts["no_file"])
        filename = part.filename or "photo"
        data = bytearray()
        while chunk := await part.read_chunk(256 * 1024):
            data += chunk
            if len(data) > uploads.MAX_UPLOAD_BYTES:
                message = self.texts["too_big"].format(
                    name=filename, max=uploads.MAX_UPLOAD_BYTES // 1_000_000
                )
                return self._upload_reply(413, message)
        if not data:
            return self._upload_reply(400, self.texts["no_file"])
        directory = await asyncio.to_thread(uploads.account_dir, self.upload_root, account)
        try:
            path, info = await asyncio.to_thread(
                uploads.store, directory, filename, bytes(data), now=self.clock()
            )
        except ValidationError as exc:
            return self._upload_reply(400, pages.media_error(exc, self.lang))
        log.info("%s uploaded %s (%s)", account, path.name, info)
        message = self.texts["uploaded"].format(name=path.name, info=info)
        return self._upload_reply(200, message, name=path.name)

    def _upload_reply(self, status: int, message: str, **extra: str) -> web.Response:
        return web.json_response({"ok": status == 200, "message": message, **extra}, status=status)


def _redirect(location: str) -> web.Response:
    """A 303 (See Other): after a form post the browser fetches ``location`` with GET."""
    return web.Response(status=303, headers={"Location": location})
