"""Image sniffing and fetching media from public URLs, as the platforms do."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import lru_cache

import httpx

ONE_MB = 1024 * 1024

_SIGNATURES = {
    b"\xff\xd8\xff": "jpeg",
    b"\x89PNG\r\n\x1a\n": "png",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
    b"BM": "bmp",
    b"II*\x00": "tiff",
    b"MM\x00*": "tiff",
}


def image_kind(data: bytes) -> str | None:
    """``"jpeg"``, ``"png"``, ``"gif"``, ``"bmp"``, ``"tiff"`` from magic bytes, else None."""
    for signature, kind in _SIGNATURES.items():
        if data.startswith(signature):
            return kind
    return None


@dataclass(frozen=True)
class FetchedMedia:
    """Result of fetching one URL: the image kind and size, or why it failed."""

    url: str
    ok: bool
    kind: str | None = None
    size: int = 0
    problem: str | None = None


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds: do it once per process.
    return httpx.create_ssl_context()


async def fetch_image(
    url: str, *, max_bytes: int, allowed: tuple[str, ...], timeout_s: float
) -> FetchedMedia:
    """GET ``url`` and check it is an image of an allowed kind no larger than ``max_bytes``."""
    try:
        # trust_env=False: a proxy from the environment must not intercept loopback media.
        async with httpx.AsyncClient(
            timeout=timeout_s, trust_env=False, verify=_tls_context()
        ) as client:
            async with client.stream("GET", url, follow_redirects=True) as response:
                if response.status_code != 200:
                    return FetchedMedia(url, False, problem=f"HTTP {response.status_code}")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        return FetchedMedia(url, False, size=len(data), problem="too large")
    except (httpx.HTTPError, ValueError) as exc:
        return FetchedMedia(url, False, problem=f"unreachable: {type(exc).__name__}")
    kind = image_kind(bytes(data))
    if kind not in allowed:
        return FetchedMedia(url, False, kind=kind, size=len(data), problem="not an image")
    return FetchedMedia(url, True, kind=kind, size=len(data))


def is_plausible_public_url(url: object) -> bool:
    """An absolute http(s) URL without spaces or non-ASCII (Zalo refuses those unencoded)."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return False
    return url.isascii() and " " not in url and len(url) > len("https://x")
