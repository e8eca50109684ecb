"""The Facebook client against an app that requires appsecret_proof, tokens with missing
permissions, and the Graph version calendar: what Loa sends and what `loa doctor` says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from content.db import session_scope
from content.models import Alert
from content.queue import fingerprint
from scheduler.alerts import NOTICE_KIND, note_channel_notices
from scheduler.channels import build_channel, channel_notices
from scheduler.channels.base import AuthError, OutgoingPost, Published
from scheduler.channels.facebook import FacebookPage, appsecret_proof
from scheduler.channels.graph_versions import notice
from scheduler.config import DEFAULT_GRAPH_VERSION
from scheduler.doctor import check_channel
from tests.channels.conftest import PAGE_ID, make_env

APP_SECRET_LINE = 'app_secret = { env = "LOA_TEST_FB_APP_SECRET" }'


def post(text: str, **kw: object) -> OutgoingPost:
    return OutgoingPost(
        delivery_id=1, channel="tinh-fb", text=text, fingerprint=fingerprint(text), **kw
    )  # type: ignore[arg-type]


@pytest.fixture
def proof_env(module_sandbox, media_server, tmp_path, monkeypatch):
    """The module sandbox with "Require App Secret" on, and a config referencing the secret."""
    module_sandbox.reset()
    monkeypatch.setenv("LOA_TEST_FB_APP_SECRET", module_sandbox.graph_app_secret)
    env = make_env(
        module_sandbox, tmp_path, monkeypatch, media_server, facebook_extra=APP_SECRET_LINE
    )
    module_sandbox.require_appsecret_proof()
    yield env
    env.engine.dispose()


def test_the_proof_is_hmac_sha256_of_the_token_keyed_by_the_secret():
    # The example from Meta's "Securing requests" docs shape: hex, 64 characters.
    value = appsecret_proof("EAAtoken", "secret")
    assert len(value) == 64 and int(value, 16) >= 0
    assert value == appsecret_proof("EAAtoken", "secret") != appsecret_proof("EAAtoken", "other")


async def test_loa_passes_an_app_that_requires_the_proof(proof_env):
    sb = proof_env.sb
    page = build_channel("tinh-fb", proof_env.config, engine=proof_env.engine)
    try:
        published = await page.publish(post("Cảnh giác với tin nhắn giả mạo ngân hàng"))
        assert isinstance(published, Published) and published.permalink
        assert await page.find(post("Cảnh giác với tin nhắn giả mạo ngân hàng"))
        figures = await page.fetch_metrics([published.remote_id])
        assert "reactions" in figures[published.remote_id]
        health = await page.health()
        assert health.ok, health.checks
    finally:
        await page.aclose()
    summary = sb.requests()["summary"]
    assert not any(str(code) == "100" for code in summary.get("error", {})), summary
    # The proof never lands in the stored payload (it is a credential, not content).
    [stored] = sb.posts(PAGE_ID)
    assert "appsecret_proof" not in stored["payload"]


async def test_without_the_secret_every_call_is_refused(module_sandbox, env):
    module_sandbox.require_appsecret_proof()
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    try:
        with pytest.raises(AuthError) as caught:
            await page.publish(post("Không có appsecret_proof"))
        # The channel pauses (a configuration matter), the post is not failed as bad content.
        assert "reference the app's secret as app_secret" in caught.value.message
        assert module_sandbox.posts(PAGE_ID) == []
        check = await check_channel("tinh-fb", page)
    finally:
        await page.aclose()
    assert not check.ok and "appsecret_proof" in check.line()


async def test_doctor_names_the_missing_permission_and_how_to_grant_it(env):
    env.sb.set_page_grant(PAGE_ID, scopes=["pages_show_list", "pages_read_engagement"])
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    try:
        check = await check_channel("tinh-fb", page)
        with pytest.raises(AuthError) as refused:
            await page.publish(post("Bài không đăng được"))
    finally:
        await page.aclose()
    line = check.line()
    assert line.startswith("FAIL")
    assert "the Page token lacks pages_manage_posts, read_insights" in line
    assert "Loa cannot publish" in line
    assert "-> have a Page admin connect the app again granting pages_manage_posts" in line
    assert "renew the token" not in line
    assert refused.value.code == "200"


async def test_doctor_says_a_user_token_is_not_a_page_token(env, monkeypatch):
    monkeypatch.setenv("LOA_TEST_FB_TOKEN", env.sb.user_token)
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    try:
        check = await check_channel("tinh-fb", page)
    finally:
        await page.aclose()
    assert not check.ok and "USER token, not a Page token" in check.line()
    assert "/me/accounts" in check.line()


async def test_doctor_reads_the_expiry_and_an_expired_token_is_renewed(env):
    now = env.sb.now()
    env.sb.set_page_grant(PAGE_ID, expires_at=now + 3 * 86400)
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    try:
        soon = await check_channel("tinh-fb", page)
        env.sb.advance_clock(4 * 86400)
        gone = await check_channel("tinh-fb", page)
    finally:
        await page.aclose()
    assert soon.ok and soon.warning and "Page token expires" in soon.line()
    assert not gone.ok and "put a new Page token" in gone.line()


async def test_an_unreachable_graph_is_not_a_token_to_renew(env, tmp_path, monkeypatch):
    # Nothing listens on port 9 of the loopback: a plain connection failure.
    from tests.channels.conftest import write_config

    class Closed:
        graph_url = "http://127.0.0.1:9/graph"
        zalo_url = "http://127.0.0.1:9/zalo"
        zalo_oauth_url = "http://127.0.0.1:9/zalo-oauth"
        zalo_app_id = env.sb.zalo_app_id

    from scheduler.config import load

    path = write_config(
        tmp_path / "closed.toml", Closed(), media_url=env.media_url, media_dir=env.media_dir
    )
    page = build_channel("tinh-fb", load(path), engine=env.engine)
    try:
        check = await check_channel("tinh-fb", page)
    finally:
        await page.aclose()
    assert not check.ok
    assert "renew" not in check.line() and "network" in check.line()


async def test_doctor_warns_60_days_before_the_graph_version_ends(env):
    # The sandbox clock is real time (2026-11-30 or later); v21.0 ends 2027-01-21.
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    assert isinstance(page, FacebookPage)
    try:
        check = await check_channel("tinh-fb", page)
    finally:
        await page.aclose()
    if notice("v21.0", datetime.now(UTC).date()) is None:
        pytest.skip("v21.0 is more than 60 days from its end date on this machine's clock")
    assert check.ok and check.warning
    assert "Graph API v21.0 ends on 2027-01-21" in check.line()
    assert f'set graph_version = "{DEFAULT_GRAPH_VERSION}"' in check.line()


async def test_the_newest_version_gives_no_warning(module_sandbox, media_server, tmp_path, mp):
    module_sandbox.reset()
    env = make_env(module_sandbox, tmp_path, mp, media_server, graph_version="v26.0")
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    try:
        check = await check_channel("tinh-fb", page)
    finally:
        await page.aclose()
        env.engine.dispose()
    assert check.ok and not check.warning, check.line()


async def test_an_unknown_graph_version_pauses_the_channel(
    module_sandbox, media_server, tmp_path, mp
):
    module_sandbox.reset()
    env = make_env(module_sandbox, tmp_path, mp, media_server, graph_version="v99.0")
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    try:
        with pytest.raises(AuthError) as caught:
            await page.publish(post("Phiên bản không tồn tại"))
    finally:
        await page.aclose()
        env.engine.dispose()
    assert caught.value.code == "2500" and "graph_version" in caught.value.message


def test_the_alert_digest_hears_of_the_version_once(env):
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    [found] = channel_notices(env.config, now.date())
    assert found.channel == "tinh-fb" and "2027-01-21" in found.message
    assert note_channel_notices(env.engine, env.config, now) == 1
    assert note_channel_notices(env.engine, env.config, now) == 0
    with session_scope(env.engine) as session:
        [alert] = session.exec(select(Alert).where(Alert.kind == NOTICE_KIND)).all()
        assert alert.channel == "tinh-fb" and "graph_version" in (alert.advice or "")
    assert note_channel_notices(env.engine, env.config, datetime(2026, 9, 1, tzinfo=UTC)) == 0


@pytest.fixture
def mp(monkeypatch):
    return monkeypatch
