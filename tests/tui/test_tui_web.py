"""`loa web`: the TUI served to a browser by textual-serve.

The server runs as a real subprocess on a free port; the page and its websocket are checked
over HTTP, and (when Debian's chromium is installed) a headless browser opens the page, driven
through the DevTools protocol, to see that the app's screen reaches it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.cli import web

aiohttp = pytest.importorskip("aiohttp", reason="textual-serve (and aiohttp) not installed")

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
OFFICE = "Công an tỉnh Demo"  # the office in the repository's channels.toml
#: Runs `loa web` through web.register, as the `loa` command will once it lists "web".
RUNNER = (
    "import argparse, sys\n"
    "from scheduler.cli import web\n"
    "parser = argparse.ArgumentParser(prog='loa')\n"
    "web.register(parser.add_subparsers())\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.handler(args))\n"
)
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _screen_text(raw: str) -> str:
    """The terminal stream without its escape sequences (words may be split by moves)."""
    return ANSI.sub("", raw)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`loa web` on a free port with a fresh SQLite database; yields its address."""
    port = _free_port()
    log = (tmp_path / "web.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUNNER,
            "web",
            "--db",
            str(tmp_path / "loa.db"),
            "--config",
            str(REPO / "channels.toml"),
            "--as",
            "lan",
            "--lang",
            "en",
            "--port",
            str(port),
        ],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its app processes share the group: stopped together
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"loa web did not start:\n{(tmp_path / 'web.log').read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_web_command_options():
    parser = argparse.ArgumentParser()
    web.register(parser.add_subparsers())
    args = parser.parse_args(["web", "--port", "8080", "--as", "lan", "--db", "x.db"])
    assert (args.host, args.port, args.as_user, args.db, args.handler) == (
        "127.0.0.1",
        8080,
        "lan",
        "x.db",
        web.run,
    )
    assert web.is_loopback("127.0.0.1") and web.is_loopback("::1")
    assert not web.is_loopback("0.0.0.0")


def test_app_command_quotes_and_keeps_the_database_off_the_command_line():
    command = web.app_command("/etc/loa/my channels.toml", "lan", "vi")
    assert command.endswith(
        "-m scheduler.cli tui --config '/etc/loa/my channels.toml' --as lan --lang vi"
    )
    assert "--db" not in command


def test_the_cli_module_does_not_import_textual():
    code = (
        "import sys, scheduler.cli.web\n"
        "print(any(m.split('.')[0] == 'textual' for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "False"


async def test_page_and_websocket_serve_the_app(served: str):
    """The page is textual-serve's; its websocket starts `loa tui`, whose screen comes back."""
    async with aiohttp.ClientSession() as session:
        async with session.get(served + "/") as response:
            assert response.status == 200
            page = await response.text()
        assert f"<div>Loa · {OFFICE}</div>" in page  # textual-serve's intro names the app
        assert f'data-session-websocket-url="ws://127.0.0.1:{served.rsplit(":", 1)[1]}/ws"' in page
        async with session.ws_connect(served + "/ws?width=120&height=40") as ws:
            received = ""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "New post" not in _screen_text(received):
                try:
                    message = await ws.receive(timeout=2)
                except TimeoutError:
                    continue
                if message.type == aiohttp.WSMsgType.BINARY:
                    received += message.data.decode("utf-8", "replace")
                elif message.type != aiohttp.WSMsgType.TEXT:
                    break
    text = _screen_text(received)
    assert OFFICE in text and "user: lan" in text
    assert "New post" in text  # the queue's Footer


#: Recorded in the page before its own scripts run: what the app sends over the websocket.
HOOK = """
(() => {
  const Native = window.WebSocket;
  const decoder = new TextDecoder();
  window.__loaText = "";
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        if (typeof event.data !== "string") {
          window.__loaText += decoder.decode(new Uint8Array(event.data), {stream: true});
        }
      });
    }
  };
})();
"""

STATE = """JSON.stringify({
  body: document.body.className,
  terminal: (document.querySelector(".textual-terminal") || {}).className || "",
  text: window.__loaText || ""
})"""


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
)
async def test_headless_chromium_shows_the_app(served: str, tmp_path: Path):
    browser = subprocess.Popen(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1280,900",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        devtools = None
        assert browser.stderr is not None
        deadline = time.monotonic() + 30
        while devtools is None and time.monotonic() < deadline:
            line = browser.stderr.readline()
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                devtools = found.group(1)
            elif not line and browser.poll() is not None:
                break
        assert devtools, "chromium did not open its DevTools port"
        port = devtools.split(":")[2].split("/")[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            page = next(t for t in targets if t["type"] == "page")
            async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as cdp:
                ids = iter(range(1, 10_000))

                async def call(method: str, **params: object) -> dict:
                    number = next(ids)
                    await cdp.send_str(
                        json.dumps({"id": number, "method": method, "params": params})
                    )
                    while True:
                        reply = json.loads((await cdp.receive(timeout=30)).data)
                        if reply.get("id") == number:
                            return reply.get("result", {})

                await call("Page.enable")
                await call("Page.addScriptToEvaluateOnNewDocument", source=HOOK)
                await call("Page.navigate", url=served + "/")
                state: dict = {}
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    result = await call("Runtime.evaluate", expression=STATE, returnByValue=True)
                    state = json.loads(result.get("result", {}).get("value") or "{}")
                    if "New post" in _screen_text(state.get("text", "")):
                        break
                    await asyncio.sleep(0.5)
                shot = await call("Page.captureScreenshot", format="png")
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()
    assert "-connected" in state["terminal"]  # the websocket handshake succeeded
    assert "-first-byte" in state["body"]  # and the app's screen reached xterm.js
    text = _screen_text(state["text"])
    assert OFFICE in text and "New post" in text
    assert shot.get("data")  # a screenshot was drawn (kept out of the repo)
