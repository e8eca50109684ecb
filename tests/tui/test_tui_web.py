"""`loa web`: the TUI served to signed-in browsers by textual-serve.

The server runs as a real subprocess on a free port (see test_web_server.py for the helpers
and the sign-in, Host/Origin and upload tests; test_web_browser.py drives headless Chromium).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import pytest

from scheduler.cli import web
from tests.tui.test_web_server import (
    OFFICE,
    REPO,
    Served,
    screen_text,
    served,  # noqa: F401  (the fixture)
    signed_in_session,
)

aiohttp = pytest.importorskip("aiohttp", reason="textual-serve (and aiohttp) not installed")


def test_web_command_options():
    parser = argparse.ArgumentParser()
    web.register(parser.add_subparsers())
    args = parser.parse_args(
        ["web", "--port", "8080", "--db", "x.db", "--allowed-host", "loa.local"]
        + ["--allowed-host", "10.0.0.5:8080", "--public-url", "https://loa.example.gov.vn"]
    )
    assert (args.host, args.port, args.db, args.handler) == ("127.0.0.1", 8080, "x.db", web.run)
    assert args.allowed_host == ["loa.local", "10.0.0.5:8080"]
    assert args.public_url == "https://loa.example.gov.vn"
    assert web.is_loopback("127.0.0.1") and web.is_loopback("::1")
    assert not web.is_loopback("0.0.0.0")


def test_app_command_quotes_and_keeps_identity_and_database_off_the_command_line():
    command = web.app_command("/etc/loa/my channels.toml", "vi")
    assert command.endswith("-m scheduler.cli tui --config '/etc/loa/my channels.toml' --lang vi")
    assert "--db" not in command and "--as" not in command and "SESSION" not in command


def test_page_language():
    assert web.page_language("en", "vi") == "en"
    assert web.page_language(None, "en") == "en"
    assert web.page_language(None, None) == "vi"


def test_the_cli_module_does_not_import_textual():
    code = (
        "import sys, scheduler.cli.web, scheduler.web.server\n"
        "print(any(m.split('.')[0] == 'textual' for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "False"


async def test_page_and_websocket_run_the_app_as_the_signed_in_account(served: Served):  # noqa: F811
    """The page is Loa's; its websocket starts `loa tui` as lan, whose screen comes back."""
    session = await signed_in_session(served, "lan")
    try:
        async with session.get(served.url + "/") as response:
            assert response.status == 200
            page = await response.text()
        assert f"<div>Loa · {OFFICE}</div>" in page
        assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in page
        async with session.ws_connect(
            served.url + "/ws?width=120&height=40", headers={"Origin": served.origin}
        ) as ws:
            received = ""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "New post" not in screen_text(received):
                try:
                    message = await ws.receive(timeout=2)
                except TimeoutError:
                    continue
                if message.type == aiohttp.WSMsgType.BINARY:
                    received += message.data.decode("utf-8", "replace")
                elif message.type != aiohttp.WSMsgType.TEXT:
                    break
    finally:
        await session.close()
    text = screen_text(received)
    assert OFFICE in text and "user: lan" in text
    assert "New post" in text  # the queue's Footer
