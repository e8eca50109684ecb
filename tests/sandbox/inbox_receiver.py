"""A stand-in webhook receiver for the inbox tests: records raw requests, answers Meta's
verification handshake, and can be down, failing, or slow on demand."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    """One request as it arrived: the raw body bytes and the headers."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An HTTP server on a fixed loopback port that can be stopped and started again.

    ``mode``: ``"ok"`` (200), ``"error"`` (HTTP 500) or ``"hang"`` (no answer until
    :meth:`release`). ``verify_token`` is what the GET handshake accepts.
    """

    def __init__(self, verify_token: str = "loa-verify") -> None:
        self.verify_token = verify_token
        self.mode = "ok"
        self.received: list[Received] = []
        self.handshakes: list[dict[str, list[str]]] = []
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        """The base URL (the same across stop/start)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (again) on the same port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                query = parse_qs(urlsplit(self.path).query)
                receiver.handshakes.append(query)
                token = query.get("hub.verify_token", [""])[0]
                challenge = query.get("hub.challenge", [""])[0]
                if query.get("hub.mode") == ["subscribe"] and token == receiver.verify_token:
                    self._answer(200, challenge.encode())
                else:
                    self._answer(403, b"Forbidden")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.append(
                    Received("POST", self.path, {k: v for k, v in self.headers.items()}, body)
                )
                if receiver.mode == "hang":
                    receiver._released.wait(10)
                status = 500 if receiver.mode == "error" else 200
                self._answer(status, b"EVENT_RECEIVED")

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sandbox gave up waiting (a "hang" test)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        """Stop listening: the next connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def release(self) -> None:
        """Let held ("hang") requests answer."""
        self._released.set()

    def close(self) -> None:
        """Release and stop."""
        self.release()
        self.stop()
