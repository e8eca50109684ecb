"""Compressed feeds over real HTTP: read as before, and a gzip bomb refused in bounded memory.

httpx inflates each network chunk whole, so a 16 kB chunk of a bomb became 16 MB before the
size cap could look at it (a refused bomb peaked at 142 MiB). Loa now inflates step by step:
what it holds stays near the cap, whatever the compression ratio.
"""

from __future__ import annotations

import contextlib
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from content.feeds import add_feed, poll
from content.feeds_fetch import FetchError, fetch

FEED = (Path(__file__).parent / "feeds" / "rss2.xml").read_bytes()
#: The bomb inflates to this (128 MiB of zeros in about 128 kB); the cap in the tests is 1 MiB.
BOMB_EXPANDS_TO = 128 << 20
CAP = 1 << 20


def _gzip(data_chunks: Iterator[bytes], wbits: int = 16 + zlib.MAX_WBITS) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [compressor.compress(chunk) for chunk in data_chunks]
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    zeros = bytes(1 << 20)
    return _gzip(zeros for _ in range(BOMB_EXPANDS_TO >> 20))


Handler = Callable[[BaseHTTPRequestHandler], None]


def _serve(body: bytes, encoding: str) -> Handler:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Encoding", encoding)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        view = memoryview(body)  # slices of a view: the server itself allocates nothing big
        for start in range(0, len(body), 65536):
            h.wfile.write(view[start : start + 65536])

    return handle


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    """``serve(handler)``: the URL of a one-route server on a free loopback port."""
    servers: list[ThreadingHTTPServer] = []
    seen: list[dict[str, str]] = []

    def start(route: Handler) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                seen.append(dict(self.headers.items()))
                # The client hangs up on an oversized body.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml"

    start.seen = seen  # type: ignore[attr-defined]
    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_a_gzip_bomb_is_refused_holding_about_the_cap_in_memory(serve, bomb):
    url = serve(_serve(bomb, "gzip"))
    with httpx.Client(trust_env=False) as client:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError) as refused:
                fetch(url, client=client, max_bytes=CAP)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert str(refused.value) == f"{url}: the feed is larger than 1 MB; refused"
    # The body kept up to the cap, plus one step of inflated output and socket buffers;
    # inflating a whole network chunk at once (as before) is tens of MiB here.
    assert peak < 2 * CAP + 512 * 1024, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    ("encoding", "wbits"),
    [("gzip", 16 + zlib.MAX_WBITS), ("x-gzip", 16 + zlib.MAX_WBITS), ("deflate", zlib.MAX_WBITS)],
)
def test_a_compressed_feed_is_imported_as_before(
    serve, engine, make_queue, directory, encoding, wbits
):
    url = serve(_serve(_gzip(iter([FEED]), wbits), encoding))
    source = add_feed(engine, url, channels=["tinh-fb"], directory=directory)
    (result,) = poll(engine, make_queue(), source.id)
    assert result.error is None and result.new > 0
    assert serve.seen[0]["Accept-Encoding"] == "gzip, deflate"


def test_raw_deflate_some_servers_send_is_read_too(serve):
    url = serve(_serve(_gzip(iter([FEED]), -zlib.MAX_WBITS), "deflate"))
    with httpx.Client(trust_env=False) as client:
        assert fetch(url, client=client).data == FEED


@pytest.mark.parametrize(
    ("body", "encoding", "says"),
    [
        (b"\x1f\x8b\x08\x00garbage-not-gzip" * 4, "gzip", "the feed's gzip data is damaged"),
        (b"\x00" * 64, "br", "the server compressed the feed as 'br'; not supported"),
    ],
)
def test_damaged_or_unknown_compression_is_one_line(serve, body, encoding, says):
    url = serve(_serve(body, encoding))
    with httpx.Client(trust_env=False) as client, pytest.raises(FetchError) as refused:
        fetch(url, client=client)
    assert str(refused.value) == f"{url}: {says}"
