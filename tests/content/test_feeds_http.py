"""Feeds over real HTTP on 127.0.0.1: conditional GET, redirects, size cap, dead servers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from content.feeds import add_feed, list_feeds, poll

#: What is tested is HTTP; the feed store under it runs on both databases in test_feeds_poll.py.
pytestmark = pytest.mark.one_database

FEEDS = Path(__file__).parent / "feeds"
ETAG = '"v1"'
LAST_MODIFIED = "Sun, 22 Nov 2026 02:00:00 GMT"
BIG = 6 * 1024 * 1024  # over the 5 MB cap


@dataclass
class Server:
    """A tiny feed server; ``requests`` records (path, headers) of every request."""

    base: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


def _feed(h: BaseHTTPRequestHandler) -> None:
    if h.headers.get("If-None-Match") == ETAG:
        h.send_response(304)
        h.end_headers()
        return
    body = (FEEDS / "rss2.xml").read_bytes()
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", str(len(body)))
    h.send_header("ETag", ETAG)
    h.send_header("Last-Modified", LAST_MODIFIED)
    h.end_headers()
    h.wfile.write(body)


def _bozo(h: BaseHTTPRequestHandler) -> None:
    body = (FEEDS / "bozo.xml").read_bytes()
    h.send_response(200)
    h.send_header("ETag", '"broken"')
    h.end_headers()
    h.wfile.write(body)


def _redirect(to: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", to)
        h.end_headers()

    return handle


def _big(declare: bool) -> Callable[[BaseHTTPRequestHandler], None]:
    def handle(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        if declare:
            h.send_header("Content-Length", str(BIG))
        h.end_headers()
        chunk = b"<!-- padding -->" * 4096
        for _ in range(BIG // len(chunk) + 1):
            h.wfile.write(chunk)

    return handle


def _missing(h: BaseHTTPRequestHandler) -> None:
    h.send_error(404)


def _latin1(h: BaseHTTPRequestHandler) -> None:
    body = (
        '<rss version="2.0"><channel><title>Caf\xe9</title><item><title>No\xebl</title>'
        "<guid>l1</guid><link>https://l.example.vn/1</link></item></channel></rss>"
    ).encode("iso-8859-1")
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml; charset=ISO-8859-1")
    h.end_headers()
    h.wfile.write(body)


ROUTES: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
    "/feed.xml": _feed,
    "/moved": _redirect("/feed.xml"),
    "/loop": _redirect("/loop"),
    # Another service on this machine (the sandbox's control API listens on such a port).
    "/to-local-service": _redirect("http://127.0.0.1:9/_sandbox/state"),
    "/to-private-network": _redirect("http://10.0.0.7/admin"),
    "/big": _big(declare=False),
    "/big-declared": _big(declare=True),
    "/missing": _missing,
    "/latin1": _latin1,
    "/bozo": _bozo,
}


@pytest.fixture
def server() -> Iterator[Server]:
    """The feed server on a free port, in a thread."""
    record: list[tuple[str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            record.append((self.path, dict(self.headers.items())))
            # The client may refuse the rest of an oversized body.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                ROUTES[self.path](self)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown() waits for it, and tests should stay fast.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", record)
    finally:
        httpd.shutdown()
        httpd.server_close()


def _add(engine, directory, url: str):
    return add_feed(engine, url, ["tinh-fb"], directory=directory, make_drafts=False)


def test_conditional_get_sends_the_stored_validators_and_a_304_changes_nothing(
    engine, make_queue, directory, server
):
    source = _add(engine, directory, server.url("/feed.xml"))
    (first,) = poll(engine, make_queue(), source.id)
    assert (first.new, first.not_modified) == (3, False)
    stored = list_feeds(engine)[0]
    assert (stored.etag, stored.last_modified) == (ETAG, LAST_MODIFIED)
    assert "If-None-Match" not in server.requests[0][1]

    (second,) = poll(engine, make_queue(), source.id)
    sent = server.requests[1][1]
    assert (sent["If-None-Match"], sent["If-Modified-Since"]) == (ETAG, LAST_MODIFIED)
    assert (second.not_modified, second.new, second.duplicate, second.error) == (True, 0, 0, None)
    assert list_feeds(engine)[0].etag == ETAG


def test_redirects_are_followed(engine, make_queue, directory, server):
    source = _add(engine, directory, server.url("/moved"))
    (result,) = poll(engine, make_queue(), source.id)
    assert (result.new, result.error) == (3, None)
    assert [path for path, _ in server.requests] == ["/moved", "/feed.xml"]


def test_a_redirect_loop_is_refused(engine, make_queue, directory, server):
    source = _add(engine, directory, server.url("/loop"))
    (result,) = poll(engine, make_queue(), source.id)
    assert result.error == f"{server.url('/loop')}: more than 5 redirects"


@pytest.mark.parametrize("path", ["/to-local-service", "/to-private-network"])
def test_a_redirect_into_this_machine_or_network_is_refused(
    engine, make_queue, directory, server, path
):
    source = _add(engine, directory, server.url(path))
    (result,) = poll(engine, make_queue(), source.id)
    assert result.error is not None and result.error.startswith(f"{server.url(path)}: redirected")
    assert "refused" in result.error
    assert [p for p, _ in server.requests] == [path]  # nothing was asked of the target


def test_a_redirect_to_another_public_host_is_followed_as_before():
    from content.feeds_fetch import _check_redirect

    _check_redirect("https://congan.example.vn/rss", httpx.URL("http://93.184.216.34/rss.xml"))
    _check_redirect("http://127.0.0.1:8000/a", httpx.URL("http://127.0.0.1:8000/b"))


@pytest.mark.parametrize("path", ["/big", "/big-declared"])
def test_an_oversized_feed_is_refused_with_a_clear_message(
    engine, make_queue, directory, server, path
):
    source = _add(engine, directory, server.url(path))
    (result,) = poll(engine, make_queue(), source.id)
    assert result.error == f"{server.url(path)}: the feed is larger than 5 MB; refused"
    assert result.new == 0
    assert list_feeds(engine)[0].last_error == result.error


def test_an_http_error_status_is_reported(engine, make_queue, directory, server):
    source = _add(engine, directory, server.url("/missing"))
    (result,) = poll(engine, make_queue(), source.id)
    assert result.error == f"{server.url('/missing')}: HTTP 404 Not Found"


def test_the_charset_of_the_http_response_decodes_the_feed(engine, make_queue, directory, server):
    source = _add(engine, directory, server.url("/latin1"))
    (result,) = poll(engine, make_queue(), source.id)
    assert (result.new, result.error, result.source.title) == (1, None, "Café")


def test_a_server_that_never_answers_times_out_with_the_error_stored(engine, make_queue, directory):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections (backlog) but never replies
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/rss"
        source = _add(engine, directory, url)
        (result,) = poll(engine, make_queue(), source.id, timeout=0.2)
    assert result.error == f"{url}: no answer within 0.2 s"
    assert list_feeds(engine)[0].last_error == result.error


def test_a_refused_connection_is_reported(engine, make_queue, directory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/rss"  # nothing listens there any more
    source = _add(engine, directory, url)
    (result,) = poll(engine, make_queue(), source.id)
    assert result.error is not None and result.error.startswith(f"{url}: cannot connect (")
    assert list_feeds(engine)[0].last_polled_at is not None


def test_requests_name_loa_and_a_callers_client_is_used_as_is(
    engine, make_queue, directory, server
):
    source = _add(engine, directory, server.url("/feed.xml"))
    poll(engine, make_queue(), source.id)
    with httpx.Client(headers={"User-Agent": "loa-daemon/test"}) as client:
        (result,) = poll(engine, make_queue(), source.id, client=client)
    assert result.not_modified
    assert [h["User-Agent"] for _, h in server.requests] == ["Loa feed reader", "loa-daemon/test"]


def test_validators_of_a_malformed_document_are_not_kept(engine, make_queue, directory, server):
    source = _add(engine, directory, server.url("/bozo"))
    poll(engine, make_queue(), source.id)
    (again,) = poll(engine, make_queue(), source.id)
    assert "If-None-Match" not in server.requests[1][1]
    assert again.error is not None and again.error.startswith("malformed feed")
    assert list_feeds(engine)[0].etag is None
