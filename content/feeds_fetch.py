"""Getting a feed document: over HTTP (conditional GET, size cap, bounded redirects, a
timeout) or from a local file. Nothing here touches the database, so a slow server never
holds a transaction open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

#: Feeds larger than this are refused: a real feed is a few hundred kB at most.
MAX_FEED_BYTES = 5 * 1024 * 1024
#: Seconds to wait for a server (connect, and between bytes).
DEFAULT_TIMEOUT = 15.0
MAX_REDIRECTS = 5
USER_AGENT = "Loa feed reader"


class FetchError(Exception):
    """The feed could not be fetched; the message says why, in one line."""


@dataclass
class Fetched:
    """A fetch's result: the document (None when the server said 304) and its validators."""

    data: bytes | None
    #: Response headers feedparser needs (content type with charset, base URL).
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """The server answered 304: nothing changed since the validators we sent."""
        return self.data is None


def is_http(location: str) -> bool:
    """True for an http(s) URL with a host."""
    parts = urlsplit(location)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def file_path(location: str) -> Path | None:
    """The local path of a ``file:`` URI, else None."""
    parts = urlsplit(location)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path))


def fetch(
    location: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    client: httpx.Client | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_FEED_BYTES,
) -> Fetched:
    """Fetch a feed from an http(s) URL or a ``file:`` URI; raises :class:`FetchError`."""
    path = file_path(location)
    if path is not None:
        return Fetched(data=read_file(path, max_bytes=max_bytes))
    if not is_http(location):
        raise FetchError(f"{location}: not an http(s) URL or a file")
    if client is not None:
        return _get(client, location, etag, last_modified, max_bytes, timeout)
    with httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
    ) as own:
        return _get(own, location, etag, last_modified, max_bytes, timeout)


def read_file(path: Path, *, max_bytes: int = MAX_FEED_BYTES) -> bytes:
    """A local feed file's bytes, refused beyond ``max_bytes``."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:
        raise FetchError(f"{path}: {_too_large(max_bytes)}")
    return data


def _get(
    client: httpx.Client,
    url: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    timeout: float,
) -> Fetched:
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with client.stream("GET", url, headers=headers, follow_redirects=True) as response:
            if response.status_code == 304:
                return Fetched(data=None, etag=etag, last_modified=last_modified)
            if response.status_code >= 400:
                raise FetchError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{url}: {_too_large(max_bytes)}")
            body = bytearray()
            # Counted on the decoded stream, so a small gzip bomb is caught as well.
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise FetchError(f"{url}: {_too_large(max_bytes)}")
            return Fetched(
                data=bytes(body),
                headers={
                    "content-type": response.headers.get("Content-Type", ""),
                    # The final URL (after redirects) is the base of relative links.
                    "content-location": str(response.url),
                },
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
    except httpx.TimeoutException:
        raise FetchError(f"{url}: no answer within {timeout:g} s") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"{url}: more than {client.max_redirects} redirects") from None
    except httpx.ConnectError as exc:
        raise FetchError(f"{url}: cannot connect ({_reason(exc)})") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {_reason(exc)}") from None


def _too_large(max_bytes: int) -> str:
    return f"the feed is larger than {max_bytes / 1_048_576:g} MB; refused"


def _reason(exc: Exception) -> str:
    message = " ".join(str(exc).split())
    return message or type(exc).__name__
