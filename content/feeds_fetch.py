"""Getting a feed document: over HTTP (conditional GET, size cap, bounded redirects, a
timeout) or from a local file. Nothing here touches the database, so a slow server never
holds a transaction open.
"""

from __future__ import annotations

import ipaddress
import socket
import zlib
from collections.abc import Iterable, Iterator
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
#: Compressed bytes read from the socket at a time, and the most one step of decompression
#: may produce: what a compressed feed holds in memory beyond its cap.
RAW_CHUNK = 16 * 1024
DECODED_STEP = 64 * 1024
#: The encodings Loa asks for and decodes itself, step by step (see :func:`_decoded`).
ACCEPT_ENCODING = "gzip, deflate"


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
    with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}) as own:
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
    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*",
        # Only what _decoded inflates step by step (httpx would also offer br and zstd).
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        return _follow(client, url, headers, etag, last_modified, max_bytes)
    except httpx.TimeoutException:
        raise FetchError(f"{url}: no answer within {timeout:g} s") from None
    except httpx.ConnectError as exc:
        raise FetchError(f"{url}: cannot connect ({_reason(exc)})") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {_reason(exc)}") from None


def _follow(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
) -> Fetched:
    """GET ``url``, following redirects one by one, each checked by :func:`_check_redirect`."""
    target = httpx.URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        with client.stream("GET", target, headers=headers, follow_redirects=False) as response:
            following = response.next_request  # set by httpx for a redirect with a Location
            if following is not None:
                _check_redirect(url, following.url)
                target = following.url
                continue
            if response.status_code == 304:
                return Fetched(data=None, etag=etag, last_modified=last_modified)
            if response.status_code >= 400:
                raise FetchError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{url}: {_too_large(max_bytes)}")
            body = bytearray()
            # Counted on the decoded stream, so a small gzip bomb is caught as well; decoded
            # here in bounded steps, since httpx inflates each network chunk whole (a 16 kB
            # chunk of a bomb is 16 MB) before the count could stop it.
            encoding = response.headers.get("Content-Encoding", "")
            raw = response.iter_raw(RAW_CHUNK)
            for chunk in _decoded(raw, encoding, url):
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
    raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _decoded(raw: Iterable[bytes], encoding: str, url: str) -> Iterator[bytes]:
    """The body of ``raw`` decoded from ``encoding``, in pieces of at most DECODED_STEP bytes.

    ``zlib``'s ``max_length`` makes each step produce a bounded piece and keeps the rest of
    the input for the next, so memory never holds more than one step of output beyond what
    the caller keeps, whatever the compression ratio.
    """
    name = encoding.strip().lower()
    if name in ("", "identity"):
        yield from raw
        return
    if name in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif name == "deflate":
        wbits = 0  # unused: the first bytes tell zlib-wrapped from raw deflate (below)
    else:
        raise FetchError(f"{url}: the server compressed the feed as {encoding!r}; not supported")
    inflater = None
    try:
        for data in raw:
            if inflater is None:
                if name == "deflate":
                    # "deflate" is meant to be zlib-wrapped, but some servers send raw deflate.
                    wrapped = (
                        len(data) >= 2
                        and data[0] & 0x0F == 8
                        and (data[0] * 256 + data[1]) % 31 == 0
                    )
                    wbits = zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS
                inflater = zlib.decompressobj(wbits)
            while data and not inflater.eof:
                piece = inflater.decompress(data, DECODED_STEP)
                data = inflater.unconsumed_tail
                if piece:
                    yield piece
        # Output still held back by the step limit when the input ended.
        while inflater is not None and not inflater.eof:
            piece = inflater.decompress(b"", DECODED_STEP)
            if not piece:
                break
            yield piece
    except zlib.error:
        raise FetchError(f"{url}: the feed's {name} data is damaged") from None


def _check_redirect(feed_url: str, target: httpx.URL) -> None:
    """Refuse a redirect into this machine or the office's network from elsewhere.

    A feed on the Internet (or a local one) that answers "moved to http://127.0.0.1:8765/..."
    would otherwise make Loa read a local service (the sandbox's control API, an admin page)
    and import what it says: only the feed's own host and port may be local.
    """
    origin = httpx.URL(feed_url)
    if (target.host, target.port) == (origin.host, origin.port):
        return
    if target.scheme not in ("http", "https"):
        raise FetchError(f"{feed_url}: redirected to {target.scheme}: URLs, which are refused")
    if _is_local(target.host):
        raise FetchError(
            f"{feed_url}: redirected to {target.host}:{target.port or target.scheme}, "
            "an address on this machine or network; refused"
        )


def _is_local(host: str) -> bool:
    """True when ``host`` is, or resolves to, a loopback, private or link-local address."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError:
            return False  # it will not connect either; the fetch says so
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    return any(
        a.is_loopback or a.is_private or a.is_link_local or a.is_unspecified for a in addresses
    )


def _too_large(max_bytes: int) -> str:
    return f"the feed is larger than {max_bytes / 1_048_576:g} MB; refused"


def _reason(exc: Exception) -> str:
    message = " ".join(str(exc).split())
    return message or type(exc).__name__
