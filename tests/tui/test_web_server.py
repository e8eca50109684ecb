"""`loa web` over plain HTTP: sign-in, cookies, Host and Origin checks, throttling, uploads.

The server runs as a real subprocess on a free port with a fresh SQLite database whose
accounts are made through the library (content.accounts). The helpers here are shared with
the browser tests (test_web_browser.py) and test_tui_web.py.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from content.accounts import Accounts, sign_in, unenforced
from content.db import open_database
from content.models import Role
from content.times import utcnow
from scheduler.config import load
from scheduler.web import guard, pages, uploads

aiohttp = pytest.importorskip("aiohttp", reason="textual-serve (and aiohttp) not installed")

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "channels.toml"
OFFICE = "Công an tỉnh Demo"  # the office in the repository's channels.toml
PASSWORD = "mat-khau-dai-2026"
#: `loa web` alone (the other commands may be mid-change in a shared checkout).
RUNNER = (
    "import sys\n"
    "from content.errors import LoaError\n"
    "from scheduler.cli import web\n"
    "from scheduler.cli.common import CommandParser, common_options\n"
    "parser = CommandParser(prog='loa')\n"
    "common_options(parser, defaults=True)\n"
    "web.register(parser.add_subparsers())\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "try:\n"
    "    sys.exit(args.handler(args))\n"
    "except LoaError as exc:\n"
    "    print(f'loa: error: {exc}', file=sys.stderr)\n"
    "    sys.exit(2)\n"
)
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


def screen_text(raw: str) -> str:
    """The terminal stream without its escape sequences (words may be split by moves)."""
    return ANSI.sub("", raw)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_accounts(db_url: str, *, passwords: bool = True) -> None:
    """quan (admin), lan (author) and minh (approver), each with PASSWORD."""
    engine = open_database(db_url)
    try:
        accounts = Accounts(engine, load(CONFIG).directory(), by=unenforced("setup"))
        for name, role in (("quan", Role.ADMIN), ("lan", Role.AUTHOR), ("minh", Role.APPROVER)):
            accounts.add(name, role)
            if passwords:
                accounts.set_password(name, PASSWORD)
    finally:
        engine.dispose()


@dataclass
class Served:
    """A running `loa web`."""

    url: str
    port: int
    db_url: str
    upload_dir: Path
    log: Path

    @property
    def origin(self) -> str:
        """The Origin a browser on the page sends."""
        return self.url


def web_command(db_url: str, port: int, upload_dir: Path, *extra: str) -> list[str]:
    """The `loa web` command line of the tests."""
    return [
        sys.executable,
        "-c",
        RUNNER,
        "web",
        "--db",
        db_url,
        "--config",
        str(CONFIG),
        "--port",
        str(port),
        "--upload-dir",
        str(upload_dir),
        *extra,
    ]


@contextlib.contextmanager
def serve(tmp_path: Path, *extra: str, accounts: bool = True) -> Iterator[Served]:
    """`loa web` on a free port with a fresh SQLite database (and accounts)."""
    db_url = f"sqlite:///{tmp_path / 'loa.db'}"
    if accounts:
        make_accounts(db_url)
    port = free_port()
    log_path = tmp_path / "web.log"
    log = log_path.open("w")
    env = {k: v for k, v in os.environ.items() if k not in ("LOA_LANG", "DATABASE_URL")}
    proc = subprocess.Popen(
        web_command(db_url, port, tmp_path / "uploads", *extra),
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its app processes share the group: stopped together
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(f"loa web did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
        yield Served(f"http://127.0.0.1:{port}", port, db_url, tmp_path / "uploads", log_path)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`loa web --lang en` with the three accounts."""
    with serve(tmp_path, "--lang", "en") as running:
        yield running


async def signed_in_session(served: Served, name: str = "lan") -> aiohttp.ClientSession:
    """An aiohttp session (cookie jar) signed in as ``name``; the caller closes it."""
    # unsafe=True: the jar keeps cookies of an IP-address host such as 127.0.0.1.
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.post(
        served.url + "/sign-in",
        data={"name": name, "password": PASSWORD},
        headers={"Origin": served.origin},
        allow_redirects=False,
    ) as response:
        assert response.status == 303, await response.text()
    return session


def png(width: int = 640, height: int = 480) -> bytes:
    """A small real PNG photo."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


# --- the command ---------------------------------------------------------------------------


def test_refuses_to_start_without_an_account_that_can_sign_in(tmp_path: Path):
    db_url = f"sqlite:///{tmp_path / 'loa.db'}"
    make_accounts(db_url, passwords=False)
    result = subprocess.run(
        web_command(db_url, free_port(), tmp_path / "uploads"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "loa users add NAME --role admin" in lines[0] and "loa users passwd NAME" in lines[0]


def test_refuses_as(tmp_path: Path):
    result = subprocess.run(
        [*web_command("x.db", free_port(), tmp_path), "--as", "lan"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "loa: error: loa web has no --as: each browser signs in with its own account"
    )


# --- Host and Origin rules (pure) ------------------------------------------------------------


def test_allowed_hosts_rules():
    rules = guard.allowed_hosts(
        "127.0.0.1", 8000, "https://loa.example.gov.vn/loa", ["intranet.local", "10.0.0.5:9000"]
    )
    assert guard.host_allowed("127.0.0.1:8000", rules)
    assert guard.host_allowed("localhost:8000", rules) and guard.host_allowed("[::1]:8000", rules)
    assert guard.host_allowed("loa.example.gov.vn", rules)  # behind the TLS proxy
    assert guard.host_allowed("LOA.example.gov.vn:443", rules)
    assert guard.host_allowed("intranet.local:1234", rules)  # no port given: any
    assert guard.host_allowed("10.0.0.5:9000", rules)
    assert not guard.host_allowed("10.0.0.5:9001", rules)
    assert not guard.host_allowed("localhost:8001", rules)
    assert not guard.host_allowed("evil.example:8000", rules)  # DNS rebinding
    assert not guard.host_allowed("loa.example.gov.vn:8443", rules)
    assert not guard.host_allowed("", rules) and not guard.host_allowed("a@b:8000", rules)
    assert guard.origin_allowed("https://loa.example.gov.vn", rules)
    assert guard.origin_allowed("http://localhost:8000", rules)
    assert not guard.origin_allowed("https://evil.example", rules)
    assert not guard.origin_allowed("null", rules) and not guard.origin_allowed(None, rules)
    public = guard.allowed_hosts("0.0.0.0", 8000, None, [])
    assert not guard.host_allowed("localhost:8000", public)


def test_throttle_grows_and_forgets():
    now = [1000.0]
    throttle = guard.Throttle(clock=lambda: now[0])
    for _ in range(guard.FREE_FAILURES_PER_NAME):
        assert throttle.wait("lan", "10.0.0.1") == 0
        throttle.failed("lan", "10.0.0.1")
    assert throttle.wait("lan", "10.0.0.9") == 30  # the name is blocked, from anywhere
    assert throttle.wait("minh", "10.0.0.1") == 0  # the address is not yet
    now[0] += 30
    throttle.failed("lan", "10.0.0.1")
    assert throttle.wait("lan", None) == 60
    for _ in range(20):
        now[0] += 1000
        throttle.failed("lan", None)
    assert throttle.wait("lan", None) == guard.MAX_DELAY
    throttle.succeeded("lan")
    assert throttle.wait("lan", None) == 0
    for i in range(guard.FREE_FAILURES_PER_ADDRESS - 1):
        throttle.failed(f"name{i}", "10.0.0.2")
    assert throttle.wait("someone-else", "10.0.0.2") == 0
    throttle.failed("one-more", "10.0.0.2")
    assert throttle.wait("someone-else", "10.0.0.2") == 30
    now[0] += guard.FORGET_AFTER + 1
    assert throttle.wait("someone-else", "10.0.0.2") == 0


def test_upload_store_is_private_and_checked(tmp_path: Path):
    directory = uploads.account_dir(tmp_path / "root", "lan")
    path, info = uploads.store(directory, "ảnh cảnh báo.png", png(), now=utcnow())
    assert info.startswith("PNG 640×480")
    assert path.name.endswith("-ảnh-cảnh-báo.png")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert uploads.listing(directory) == [path]
    assert uploads.account_dir(tmp_path / "root", "..").parent == tmp_path / "root"
    with pytest.raises(Exception) as refused:
        uploads.store(directory, "hoa-don.pdf", b"%PDF-1.4 not an image", now=utcnow())
    assert pages.media_error(refused.value, "vi") == (
        "hoa-don.pdf: không phải là ảnh đọc được (hãy dùng ảnh JPEG hoặc PNG)."
    )


# --- the running server ----------------------------------------------------------------------


@pytest.mark.slow
async def test_sign_in_cookie_and_sign_out(served: Served):
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(served.url + "/", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/sign-in"
        async with session.get(served.url + "/sign-in") as response:
            page = await response.text()
            assert response.status == 200 and 'name="password"' in page and OFFICE in page
        async with session.post(
            served.url + "/sign-in",
            data={"name": "Lan", "password": PASSWORD},  # names are case-folded
            headers={"Origin": served.origin},
            allow_redirects=False,
        ) as response:
            assert response.status == 303 and response.headers["Location"] == "/"
            cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("loa_session=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        async with session.get(served.url + "/") as response:
            page = await response.text()
            assert response.status == 200 and "User: lan" in page
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        async with session.post(
            served.url + "/sign-out", headers={"Origin": served.origin}, allow_redirects=False
        ) as response:
            assert response.status == 303
        async with session.get(served.url + "/", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/sign-in"


@pytest.mark.slow
async def test_a_wrong_password_is_refused_and_throttled(served: Served):
    async with aiohttp.ClientSession() as session:

        async def attempt(password: str) -> aiohttp.ClientResponse:
            async with session.post(
                served.url + "/sign-in",
                data={"name": "minh", "password": password},
                headers={"Origin": served.origin},
                allow_redirects=False,
            ) as response:
                await response.read()
                return response

        for _ in range(guard.FREE_FAILURES_PER_NAME):
            assert (await attempt("wrong password!")).status == 401
        throttled = await attempt(PASSWORD)  # even the right one waits now
        assert throttled.status == 429
        assert throttled.headers["Retry-After"] == str(int(guard.FIRST_DELAY))
    engine = open_database(served.db_url)
    try:
        from sqlmodel import Session, select

        from content.models import AuditEvent

        with Session(engine) as db:
            actions = [e.action for e in db.exec(select(AuditEvent)) if e.actor == "minh"]
    finally:
        engine.dispose()
    assert actions.count("sign_in_failed") == guard.FREE_FAILURES_PER_NAME


@pytest.mark.slow
async def test_an_idle_session_goes_back_to_sign_in(served: Served):
    engine = open_database(served.db_url)
    try:
        # Signed in 31 minutes ago and not used since: the library's clock is injected.
        token = sign_in(engine, "lan", PASSWORD, clock=lambda: utcnow() - timedelta(minutes=31))
    finally:
        engine.dispose()
    async with aiohttp.ClientSession(cookies={"loa_session": token}) as session:
        async with session.get(served.url + "/", allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/sign-in?expired=1"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(served.url + "/ws", headers={"Origin": served.origin})
        assert refused.value.status == 403


@pytest.mark.slow
async def test_foreign_host_and_origin_are_refused(served: Served):
    session = await signed_in_session(served)
    try:
        async with session.get(
            served.url + "/", headers={"Host": f"evil.example:{served.port}"}
        ) as response:
            assert response.status == 403
        async with session.get(
            served.url + "/", headers={"Origin": "http://evil.example"}
        ) as response:
            assert response.status == 403
        for origin in ({"Origin": "http://evil.example"}, {}):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(served.url + "/ws", headers=origin)
            assert refused.value.status == 403
        async with session.post(
            served.url + "/sign-out",
            headers={"Origin": "http://evil.example"},
            allow_redirects=False,
        ) as response:
            assert response.status == 403
        async with session.get(served.url + "/") as response:
            assert response.status == 200  # the forged sign-out did nothing
        # localhost reaches the same loopback server and is allowed.
        async with session.get(
            served.url + "/sign-in", headers={"Host": f"localhost:{served.port}"}
        ) as response:
            assert response.status in (200, 303)
    finally:
        await session.close()


@pytest.mark.slow
async def test_a_foreign_origin_cannot_sign_in(served: Served):
    async with aiohttp.ClientSession() as session:
        async with session.post(
            served.url + "/sign-in",
            data={"name": "lan", "password": PASSWORD},
            headers={"Origin": "http://evil.example"},
            allow_redirects=False,
        ) as response:
            assert response.status == 403
            assert "Set-Cookie" not in response.headers


@pytest.mark.slow
async def test_the_page_loads_nothing_from_outside(served: Served):
    session = await signed_in_session(served)
    try:
        async with session.get(served.url + "/") as response:
            page = await response.text()
        async with session.get(served.url + "/sign-in", allow_redirects=False) as response:
            sign_in_page = await response.text()
        fresh = aiohttp.ClientSession()
        async with fresh.get(served.url + "/sign-in") as response:
            sign_in_page = await response.text()
        await fresh.close()
        for html in (page, sign_in_page):
            # Every absolute URL in the page is this server (the WebSocket included).
            urls = re.findall(r"""(?:https?|wss?):?//[^\s"'<>)]+""", html)
            hosts = {re.sub(r"^\w+:?//", "", u).split("/")[0] for u in urls}
            assert hosts <= {f"127.0.0.1:{served.port}", "www.w3.org"}, hosts
            assert "@import" not in html
        assert "fonts.googleapis" not in page
        assert "/assets/fonts/RobotoMono.ttf" in page
        async with session.get(served.url + "/assets/fonts/RobotoMono.ttf") as response:
            assert response.status == 200 and len(await response.read()) > 100_000
    finally:
        await session.close()


@pytest.mark.slow
async def test_upload_checks_and_stores_privately(served: Served):
    session = await signed_in_session(served)
    try:

        async def upload(name: str, data: bytes, origin: str = served.origin) -> tuple[int, dict]:
            form = aiohttp.FormData()
            form.add_field("photo", data, filename=name, content_type="application/octet-stream")
            async with session.post(
                served.url + "/upload", data=form, headers={"Origin": origin}
            ) as response:
                if response.content_type != "application/json":
                    return response.status, {"text": await response.text()}
                return response.status, await response.json()

        status, reply = await upload("canh-bao.png", png())
        assert status == 200 and reply["ok"], reply
        stored = served.upload_dir / "lan" / reply["name"]
        assert stored.read_bytes() == png()
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
        status, reply = await upload("bao-cao.jpg", b"%PDF-1.7 a report, not a photo")
        assert status == 400 and not reply["ok"]
        assert reply["message"] == ("bao-cao.jpg: not a readable image (use a JPEG or PNG photo).")
        status, reply = await upload("x.png", png(), origin="http://evil.example")
        assert status == 403
        assert sorted(p.name for p in (served.upload_dir / "lan").iterdir()) == [stored.name]
    finally:
        await session.close()
    async with aiohttp.ClientSession() as anonymous:
        form = aiohttp.FormData()
        form.add_field("photo", png(), filename="a.png")
        async with anonymous.post(
            served.url + "/upload", data=form, headers={"Origin": served.origin}
        ) as response:
            assert response.status == 401
