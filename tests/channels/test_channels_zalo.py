"""Zalo OA client against the sandbox: article creation through the media store, the verify
and broadcast steps, errors, lookup and figures."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from content.queue import fingerprint
from sandbox.testing import running_sandbox
from scheduler.channels import build_channel
from scheduler.channels.base import (
    AuthError,
    ContentError,
    MediaBlob,
    OutgoingPost,
    Processing,
    Published,
    TransientError,
)
from scheduler.channels.zalo import BROADCAST_STEP, READ_TRIES, VERIFY_STEP, ZaloOA
from tests.channels.conftest import OA_ID, jpeg, make_env, utcnow
from tests.helpers import FakeClock

TEXT = "Đoạn thứ nhất: cảnh giác cuộc gọi lạ.\n\nĐoạn thứ hai: không chuyển tiền cho người lạ."


def article_post(**kw: object) -> OutgoingPost:
    values: dict[str, object] = {
        "delivery_id": 7,
        "channel": "tinh-zalo",
        "title": "Cảnh giác lừa đảo qua điện thoại",
        "text": TEXT,
        "fingerprint": fingerprint(TEXT),
        "first_attempt_at": utcnow(),
    }
    values.update(kw)
    return OutgoingPost(**values)  # type: ignore[arg-type]


async def drive(
    client: ZaloOA, post: OutgoingPost, *, max_steps: int = 6
) -> tuple[Published, list[Processing]]:
    """What the dispatcher does: call publish() again with each pending step."""
    steps: list[Processing] = []
    result = await client.publish(post)
    while isinstance(result, Processing):
        steps.append(result)
        assert len(steps) <= max_steps
        post = replace(post, pending_step=result.step, pending_ref=result.ref)
        result = await client.publish(post)
    return result, steps


@pytest.fixture
async def oa(env):
    client = build_channel("tinh-zalo", env.config, engine=env.engine)
    assert isinstance(client, ZaloOA)
    yield client
    await client.aclose()


def stored_file(env, url: str) -> bytes:
    assert url.startswith(env.media_url + "/")
    return (env.media_dir / url.rsplit("/", 1)[1]).read_bytes()


async def test_article_with_photos_is_created_verified_and_visible(env, oa):
    images = [
        MediaBlob("bia.jpg", "image/jpeg", jpeg(1200, 675, exif_gps=True)),
        MediaBlob("than.jpg", "image/jpeg", jpeg(800, 600, colour=(10, 90, 200))),
    ]
    post = article_post(images=images, link="https://congan.example.vn/tin/1")
    result, steps = await drive(oa, post)
    assert [s.step for s in steps] == [VERIFY_STEP, VERIFY_STEP]  # created, then -214 once
    assert steps[0].retry_after >= 3
    [job] = env.sb.articles(OA_ID)["jobs"]
    sent = job["payload"]["_received"]
    cover_url = sent["cover"]["photo_url"]
    body_url = sent["body"][3]["url"]
    assert sent == {
        "type": "normal",
        "title": "Cảnh giác lừa đảo qua điện thoại",
        "author": "Công an tỉnh Demo (Zalo OA)",
        "cover": {"cover_type": "photo", "photo_url": cover_url, "status": "show"},
        "description": " ".join(TEXT.split()),
        "body": [
            {"type": "text", "content": "Đoạn thứ nhất: cảnh giác cuộc gọi lạ."},
            {"type": "text", "content": "Đoạn thứ hai: không chuyển tiền cho người lạ."},
            {"type": "text", "content": "https://congan.example.vn/tin/1"},
            {"type": "image", "url": body_url},
        ],
        "status": "show",
        "comment": "show",
    }
    # Content-addressed files in the store, without the phone's EXIF block.
    cover = stored_file(env, cover_url)
    assert cover_url.endswith(hashlib.sha256(cover).hexdigest() + ".jpg")
    assert b"PhoneMaker" not in cover and b"Exif" not in cover[:200]
    [article] = env.sb.articles(OA_ID)["articles"]
    assert isinstance(result, Published)
    assert result.remote_id == article["id"]
    assert result.permalink == article["link"]
    assert article["status"] == "show"


async def test_infographic_cover_is_rendered_published_and_verified(env, oa):
    post = article_post(
        infographic={
            "template": "warning",
            "fields": {"title": "Cảnh báo lừa đảo", "body": "Không cung cấp mã OTP cho ai."},
        }
    )
    result, _ = await drive(oa, post)
    assert isinstance(result, Published)
    [article] = env.sb.articles(OA_ID)["articles"]
    data = stored_file(env, article["cover"]["photo_url"])
    assert len(data) < 1_000_000
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG" and img.size == (1200, 675)
    # The sandbox fetched the cover over HTTP from the media server and accepted it.
    [job] = env.sb.articles(OA_ID)["jobs"]
    assert job["outcome"] == "ok"


async def test_post_without_image_gets_a_default_cover(env, oa):
    result, _ = await drive(oa, article_post())
    assert isinstance(result, Published)
    [article] = env.sb.articles(OA_ID)["articles"]
    with Image.open(io.BytesIO(stored_file(env, article["cover"]["photo_url"]))) as img:
        assert img.size == (1200, 675)


async def test_oversized_image_is_reencoded_under_1_mb(env, oa):
    big = jpeg(3000, 2000, noise=True)
    assert len(big) > 2_000_000
    result, _ = await drive(oa, article_post(images=[MediaBlob("to.jpg", "image/jpeg", big)]))
    assert isinstance(result, Published)
    [article] = env.sb.articles(OA_ID)["articles"]
    assert len(stored_file(env, article["cover"]["photo_url"])) <= 1_000_000


async def test_long_text_is_cut_for_title_description_and_author(env, oa):
    long_text = "Nội dung rất dài. " * 60
    post = article_post(title="Tiêu đề " * 40, text=long_text)
    await oa.publish(post)
    [job] = env.sb.articles(OA_ID)["jobs"]
    sent = job["payload"]["_received"]
    assert len(sent["title"]) <= 149 and sent["title"].endswith("…")
    assert len(sent["description"]) <= 299


async def test_unreachable_cover_fails_at_verify_with_the_platform_message(
    module_sandbox, media_server, tmp_path, monkeypatch
):
    module_sandbox.reset()
    media_dir, _ = media_server
    # Nothing listens on port 9 of loopback: Zalo cannot fetch the cover.
    env = make_env(module_sandbox, tmp_path, monkeypatch, (media_dir, "http://127.0.0.1:9"))
    oa = build_channel("tinh-zalo", env.config, engine=env.engine)
    with pytest.raises(ContentError) as caught:
        await drive(oa, article_post())
    assert caught.value.code == "-200"
    assert "Upload media failed" in caught.value.message
    await oa.aclose()
    env.engine.dispose()


async def test_verify_wait_grows(env):
    clock = FakeClock(datetime.now(UTC))
    oa = build_channel("tinh-zalo", env.config, engine=env.engine, clock=clock)
    post = article_post(first_attempt_at=clock())
    created = await oa.publish(post)
    clock.advance(seconds=40)
    again = await oa.publish(replace(post, pending_step=created.step, pending_ref=created.ref))
    assert isinstance(again, Processing)
    assert again.retry_after > created.retry_after
    await oa.aclose()


async def test_broadcast_at_night_waits_until_six(media_server, tmp_path, monkeypatch):
    night = datetime(2026, 11, 23, 23, 0, tzinfo=UTC) - timedelta(hours=7)  # 23:00 in Vietnam
    with running_sandbox(seed=7, verify_pending_polls=0) as sb:
        sb.set_clock(night.timestamp())
        env = make_env(sb, tmp_path, monkeypatch, media_server, broadcast=True)
        clock = FakeClock(night)
        oa = build_channel("tinh-zalo", env.config, engine=env.engine, clock=clock)
        post = article_post(first_attempt_at=night)
        created = await oa.publish(post)
        verified = await oa.publish(
            replace(post, pending_step=created.step, pending_ref=created.ref)
        )
        assert isinstance(verified, Processing) and verified.step == BROADCAST_STEP
        [article] = sb.articles(OA_ID)["articles"]
        assert verified.ref == article["id"]
        pending = replace(post, pending_step=verified.step, pending_ref=verified.ref)
        with pytest.raises(TransientError) as caught:
            await oa.publish(pending)
        assert caught.value.code == "-234"
        assert caught.value.retry_after == pytest.approx(7 * 3600)
        sb.set_clock((night + timedelta(hours=7, minutes=1)).timestamp())
        clock.advance(hours=7, minutes=1)
        done = await oa.publish(pending)
        assert isinstance(done, Published) and done.remote_id == article["id"]
        [sent] = sb.broadcasts(OA_ID)["broadcasts"]
        assert sent["article_id"] == article["id"]
        elements = sent["payload"]["message"]["attachment"]["payload"]["elements"]
        assert elements == [{"media_type": "article", "attachment_id": article["id"]}]
        await oa.aclose()
        env.engine.dispose()


async def test_rate_limit_waits_for_the_next_minute(env):
    clock = FakeClock(datetime(2026, 11, 23, 3, 0, 30, tzinfo=UTC))
    oa = build_channel("tinh-zalo", env.config, engine=env.engine, clock=clock)
    await oa.health()  # token first, so the fault hits the publish
    env.sb.set_faults(OA_ID, script=["rate_limit"])
    with pytest.raises(TransientError) as caught:
        await oa.publish(article_post())
    assert caught.value.code == "-32"
    assert caught.value.retry_after == pytest.approx(31)
    await oa.aclose()


async def test_policy_rejection_is_a_content_error(env, oa):
    await oa.health()
    env.sb.set_faults(OA_ID, script=["reject"])
    with pytest.raises(ContentError) as caught:
        await oa.publish(article_post())
    assert caught.value.code == "-248"


async def test_gateway_error_on_create_is_uncertain(env, oa):
    await oa.health()
    env.sb.set_faults(OA_ID, script=["accept_then_error"], publish_only=True)
    with pytest.raises(TransientError) as caught:
        await oa.publish(article_post())
    assert caught.value.uncertain is True


async def test_gateway_error_on_a_read_is_certain(env, oa):
    await oa.health()
    # Every try of the read fails (one failed try is asked again at once).
    env.sb.set_faults(OA_ID, script=["error"] * READ_TRIES)
    with pytest.raises(TransientError) as caught:
        await oa.find(article_post())
    assert caught.value.uncertain is False


async def test_monthly_article_quota_waits_for_next_month(media_server, tmp_path, monkeypatch):
    from sandbox.config import OaIdentity, SandboxConfig, initial_refresh_token

    oas = (
        OaIdentity(
            OA_ID, "Công an tỉnh Demo", initial_refresh_token(7, OA_ID), monthly_article_quota=1
        ),
    )
    with running_sandbox(SandboxConfig(seed=7, oas=oas)) as sb:
        env = make_env(sb, tmp_path, monkeypatch, media_server)
        clock = FakeClock(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))
        oa = build_channel("tinh-zalo", env.config, engine=env.engine, clock=clock)
        await oa.publish(article_post())
        with pytest.raises(TransientError) as caught:
            await oa.publish(article_post(title="Bài thứ hai"))
        assert caught.value.code == "-223"
        # 1 December 00:05 in Vietnam.
        expected = datetime(2026, 11, 30, 17, 5, tzinfo=UTC) - clock()
        assert caught.value.retry_after == pytest.approx(expected.total_seconds())
        await oa.aclose()
        env.engine.dispose()


async def test_find_matches_title_and_text(env, oa):
    post = article_post()
    published, _ = await drive(oa, post)
    assert await oa.find(post) == published
    other_text = replace(post, text="Một nội dung khác.", fingerprint=fingerprint("khác"))
    assert await oa.find(other_text) is None
    assert await oa.find(article_post(title="Tiêu đề khác")) is None


async def test_metrics_and_followers(env, oa):
    first, _ = await drive(oa, article_post())
    second, _ = await drive(oa, article_post(title="Bài hai"))
    env.sb.advance_clock(2 * 86400)
    figures = await oa.fetch_metrics([first.remote_id, second.remote_id])
    truth = {a["id"]: a for a in env.sb.articles(OA_ID)["articles"]}
    for remote_id in (first.remote_id, second.remote_id):
        assert figures[remote_id] == {
            "views": truth[remote_id]["total_view"],
            "shares": truth[remote_id]["total_share"],
        }
    assert await oa.followers() == 1200
    health = await oa.health()
    assert health.ok and "1200 followers" in health.checks[-1].detail


async def test_expired_access_token_is_refreshed_once_and_the_call_retried(env, oa):
    await oa.health()
    generation_before = env.sb.tokens()["zalo"]["oas"][OA_ID]
    # 26 h later on Zalo's clock the stored token is dead, though Loa's clock did not move.
    env.sb.advance_clock(26 * 3600)
    result = await oa.publish(article_post())
    assert isinstance(result, Processing)
    assert env.sb.tokens()["zalo"]["oas"][OA_ID] != generation_before


async def test_token_refused_even_after_refresh_is_an_auth_error(env, oa):
    env.sb.set_faults(OA_ID, auth="invalid")
    with pytest.raises(AuthError) as caught:
        await oa.publish(article_post())
    assert caught.value.code == "-216"
    refreshes = [r for r in env.sb.requests()["log"] if r["api"] == "zalo-oauth"]
    assert len(refreshes) == 2  # the first token, then exactly one retry


@pytest.mark.parametrize(
    ("fault", "expected", "uncertain"),
    [
        ("error", TransientError, True),
        ("reset", TransientError, True),
        ("timeout", TransientError, True),
        ("accept_then_error", TransientError, True),
        ("accept_then_timeout", TransientError, True),
        ("rate_limit", TransientError, False),
        ("reject", ContentError, None),
    ],
)
async def test_every_fault_on_create_maps_to_its_class(
    module_sandbox, media_server, tmp_path, monkeypatch, fault, expected, uncertain
):
    module_sandbox.reset()
    env = make_env(module_sandbox, tmp_path, monkeypatch, media_server, timeout=0.3)
    oa = build_channel("tinh-zalo", env.config, engine=env.engine)
    await oa.health()  # the token first: the fault must hit article/create
    env.sb.set_faults(OA_ID, script=[fault], hang_s=3)
    with pytest.raises(expected) as caught:
        await oa.publish(article_post())
    if uncertain is not None:
        assert caught.value.uncertain is uncertain
    await oa.aclose()
    env.engine.dispose()


@pytest.mark.parametrize(
    ("fault", "uncertain"),
    [("error", True), ("reset", True), ("timeout", True), ("accept_then_error", True)],
)
async def test_token_endpoint_faults_are_transient_and_keep_the_old_token(
    module_sandbox, media_server, tmp_path, monkeypatch, fault, uncertain
):
    module_sandbox.reset()
    env = make_env(module_sandbox, tmp_path, monkeypatch, media_server, timeout=0.3)
    oa = build_channel("tinh-zalo", env.config, engine=env.engine)
    env.sb.set_faults(OA_ID, script=[fault], hang_s=3)
    with pytest.raises(TransientError) as caught:
        await oa.publish(article_post())
    assert caught.value.uncertain is uncertain
    if fault == "accept_then_error":
        # Zalo rotated the pair but the answer was lost: the stored token is now spent, and
        # the next attempt says plainly that the OA must be re-connected.
        with pytest.raises(AuthError, match="re-consent"):
            await oa.publish(article_post())
    else:
        # Nothing was spent: the next attempt refreshes with the same stored token.
        assert isinstance(await oa.publish(article_post()), Processing)
    await oa.aclose()
    env.engine.dispose()


async def test_expired_token_fault_is_refreshed_then_an_auth_error(env, oa):
    env.sb.set_faults(OA_ID, auth="expired")
    with pytest.raises(AuthError) as caught:
        await oa.publish(article_post())
    assert caught.value.code == "-220"


async def test_new_refresh_token_after_reconsent_is_adopted(env, oa, monkeypatch):
    await oa.health()
    env.sb.zalo_access_token(OA_ID)  # the stored refresh token is spent elsewhere
    env.sb.advance_clock(26 * 3600)  # and the access token expires
    with pytest.raises(AuthError, match="re-consent"):
        await oa.publish(article_post())
    # The admin re-consents and puts the new refresh token where channels.toml points.
    monkeypatch.setenv("LOA_TEST_ZALO_REFRESH", env.sb.refresh_token(OA_ID))
    assert isinstance(await oa.publish(article_post()), Processing)


#: 10:00 in Vietnam: broadcasts are allowed.
DAYTIME = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
BROADCAST_PATH = "/zalo/v2.0/oa/message"


@pytest.fixture
async def broadcasting(module_sandbox, media_server, tmp_path, monkeypatch):
    """A broadcasting OA at 10:00 office time (both clocks), its client and environment."""
    module_sandbox.reset()
    module_sandbox.set_clock(DAYTIME.timestamp())
    env = make_env(module_sandbox, tmp_path, monkeypatch, media_server, broadcast=True)
    client = build_channel("tinh-zalo", env.config, engine=env.engine, clock=FakeClock(DAYTIME))
    yield env, client
    await client.aclose()
    env.engine.dispose()


async def at_broadcast_step(oa: ZaloOA) -> OutgoingPost:
    """Create and verify an article: the post as the dispatcher holds it before broadcasting."""
    post = article_post(first_attempt_at=DAYTIME)
    result = await oa.publish(post)
    while isinstance(result, Processing) and result.step == VERIFY_STEP:
        post = replace(post, pending_step=result.step, pending_ref=result.ref)
        result = await oa.publish(post)
    assert isinstance(result, Processing) and result.step == BROADCAST_STEP
    return replace(post, pending_step=result.step, pending_ref=result.ref)


def broadcast_calls(env) -> int:
    return sum(1 for r in env.sb.requests(limit=2000)["log"] if r["path"] == BROADCAST_PATH)


async def test_broadcast_answered_5xx_after_sending_is_not_sent_again(broadcasting):
    env, oa = broadcasting
    pending = await at_broadcast_step(oa)
    env.sb.set_faults(OA_ID, script=["accept_then_error"], publish_only=True)
    done = await oa.publish(pending)
    # Zalo sent it and answered 502: the article is live, followers may have the message.
    assert isinstance(done, Published) and done.remote_id == pending.pending_ref
    assert done.warning == "broadcast outcome unknown; not re-sent"
    assert done.permalink is not None
    # The dispatcher's next attempt (had it not taken the Published) is uncertain: still once.
    again = await oa.publish(replace(pending, uncertain=True))
    assert isinstance(again, Published) and again.warning == done.warning
    [sent] = env.sb.broadcasts(OA_ID)["broadcasts"]
    assert sent["article_id"] == pending.pending_ref
    assert broadcast_calls(env) == 1


async def test_uncertain_broadcast_step_makes_no_broadcast_call(broadcasting):
    """The daemon died during the broadcast call (or it timed out): Zalo has no look-up for a
    broadcast, so the step ends without sending, rather than risk messaging followers twice."""
    env, oa = broadcasting
    pending = await at_broadcast_step(oa)
    done = await oa.publish(replace(pending, uncertain=True))
    assert isinstance(done, Published) and done.remote_id == pending.pending_ref
    assert done.warning == "broadcast outcome unknown; not re-sent"
    assert broadcast_calls(env) == 0
    assert env.sb.broadcasts(OA_ID)["broadcasts"] == []


async def test_broadcast_refused_before_sending_is_retried_not_skipped(broadcasting):
    env, oa = broadcasting
    pending = await at_broadcast_step(oa)
    env.sb.set_faults(OA_ID, script=["rate_limit"], publish_only=True)
    with pytest.raises(TransientError) as caught:
        await oa.publish(pending)
    assert caught.value.uncertain is False and caught.value.code == "-32"
    assert env.sb.broadcasts(OA_ID)["broadcasts"] == []


async def test_an_orphan_article_found_on_a_broadcasting_oa_is_still_broadcast_once(broadcasting):
    """The create's answer was lost: the look-up finds the article, whose broadcast (sent only
    after verify) never happened. Followers get it once, not never and not twice."""
    env, oa = broadcasting
    post = article_post(first_attempt_at=DAYTIME)
    await oa.health()  # the token first: the scripted fault must meet the create
    env.sb.set_faults(OA_ID, script=["accept_then_error"], publish_only=True)
    with pytest.raises(TransientError):
        await oa.publish(post)
    found = await oa.find(replace(post, uncertain=True))
    assert isinstance(found, Processing) and found.step == BROADCAST_STEP
    done = await oa.publish(replace(post, pending_step=found.step, pending_ref=found.ref))
    assert isinstance(done, Published) and done.warning is None
    [sent] = env.sb.broadcasts(OA_ID)["broadcasts"]
    assert sent["article_id"] == found.ref
    assert len(env.sb.articles(OA_ID)["articles"]) == 1
