"""Fixtures for the sandbox tests: one shared sandbox (reset per test), clients, media server."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

from sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.inbox_receiver import Receiver

GRAPH_VERSION = "v21.0"
TINH_PAGE = "100000000000001"
PHUONG_PAGE = "100000000000002"
TINH_OA = "4300000000000000001"
# 10:00 office time (UTC+7) on a weekday: no night ban, far from month ends.
OFFICE_MORNING = "2026-11-24T03:00:00+00:00"


def jpeg_bytes(size: tuple[int, int] = (16, 16)) -> bytes:
    """A real (tiny) JPEG."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def png_bytes() -> bytes:
    """A real (tiny) PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def big_jpeg_bytes() -> bytes:
    """A valid JPEG just over 1 MB (JPEG header, padded with an APP segment-free tail)."""
    data = jpeg_bytes()
    return data + b"\x00" * (1024 * 1024 + 1 - len(data))


@pytest.fixture(scope="session", autouse=True)
def loopback_without_proxy() -> Iterator[None]:
    """Keep a proxy from the environment away from calls to 127.0.0.1."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        yield


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


@pytest.fixture
def sb(shared_sandbox: SandboxHandle) -> SandboxHandle:
    """The shared sandbox, freshly reset (state, faults, clock) for this test."""
    shared_sandbox.reset()
    shared_sandbox.set_clock(OFFICE_MORNING)
    return shared_sandbox


@pytest.fixture
def graph(sb: SandboxHandle) -> Iterator[httpx.Client]:
    """A Graph client for page 1, authenticated with its page token (Bearer header)."""
    headers = {"Authorization": f"Bearer {sb.page_token(TINH_PAGE)}"}
    with httpx.Client(
        base_url=f"{sb.graph_url}/{GRAPH_VERSION}", headers=headers, trust_env=False
    ) as client:
        yield client


@pytest.fixture
def zalo(sb: SandboxHandle) -> Iterator[httpx.Client]:
    """A Zalo OpenAPI client for OA 1, with a fresh access token in the ``access_token`` header."""
    token = sb.zalo_access_token(TINH_OA)
    with httpx.Client(
        base_url=sb.zalo_url, headers={"access_token": token}, trust_env=False
    ) as client:
        yield client


class MediaServer:
    """A tiny public web server: ``files[path] = bytes`` is served at ``url + path``."""

    def __init__(self) -> None:
        files: dict[str, bytes] = {}
        self.files = files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def media() -> Iterator[MediaServer]:
    server = MediaServer()
    yield server
    server.close()


def article_body(cover_url: str, **overrides: object) -> dict[str, object]:
    """A valid normal article whose cover is ``cover_url``."""
    body: dict[str, object] = {
        "type": "normal",
        "title": "Cảnh giác lừa đảo qua mạng",
        "author": "Công an tỉnh Demo",
        "description": "Những thủ đoạn lừa đảo phổ biến và cách phòng tránh.",
        "cover": {"cover_type": "photo", "photo_url": cover_url, "status": "show"},
        "body": [{"type": "text", "content": "Nội dung bài viết."}],
        "status": "show",
        "comment": "show",
    }
    body.update(overrides)
    return body


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback (Meta's handshake token: ``loa-verify``)."""
    server = Receiver()
    yield server
    server.close()
