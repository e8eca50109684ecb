"""What citizens attach (a scam screenshot, a voice note, a document), served over HTTP the way
the platforms' CDNs serve it: at a token-bearing URL that stops working after a while
(docs/platforms/zalo-oa.md#message-events-and-attachments: "expiring, token-bearing paths";
docs/platforms/facebook-graph.md#attachment-urls: attachment URLs expire; the TTL is configurable,
then 403 or 404).

The bytes live in memory only (a sandbox restart loses them, as an expiry would). The URLs are
on the sandbox itself (``/_sandbox/cdn/<token>``), so a receiver downloads them over real HTTP;
after ``ttl_s`` of simulated time Graph's answer is ``403 URL signature expired`` and Zalo's a
``404``, like their CDNs.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

if TYPE_CHECKING:
    from sandbox.runtime import Sandbox

#: How long an attachment URL works, in simulated seconds, unless a request says ``ttl_s``.
#: Neither platform documents it (docs/platforms/zalo-oa.md#message-events-and-attachments,
#: docs/platforms/facebook-graph.md#attachment-urls); a few hours is what integrators report.
DEFAULT_TTL_S = 6 * 3600.0

# Small but real files: what the receiver sniffs is what a phone would send.
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)
_SAMPLES = {
    "image": (_PNG, "image/png", "png"),
    "gif": (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00"
        b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
        "image/gif",
        "gif",
    ),
    "audio": (b"#!AMR\n" + b"\x3c" * 320, "audio/amr", "amr"),
    "video": (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4", "mp4"),
    "file": (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        "application/pdf",
        "pdf",
    ),
}


@dataclass
class HostedMedia:
    """One hosted attachment."""

    token: str
    platform: str
    data: bytes
    mime: str
    created_at: float
    ttl_s: float

    def expired(self, now: float) -> bool:
        """Whether its URL has stopped working at ``now``."""
        return now >= self.created_at + self.ttl_s


def host(sb: Sandbox, platform: str, kind: str, body: dict[str, Any]) -> tuple[str, HostedMedia]:
    """Host the attachment a control request describes and return its URL.

    ``body``: ``data`` (base64; default a small real file of the ``kind``), ``mime``,
    ``ttl_s``; ``_media_base`` is the sandbox's own address (set by the control API).
    """
    sample, mime, ext = _SAMPLES.get(kind, _SAMPLES["file"])
    raw = body.get("data")
    data = base64.b64decode(str(raw)) if raw else sample
    mime = str(body.get("mime") or mime)
    ttl = float(body.get("ttl_s") or DEFAULT_TTL_S)
    serial = sb.state.inbox.serial()
    token = hashlib.sha256(f"{sb.config.seed}:media:{serial}".encode()).hexdigest()[:32]
    media = HostedMedia(token, platform, data, mime, sb.now(), ttl)
    sb.citizen_media[token] = media
    base = str(body.get("_media_base") or "http://sandbox.invalid/_sandbox/cdn")
    return f"{base}/{token}.{ext}?oh={token[:12]}&oe={int(media.created_at + ttl):x}", media


def md5(data: bytes) -> str:
    """Zalo's ``checksum`` of a file (MD5:
    docs/platforms/zalo-oa.md#message-events-and-attachments)."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def server(sb: Sandbox) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint serving ``sb``'s hosted attachments."""

    async def serve(request: Request) -> Response:
        return _serve(sb, request)

    return serve


def _serve(sb: Sandbox, request: Request) -> Response:
    """``GET /_sandbox/cdn/<token>.<ext>``: the bytes while the URL works, then the CDN's no."""
    token = str(request.path_params["name"]).split(".", 1)[0]
    media = sb.citizen_media.get(token)
    if media is None:
        return PlainTextResponse("Not Found", status_code=404)
    if media.expired(sb.now()):
        if media.platform == "graph":
            return PlainTextResponse("URL signature expired", status_code=403)
        return PlainTextResponse("Not Found", status_code=404)
    return Response(media.data, media_type=media.mime)
