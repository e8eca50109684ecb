"""The Zalo token store: rotation persisted before use, one refresh at a time, crash safety.

Runs on SQLite and on PostgreSQL (the ``engine`` fixture), against the sandbox's real token
endpoint over HTTP.
"""

from __future__ import annotations

import asyncio
import os
import stat
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine
from sqlmodel import Session, select

from content.db import open_database
from content.models import Credential
from scheduler.channels import build_channel
from scheduler.channels.base import AuthError, TransientError
from scheduler.channels.credentials import (
    LEASE,
    CredentialKeyError,
    RefreshHooks,
    TokenStore,
    default_key_path,
    refresh_if_due,
)
from scheduler.channels.zalo_oauth import ZaloOAuthClient
from tests.channels.conftest import OA_ID, make_env
from tests.helpers import FakeClock

CHANNEL = "tinh-zalo"


class Crash(BaseException):
    """The process dying at a chosen point (BaseException: nothing catches it by accident)."""


@pytest.fixture
def key() -> bytes:
    return Fernet.generate_key()


@pytest.fixture
def sb(module_sandbox):
    module_sandbox.reset()
    return module_sandbox


def oauth(sb, transport: httpx.AsyncBaseTransport | None = None) -> ZaloOAuthClient:
    return ZaloOAuthClient(
        oauth_url=sb.zalo_oauth_url,
        app_id=sb.zalo_app_id,
        app_secret=sb.zalo_app_secret,
        channel=CHANNEL,
        transport=transport,
    )


def stored(engine: Engine, key: bytes) -> dict[str, object]:
    """The credential row as a fresh process would read it (decrypted)."""
    fernet = Fernet(key)
    with Session(engine) as session:
        row = session.exec(select(Credential).where(Credential.channel == CHANNEL)).one()
        return {
            "refresh": fernet.decrypt(row.refresh_token_enc.encode()).decode(),
            "access": fernet.decrypt(row.access_token_enc.encode()).decode()
            if row.access_token_enc
            else None,
            "previous": fernet.decrypt(row.previous_refresh_enc.encode()).decode()
            if row.previous_refresh_enc
            else None,
            "version": row.version,
            "access_expires_at": row.access_expires_at,
        }


def refresh_calls(sb) -> int:
    return sum(1 for r in sb.requests(limit=2000)["log"] if r["api"] == "zalo-oauth")


async def test_bootstrap_rotates_and_persists_before_use(sb, engine, key):
    first = sb.refresh_token(OA_ID)
    seen_in_db: list[dict[str, object]] = []
    hooks = RefreshHooks(after_call=lambda: seen_in_db.append(stored(engine, key)))
    store = TokenStore(engine, key=key, hooks=hooks)
    client = oauth(sb)
    token = await store.access_token(CHANNEL, client.refresh, bootstrap=lambda: first)
    live = sb.tokens()["zalo"]["oas"][OA_ID]
    # Before the new access token was handed out, the database already held the new pair.
    [row] = seen_in_db
    assert row["refresh"] == live["refresh_token"] != first
    assert row["access"] == token.value == live["access_token"]
    assert row["previous"] == first
    assert row["version"] == 2
    left = token.expires_at - datetime.now(UTC)
    assert timedelta(hours=24, minutes=59) < left <= timedelta(hours=25)
    # Tokens are encrypted at rest.
    with Session(engine) as session:
        raw = session.exec(select(Credential)).one()
    assert live["refresh_token"] not in raw.refresh_token_enc
    assert live["access_token"] not in (raw.access_token_enc or "")
    # Not due: no second refresh.
    again = await store.access_token(CHANNEL, client.refresh)
    assert again == token and refresh_calls(sb) == 1
    await client.aclose()


async def test_crash_right_after_the_refresh_call_loses_nothing(sb, engine, key):
    store = TokenStore(engine, key=key, hooks=RefreshHooks(after_call=_crash))
    client = oauth(sb)
    with pytest.raises(Crash):
        await store.access_token(CHANNEL, client.refresh, bootstrap=lambda: sb.refresh_token())
    await client.aclose()
    # A new process: new engine, new store, new client.
    reopened = open_database(engine.url.render_as_string(hide_password=False))
    store2 = TokenStore(reopened, key=key)
    client2 = oauth(sb)
    token = await store2.access_token(CHANNEL, client2.refresh)
    assert token.value == sb.tokens()["zalo"]["oas"][OA_ID]["access_token"]
    assert refresh_calls(sb) == 1  # the crashed call's answer was kept
    # And the stored refresh token is the live one: the next rotation works too.
    rotated = await store2.refresh(CHANNEL, client2.refresh, force=True)
    assert rotated.value != token.value
    await client2.aclose()
    reopened.dispose()


class SentTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, which also says when a request has wholly gone out."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.sent = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async def trace(event: str, info: dict[str, object]) -> None:
            if event == "http11.send_request_body.complete":
                self.sent.set()

        request.extensions["trace"] = trace  # httpcore reports each step of the exchange
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_cancelled_mid_call_still_saves_the_answer(sb, engine, key):
    sb.set_faults(OA_ID, latency_ms=400)  # Zalo answers 400 ms after the request arrives
    saved = asyncio.Event()
    store = TokenStore(engine, key=key, hooks=RefreshHooks(after_call=saved.set))
    wire = SentTransport()
    client = oauth(sb, transport=wire)
    first = sb.refresh_token()
    task = asyncio.create_task(store.access_token(CHANNEL, client.refresh, bootstrap=lambda: first))
    await asyncio.wait_for(wire.sent.wait(), timeout=10)  # at Zalo, which has not answered
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The shielded exchange finishes on its own and commits the answer.
    await asyncio.wait_for(saved.wait(), timeout=10)
    assert store.current(CHANNEL) is not None
    assert stored(engine, key)["refresh"] == sb.tokens()["zalo"]["oas"][OA_ID]["refresh_token"]
    await client.aclose()


async def test_crash_before_the_call_is_taken_over_after_the_lease(sb, engine, key):
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    clock = FakeClock(start)
    store = TokenStore(engine, key=key, clock=clock, hooks=RefreshHooks(before_call=_crash))
    client = oauth(sb)
    with pytest.raises(Crash):
        await store.access_token(CHANNEL, client.refresh, bootstrap=lambda: sb.refresh_token())
    assert stored(engine, key)["version"] == 1  # lease left behind

    async def sleep(seconds: float) -> None:
        clock.advance(seconds=seconds)

    store2 = TokenStore(engine, key=key, clock=clock, sleep=sleep)
    token = await store2.access_token(CHANNEL, client.refresh)
    # It waited for the lease to run out, then used the untouched old refresh token.
    assert clock() - start >= LEASE
    assert token.value == sb.tokens()["zalo"]["oas"][OA_ID]["access_token"]
    assert stored(engine, key)["version"] == 4
    await client.aclose()


async def test_takeover_that_fails_gives_the_lease_back(sb, engine, key):
    """A daemon killed mid-refresh, then the taker-over meets a 502: the OA must not stay
    locked for another lease (every call to it would wait 90 s, again and again)."""
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    clock = FakeClock(start)
    store = TokenStore(engine, key=key, clock=clock, hooks=RefreshHooks(before_call=_crash))
    client = oauth(sb)
    with pytest.raises(Crash):
        await store.access_token(CHANNEL, client.refresh, bootstrap=lambda: sb.refresh_token())
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds=seconds)

    store2 = TokenStore(engine, key=key, clock=clock, sleep=sleep)
    sb.set_faults(OA_ID, error_rate=1.0)
    with pytest.raises(TransientError):
        await store2.access_token(CHANNEL, client.refresh)
    assert stored(engine, key)["version"] % 2 == 0  # no lease held any more
    waited = sum(slept)
    sb.clear_faults(OA_ID)
    token = await store2.access_token(CHANNEL, client.refresh)
    assert sum(slept) == waited  # the next try did not wait for a lease
    assert token.value == sb.tokens()["zalo"]["oas"][OA_ID]["access_token"]
    await client.aclose()


async def test_interrupted_refresh_whose_token_was_spent_asks_for_reconsent(sb, engine, key):
    clock = FakeClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))

    def reach_zalo_then_die() -> None:
        sb.zalo_access_token(OA_ID)  # Zalo rotates the pair; the answer never gets home
        raise Crash()

    store = TokenStore(
        engine, key=key, clock=clock, hooks=RefreshHooks(before_call=reach_zalo_then_die)
    )
    client = oauth(sb)
    with pytest.raises(Crash):
        await store.access_token(CHANNEL, client.refresh, bootstrap=lambda: sb.refresh_token())
    clock.advance(seconds=LEASE.total_seconds() + 1)
    store2 = TokenStore(engine, key=key, clock=clock)
    with pytest.raises(AuthError) as caught:
        await store2.access_token(CHANNEL, client.refresh)
    assert "interrupted" in caught.value.message and "re-consent" in caught.value.message
    await client.aclose()


async def test_one_refresh_at_a_time_across_processes(sb, engine, key):
    sb.set_faults(OA_ID, latency_ms=150)
    url = engine.url.render_as_string(hide_password=False)
    engines = [open_database(url) for _ in range(3)]
    stores = [TokenStore(e, key=key) for e in engines]
    clients = [oauth(sb) for _ in stores]
    first = sb.refresh_token()
    tokens = await asyncio.gather(
        *(
            s.access_token(CHANNEL, c.refresh, bootstrap=lambda: first)
            for s, c in zip(stores, clients, strict=True)
        )
    )
    assert len({t.value for t in tokens}) == 1
    assert refresh_calls(sb) == 1
    for c in clients:
        await c.aclose()
    for e in engines:
        e.dispose()


async def test_token_refused_elsewhere_is_replaced_without_a_second_refresh(sb, engine, key):
    client = oauth(sb)
    a, b = TokenStore(engine, key=key), TokenStore(engine, key=key)
    old = await a.access_token(CHANNEL, client.refresh, bootstrap=lambda: sb.refresh_token())
    new = await a.refresh(CHANNEL, client.refresh, force=True)
    # Process B still held the old token and Zalo said -220: it gets A's newer one.
    got = await b.access_token(CHANNEL, client.refresh, stale=old)
    assert got.value == new.value
    assert refresh_calls(sb) == 2
    await client.aclose()


async def test_refresh_if_due(sb, env, tmp_path, monkeypatch):
    clock = FakeClock(datetime.now(UTC))
    store = TokenStore(env.engine, clock=clock)
    assert await refresh_if_due(CHANNEL, env.config, engine=env.engine, store=store) is True
    assert await refresh_if_due(CHANNEL, env.config, engine=env.engine, store=store) is False
    clock.advance(hours=13, minutes=30)  # less than 12 h left of 25 h
    assert await refresh_if_due(CHANNEL, env.config, engine=env.engine, store=store) is True
    assert refresh_calls(env.sb) == 2
    with pytest.raises(Exception, match="not a Zalo"):
        await refresh_if_due("tinh-fb", env.config, engine=env.engine, store=store)


async def test_refresh_refused_without_interruption_asks_for_reconsent(sb, engine, key):
    client = oauth(sb)
    store = TokenStore(engine, key=key)
    await store.access_token(CHANNEL, client.refresh, bootstrap=lambda: sb.refresh_token())
    sb.zalo_access_token(OA_ID)  # someone else spent the stored refresh token
    with pytest.raises(AuthError, match="re-consent"):
        await store.refresh(CHANNEL, client.refresh, force=True)
    assert stored(engine, key)["version"] % 2 == 0  # lease released
    await client.aclose()


async def test_no_credential_and_no_bootstrap_says_what_to_do(sb, engine, key):
    client = oauth(sb)
    with pytest.raises(AuthError, match="refresh_token in channels.toml"):
        await TokenStore(engine, key=key).access_token(CHANNEL, client.refresh)
    await client.aclose()


def test_key_file_is_created_0600_next_to_the_sqlite_database(tmp_path, monkeypatch):
    monkeypatch.delenv("LOA_CREDENTIAL_KEY", raising=False)
    engine = open_database(f"sqlite:///{tmp_path / 'loa.db'}")
    path = default_key_path(engine)
    assert path == tmp_path / "loa-credential.key"
    TokenStore(engine)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_bytes()
    TokenStore(engine)
    assert path.read_bytes() == key  # reused, not replaced
    os.chmod(path, 0o644)
    with pytest.raises(Exception, match="chmod 600"):
        TokenStore(engine)
    engine.dispose()


async def test_wrong_key_is_refused_when_the_store_is_made(sb, engine, key):
    client = oauth(sb)
    await TokenStore(engine, key=key).access_token(
        CHANNEL, client.refresh, bootstrap=lambda: sb.refresh_token()
    )
    with pytest.raises(CredentialKeyError, match="fingerprint"):
        TokenStore(engine, key=Fernet.generate_key())
    await client.aclose()


async def test_zalo_client_recovers_after_crash_in_refresh(
    sb, media_server, tmp_path, monkeypatch, key
):
    """End to end: the OA client's first call refreshes, the 'process' dies right after the
    refresh call, a new process builds the client again and the OA still works."""
    env = make_env(sb, tmp_path, monkeypatch, media_server)
    crashing = TokenStore(env.engine, key=key, hooks=RefreshHooks(after_call=_crash))
    oa = build_channel(CHANNEL, env.config, engine=env.engine, tokens=crashing)
    with pytest.raises(Crash):
        await oa.health()
    await oa.aclose()
    reopened = open_database(env.engine.url.render_as_string(hide_password=False))
    oa2 = build_channel(CHANNEL, env.config, engine=reopened, tokens=TokenStore(reopened, key=key))
    assert (await oa2.health()).ok
    await oa2.aclose()
    reopened.dispose()
    env.engine.dispose()


def _crash() -> None:
    raise Crash()
