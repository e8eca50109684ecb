"""`loa web` in a real browser: headless Chromium driven over the DevTools protocol.

Signs in through the page, checks that Vietnamese is drawn with the bundled font (the web face
once drew "Số" as "Sô´": the page asked an outside host for its font, and the fallback font has
no precomposed ả, ố, ề...), uploads a photo, composes a post with it and has a second account
approve it in a second browser context. Skipped only when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import http.server
import json
import re
import subprocess
import threading
import time
import unicodedata
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from content.db import open_database
from content.models import Post
from content.times import utcnow
from tests.tui.test_web_server import PASSWORD, png, screen_text, serve

aiohttp = pytest.importorskip("aiohttp", reason="textual-serve (and aiohttp) not installed")

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
    ),
    pytest.mark.slow,  # a browser and `loa web` per test: several seconds to a minute each
]

#: Recorded in each page before its own scripts run: what the app sends over the websocket.
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
KEYS = {
    "tab": ("Tab", 9, ""),
    "enter": ("Enter", 13, "\r"),
    "down": ("ArrowDown", 40, ""),
    "space": (" ", 32, " "),
}


class DevToolsError(AssertionError):
    """A DevTools command the browser refused."""

    #: What Chromium answers when the page it evaluated in was replaced by the next one.
    NAVIGATED = ("navigated or closed", "context was destroyed", "Cannot find context")

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        super().__init__(f"{method}: {error}")
        message = str(error.get("message", ""))
        self.page_changed = any(m in message for m in self.NAVIGATED)


class Page:
    """One browser tab (in its own browser context: its own cookies)."""

    def __init__(self, browser: Browser, session_id: str) -> None:
        self.browser = browser
        self.session_id = session_id

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """A DevTools command in this tab."""
        return await self.browser.call(method, session_id=self.session_id, **params)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises awaited)."""
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, what: str, timeout: float = 40) -> Any:
        """Poll ``expression`` until it is truthy (fails the test after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = await self.evaluate(expression)
            except DevToolsError as exc:
                # A form's submission loads the next page while the poll runs: ask again
                # in the new page.
                if not exc.page_changed:
                    raise
                value = None
            if value:
                return value
            await asyncio.sleep(0.2)
        shot = self.browser.tmp / f"timeout-{int(time.time() * 1000)}.png"
        await self.screenshot(shot)
        pytest.fail(f"timed out waiting for {what} (screenshot {shot})")

    async def screen(self) -> str:
        """What the app has sent to this tab, without escape sequences."""
        return screen_text(await self.evaluate("window.__loaText || ''") or "")

    async def wait_screen(self, text: str, timeout: float = 40) -> None:
        """Wait until ``text`` has been drawn in the terminal."""
        await self.wait_for(
            f"(window.__loaText || '').replace(/\\x1b\\[[0-9;?]*[ -\\/]*[@-~]/g, '')"
            f".includes({json.dumps(text)})",
            f"{text!r} on the screen",
            timeout,
        )

    async def settle(self, quiet: float = 0.3, timeout: float = 10) -> None:
        """Wait until the app has drawn nothing new for ``quiet`` seconds.

        Textual moves focus when a Tab has bubbled up to the screen, after the keys already
        queued at the old field: text typed at once after a Tab would land in the old field.
        """
        deadline = time.monotonic() + timeout
        size, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            now_size = await self.evaluate("(window.__loaText || '').length")
            if now_size != size:
                size, since = now_size, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            await asyncio.sleep(0.05)

    async def navigate(self, url: str) -> None:
        """Open ``url`` in this tab."""
        await self.call("Page.navigate", url=url)

    async def sign_in(self, url: str, name: str) -> None:
        """Open the server, land on the sign-in page, sign in and wait for the terminal."""
        await self.navigate(url + "/")
        await self.wait_for(
            "location.pathname === '/sign-in' && document.readyState === 'complete'",
            "the sign-in page",
        )
        await self.evaluate(
            f"document.getElementById('name').value = {json.dumps(name)};"
            f"document.getElementById('password').value = {json.dumps(PASSWORD)};"
            "document.getElementById('sign-in').click(); true"
        )
        await self.wait_for(
            "document.body.classList.contains('-first-byte')", "the terminal's first bytes"
        )

    async def focus_terminal(self) -> None:
        """Give xterm.js the keyboard."""
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus(); true")

    async def press(self, *keys: str) -> None:
        """Type keys: single characters, names of KEYS, or ``ctrl+x``."""
        for key in keys:
            modifiers = 0
            if key.startswith("ctrl+"):
                modifiers, key = 2, key[5:]
            if key in KEYS:
                name, code, text = KEYS[key]
            else:
                # Virtual key codes only for letters and digits: 46 is Delete, not ".".
                code = ord(key.upper()) if key.isascii() and key.isalnum() else 0
                name, text = key, key
            down: dict[str, Any] = {
                "type": "keyDown" if text and not modifiers else "rawKeyDown",
                "key": name,
                "windowsVirtualKeyCode": code,
                "modifiers": modifiers,
            }
            if text and not modifiers:
                down["text"] = text
            await self.call("Input.dispatchKeyEvent", **down)
            await self.call(
                "Input.dispatchKeyEvent",
                type="keyUp",
                key=name,
                windowsVirtualKeyCode=code,
                modifiers=modifiers,
            )

    async def tab(self, times: int = 1) -> None:
        """Move the focus on by ``times`` fields, letting each move land."""
        for _ in range(times):
            await self.press("tab")
            await self.settle()

    async def type(self, text: str) -> None:
        """Type ``text`` character by character."""
        await self.press(*text)

    async def screenshot(self, path: Path) -> Path:
        """Save a PNG of the tab."""
        shot = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class Browser:
    """Headless Chromium and its DevTools connection (flattened target sessions)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._ids = count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

    async def start(self) -> None:
        """Launch Chromium and connect to its browser target."""
        self.process = subprocess.Popen(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={self.tmp / 'profile'}",
                "--window-size=1280,800",
                # DNS rebinding as an attacker sets it up: his name answers with our address.
                "--host-resolver-rules=MAP evil.example 127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        devtools = None
        deadline = time.monotonic() + 30
        while devtools is None and time.monotonic() < deadline:
            line = await asyncio.to_thread(self.process.stderr.readline)
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                devtools = found.group(1)
            elif not line and self.process.poll() is not None:
                break
        assert devtools, "chromium did not open its DevTools port"
        self.http = aiohttp.ClientSession()
        self.socket = await self.http.ws_connect(devtools, max_msg_size=0)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.socket:
            reply = json.loads(message.data)
            waiter = self._waiting.pop(reply.get("id", -1), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(reply)

    async def call(self, method: str, session_id: str | None = None, **params: Any) -> dict:
        """A DevTools command (of the browser, or of a tab's session)."""
        number = next(self._ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session_id:
            message["sessionId"] = session_id
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[number] = waiter
        await self.socket.send_str(json.dumps(message))
        reply = await asyncio.wait_for(waiter, 30)
        if "error" in reply:
            raise DevToolsError(method, reply["error"])
        return reply.get("result", {})

    async def new_page(self) -> Page:
        """A tab in a fresh browser context (a separate cookie jar, as another PC)."""
        context = await self.call("Target.createBrowserContext")
        target = await self.call(
            "Target.createTarget", url="about:blank", browserContextId=context["browserContextId"]
        )
        attached = await self.call(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        page = Page(self, attached["sessionId"])
        await page.call("Page.enable")
        await page.call("Runtime.enable")
        await page.call("Page.addScriptToEvaluateOnNewDocument", source=HOOK)
        return page

    async def close(self) -> None:
        """Stop Chromium."""
        self._reader.cancel()
        await self.socket.close()
        await self.http.close()
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    """A headless Chromium, stopped after the test."""
    running = Browser(tmp_path)
    await running.start()
    try:
        yield running
    finally:
        await running.close()


#: Which fonts draw a piece of text in the terminal's font family, as the canvas draws it.
PROBE = """(() => {
  const probe = document.createElement('span');
  probe.id = 'font-probe';
  probe.style.fontFamily = "'Roboto Mono', Monaco, 'Courier New', monospace";
  probe.style.fontSize = '16px';
  probe.textContent = %s;
  document.body.appendChild(probe);
  return true;
})()"""
VIETNAMESE = "Số bản Cảnh tỉnh kiếm đề ữ ặ ẫ ỹ Đ"


async def test_sign_in_and_vietnamese_is_drawn_with_the_bundled_font(
    browser: Browser, tmp_path: Path
):
    with serve(tmp_path, "--lang", "vi") as served:
        page = await browser.new_page()
        await page.sign_in(served.url, "lan")
        await page.wait_screen("Bài mới")  # the queue's Footer, in Vietnamese
        text = await page.screen()
        # The app sends composed (NFC) text: "Số" is S + U+1ED1, not o + two marks.
        assert "Số" in text and "người dùng: lan" in text
        assert unicodedata.normalize("NFC", text) == text
        # The terminal started only once the bundled font was loaded, and it has every letter.
        assert await page.evaluate("document.documentElement.dataset.loaFont") == "loaded"
        assert await page.evaluate(f"document.fonts.check('16px \"Roboto Mono\"', '{VIETNAMESE}')")
        await page.evaluate(PROBE % json.dumps(VIETNAMESE))
        document = await page.call("DOM.getDocument")
        node = await page.call(
            "DOM.querySelector", nodeId=document["root"]["nodeId"], selector="#font-probe"
        )
        await page.call("CSS.enable")
        # The probe is drawn at the next layout: on a busy machine the first ask can come
        # before it and find no fonts at all, so ask until the layout has happened.
        fonts: list[dict[str, Any]] = []
        for _ in range(50):
            await page.evaluate("new Promise(r => requestAnimationFrame(() => r(true)))")
            found = await page.call("CSS.getPlatformFontsForNode", nodeId=node["nodeId"])
            fonts = found["fonts"]
            if fonts:
                break
        # Broken, this was DejaVu Sans Mono drawing more glyphs than letters (base + mark).
        assert [(f["familyName"], f["isCustomFont"]) for f in fonts] == [("Roboto Mono", True)]
        assert fonts[0]["glyphCount"] == len(VIETNAMESE)
        await page.screenshot(tmp_path / "web-vi.png")


async def test_compose_with_an_uploaded_photo_and_approve_in_a_second_browser(
    browser: Browser, tmp_path: Path
):
    photo = tmp_path / "canh-bao.png"
    photo.write_bytes(png())
    with serve(tmp_path, "--lang", "en") as served:
        author = await browser.new_page()
        await author.sign_in(served.url, "lan")
        await author.wait_screen("New post")
        # The upload bar above the terminal: a real file input, posted in the background.
        document = await author.call("DOM.getDocument")
        node = await author.call(
            "DOM.querySelector", nodeId=document["root"]["nodeId"], selector="#photo"
        )
        await author.call("DOM.setFileInputFiles", files=[str(photo)], nodeId=node["nodeId"])
        await author.evaluate("document.getElementById('upload-button').click(); true")
        status = await author.wait_for(
            "(t => t.includes('canh-bao.png') && t)"
            "(document.getElementById('upload-status').textContent)",
            "the upload",
        )
        stored = re.search(r"Uploaded (\S+-canh-bao\.png)", status)
        assert stored, status
        # Compose: title, text, the uploaded photo from the list, a channel, a time; submit.
        await author.focus_terminal()
        await author.press("n")
        await author.wait_screen("Title (Zalo needs one)")
        await author.type("Canh bao lua dao")
        await author.wait_screen("Canh bao lua dao")
        await author.tab()
        await author.type("Khong chuyen tien cho nguoi la.")
        await author.wait_screen("Khong chuyen tien cho nguoi la.")
        await author.tab(4)  # the variant button, the link, the images, then their list
        await author.press("enter")
        await author.settle()
        await author.press("down", "enter")
        await author.wait_screen(f"✓ {stored.group(1)}: PNG 640×480")
        await author.tab(3)  # past the preview and the side tabs to the channels: tinh-fb first
        await author.press("space")
        await author.settle()
        await author.tab()  # the time
        when = (utcnow() + timedelta(days=2)).astimezone().strftime("%d/%m/%Y 09:00")
        await author.type(when)
        await author.wait_screen(when)
        await author.press("ctrl+r")
        await author.wait_screen("sent for review")
        await author.screenshot(tmp_path / "author.png")

        approver = await browser.new_page()  # another browser context: another person
        await approver.sign_in(served.url, "minh")
        await approver.wait_screen("user: minh")
        await approver.focus_terminal()
        await approver.press("v")
        await approver.wait_screen("Khong chuyen tien cho nguoi la.")  # the preview
        await approver.settle()
        await approver.press("a")
        await approver.wait_screen("approved")
        await approver.screenshot(tmp_path / "approver.png")
        engine = open_database(served.db_url)
        try:
            with Session(engine) as session:
                posts = session.exec(select(Post)).all()
        finally:
            engine.dispose()
    assert [(p.title, p.author, p.approved_by, len(p.image_ids)) for p in posts] == [
        ("Canh bao lua dao", "lan", "minh", 1)
    ]
    assert posts[0].state == "scheduled"


async def test_a_wrong_password_is_throttled_in_the_browser(browser: Browser, tmp_path: Path):
    with serve(tmp_path, "--lang", "vi") as served:
        page = await browser.new_page()
        await page.navigate(served.url + "/sign-in")
        for attempt in range(6):
            await page.wait_for("document.readyState === 'complete'", "the sign-in page")
            await page.evaluate(
                "document.getElementById('name').value = 'minh';"
                "document.getElementById('password').value = 'sai mat khau';"
                "document.getElementById('sign-in').click(); true"
            )
            expected = "Đăng nhập sai quá nhiều lần" if attempt == 5 else "Sai tên người dùng"
            await page.wait_for(
                f"(document.getElementById('message') || {{}}).textContent"
                f"?.startsWith({json.dumps(expected)})",
                f"attempt {attempt + 1}: {expected}",
            )
            await page.evaluate("document.getElementById('message').remove(); true")


#: What another web site on this machine serves: a page that opens loa web's websocket.
ATTACK = """<!doctype html><title>other site</title><script>
window.__attack = new Promise((done) => {
  const ws = new WebSocket("ws://127.0.0.1:%d/ws");
  ws.onopen = () => done("open");
  ws.onmessage = () => done("screen");
  ws.onclose = (event) => done("closed " + event.code);
});
</script>"""


@contextlib.contextmanager
def other_site(port: int) -> Iterator[str]:
    """A plain web site on another port of this machine (same site, other origin)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            body = (ATTACK % port).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


async def test_another_page_in_the_officers_browser_cannot_open_the_terminal(
    browser: Browser, tmp_path: Path
):
    with serve(tmp_path, "--lang", "vi") as served, other_site(served.port) as attacker:
        page = await browser.new_page()
        await page.sign_in(served.url, "lan")
        await page.wait_screen("Bài mới")
        # The officer, still signed in, opens another page on this machine. Ports do not
        # count for SameSite, so his session cookie goes with its websocket: only the
        # Origin check stands between that page and his queue.
        await page.navigate(attacker)
        outcome = await page.wait_for("window.__attack", "the other page's websocket")
        assert outcome.startswith("closed"), outcome
        assert await page.evaluate("window.__loaText") == ""
        # A name rebound to this machine (DNS rebinding) is refused too.
        await page.navigate(f"http://evil.example:{served.port}/")
        status = await page.wait_for(
            "document.readyState === 'complete' && "
            "performance.getEntriesByType('navigation')[0].responseStatus",
            "the rebound page",
        )
        assert status == 403
        assert "Bài mới" not in (await page.evaluate("document.body.innerText") or "")
