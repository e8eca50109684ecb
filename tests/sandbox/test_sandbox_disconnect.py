"""A client that hangs up mid-request (a daemon killed while posting) gets one log line."""

from __future__ import annotations

import logging
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.sandbox.conftest import GRAPH_VERSION, TINH_OA, TINH_PAGE


@pytest.mark.parametrize("api", ["graph", "zalo"])
def test_a_request_cut_off_before_its_body_is_logged_in_one_line(sb, caplog, api):
    if api == "graph":
        path = f"/graph/{GRAPH_VERSION}/{TINH_PAGE}/feed"
        headers = f"Authorization: Bearer {sb.page_token(TINH_PAGE)}\r\n"
        headers += "Content-Type: application/x-www-form-urlencoded\r\n"
    else:
        path = "/zalo/v2.0/article/create"
        headers = f"access_token: {sb.zalo_access_token(TINH_OA)}\r\n"
        headers += "Content-Type: application/json\r\n"
    caplog.set_level(logging.INFO)
    address = urlsplit(sb.url)
    with socket.create_connection((address.hostname, address.port)) as conn:
        conn.sendall(
            f"POST {path} HTTP/1.1\r\nHost: sandbox\r\n{headers}Content-Length: 500\r\n\r\n"
            "message=C%E1%BA%A3nh".encode()
        )
    deadline = time.monotonic() + 5
    while "went away" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)  # the server notices the hang-up on its own thread
    assert f"POST {path}: the client went away before sending its body" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert sb.posts(TINH_PAGE) == []
    assert sb.articles(TINH_OA).get("articles", []) == []
