"""Facebook Page client: every content kind reaches the sandbox with the exact payload."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

import pytest
from PIL import Image

from content.queue import fingerprint
from scheduler.channels import build_channel
from scheduler.channels.base import MediaBlob, OutgoingPost, Published, TransientError
from scheduler.channels.facebook import FacebookPage
from tests.channels.conftest import PAGE_ID, jpeg, utcnow


def post(text: str, **kw: object) -> OutgoingPost:
    return OutgoingPost(
        delivery_id=1, channel="tinh-fb", text=text, fingerprint=fingerprint(text), **kw
    )  # type: ignore[arg-type]


@pytest.fixture
async def page(env):
    client = build_channel("tinh-fb", env.config, engine=env.engine)
    assert isinstance(client, FacebookPage)
    yield client
    await client.aclose()


async def test_text_post(env, page):
    result = await page.publish(post("Cảnh giác với cuộc gọi giả danh công an"))
    assert isinstance(result, Published)
    [stored] = env.sb.posts(PAGE_ID)
    assert stored["id"] == result.remote_id
    assert stored["payload"] == {
        "message": "Cảnh giác với cuộc gọi giả danh công an",
        "fields": "id,permalink_url",
    }
    assert (
        result.permalink
        == f"https://www.facebook.com/{PAGE_ID}/posts/{result.remote_id.split('_')[1]}"
    )


async def test_link_post(env, page):
    result = await page.publish(post("Xem hướng dẫn", link="https://congan.example.vn/huong-dan"))
    [stored] = env.sb.posts(PAGE_ID)
    assert stored["payload"] == {
        "message": "Xem hướng dẫn",
        "link": "https://congan.example.vn/huong-dan",
        "fields": "id,permalink_url",
    }
    assert stored["status_type"] == "shared_story"
    assert result.remote_id == stored["id"]


async def test_single_photo_is_multipart_source_and_returns_the_post_id(env, page):
    raw = jpeg(exif_gps=True)
    result = await page.publish(
        post(
            "Ảnh hiện trường",
            link="https://congan.example.vn/tin",
            images=[MediaBlob("hien-truong.jpg", "image/jpeg", raw)],
        )
    )
    [photo] = env.sb.photos(PAGE_ID)
    [stored] = env.sb.posts(PAGE_ID)
    # Engagement lives on the post: the client reports post_id, not the photo id.
    assert result.remote_id == stored["id"] == photo["post_id"]
    assert result.permalink is not None
    payload = photo["payload"]
    # A photo post has no link parameter: the link ends the caption.
    assert payload["message"] == "Ảnh hiện trường\n\nhttps://congan.example.vn/tin"
    assert payload["published"] == "true"
    assert payload["source"]["filename"] == "hien-truong.jpg"
    assert payload["source"]["content_type"] == "image/jpeg"
    # Re-encoded without the EXIF/GPS block.
    assert payload["source"]["sha256"] != hashlib.sha256(raw).hexdigest()


async def test_multi_photo_post_attaches_unpublished_uploads(env, page):
    images = [MediaBlob(f"a{i}.jpg", "image/jpeg", jpeg(colour=(i * 60, 10, 10))) for i in range(3)]
    result = await page.publish(post("Ba bước phòng tránh lừa đảo", images=images))
    photos = env.sb.photos(PAGE_ID)
    assert len(photos) == 3
    assert all(p["payload"]["published"] == "false" for p in photos)
    [stored] = env.sb.posts(PAGE_ID)
    assert stored["id"] == result.remote_id
    assert stored["photo_ids"] == [p["id"] for p in photos]
    attached = [json.loads(stored["payload"][f"attached_media[{i}]"]) for i in range(3)]
    assert attached == [{"media_fbid": p["id"]} for p in photos]
    assert stored["payload"]["message"] == "Ba bước phòng tránh lừa đảo"


async def test_png_is_sent_as_an_image_facebook_takes(env, page):
    buf = io.BytesIO()
    Image.new("RGB", (600, 400), (10, 120, 200)).save(buf, "PNG")
    await page.publish(post("PNG", images=[MediaBlob("card.png", "image/png", buf.getvalue())]))
    [photo] = env.sb.photos(PAGE_ID)
    assert photo["payload"]["source"]["content_type"] in ("image/png", "image/jpeg")
    assert photo["image"]["kind"] in ("png", "jpeg")


async def test_edit_and_delete(env, page):
    result = await page.publish(post("Bản nháp"))
    await page.edit(result.remote_id, "Bản đã sửa")
    [stored] = env.sb.posts(PAGE_ID)
    assert stored["message"] == "Bản đã sửa"
    await page.delete(result.remote_id)
    assert env.sb.posts(PAGE_ID)[0]["deleted"] is True


async def test_find_matches_the_fingerprint_of_recent_posts(env, page):
    first = post("Thông báo số 1", first_attempt_at=utcnow())
    published = await page.publish(first)
    await page.publish(post("Thông báo số 2"))
    found = await page.find(first)
    assert found == published
    assert await page.find(post("Chưa từng đăng", first_attempt_at=utcnow())) is None


async def test_find_ignores_posts_older_than_the_first_attempt(env, page):
    old = post("Tin cũ")
    await page.publish(old)
    later = post("Tin cũ", first_attempt_at=utcnow() + timedelta(hours=2))
    assert await page.find(later) is None


async def test_find_follows_paging_without_leaking_the_token(env, page, caplog):
    caplog.set_level("DEBUG")
    target = post("Bài cần tìm", first_attempt_at=utcnow())
    await page.publish(target)
    # 120 newer posts push the target to the second page of 100.
    for i in range(120):
        await page.publish(post(f"Bài khác {i}"))
    assert await page.find(target) is not None
    assert env.sb.page_token(PAGE_ID) not in caplog.text


async def test_timeout_after_accept_is_uncertain_then_found_not_resent(
    module_sandbox, media_server, tmp_path, monkeypatch
):
    """The sandbox creates the post and never answers: the client reports an uncertain
    outcome, find() sees the post, and the dispatcher's rule (look before re-sending) keeps
    the Page at one copy."""
    from tests.channels.conftest import make_env

    module_sandbox.reset()
    env = make_env(module_sandbox, tmp_path, monkeypatch, media_server, timeout=0.5)
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    env.sb.set_faults(PAGE_ID, script=["accept_then_timeout"], hang_s=5)
    outgoing = post("Khẩn: cảnh báo lừa đảo qua mạng", first_attempt_at=utcnow())
    with pytest.raises(TransientError) as caught:
        await page.publish(outgoing)
    assert caught.value.uncertain is True
    # What the dispatcher does with an uncertain attempt: look before sending again.
    found = await page.find(outgoing)
    assert found is not None
    [stored] = env.sb.posts(PAGE_ID)
    assert found.remote_id == stored["id"]
    assert len([r for r in env.sb.received() if r["kind"] == "graph_post"]) == 1
    await page.aclose()
    env.engine.dispose()


async def test_5xx_after_accept_on_photo_is_uncertain_and_found(env, page):
    env.sb.set_faults(PAGE_ID, script=["accept_then_error"], publish_only=True)
    outgoing = post(
        "Ảnh cảnh báo", first_attempt_at=utcnow(), images=[MediaBlob("a.jpg", "image/jpeg", jpeg())]
    )
    with pytest.raises(TransientError) as caught:
        await page.publish(outgoing)
    assert caught.value.uncertain is True
    found = await page.find(outgoing)
    assert found is not None and found.remote_id == env.sb.posts(PAGE_ID)[0]["id"]


def album(text: str) -> OutgoingPost:
    images = [MediaBlob(f"b{i}.jpg", "image/jpeg", jpeg(colour=(10, i * 90, 10))) for i in range(2)]
    return post(text, first_attempt_at=utcnow(), images=images)


async def test_5xx_after_accept_on_the_album_feed_post_is_uncertain_and_found(env, page):
    # The two unpublished uploads go through; Graph creates the feed post and answers 500.
    env.sb.set_faults(PAGE_ID, script=["ok", "ok", "accept_then_error"], publish_only=True)
    outgoing = album("Hai ảnh cảnh báo lừa đảo")
    with pytest.raises(TransientError) as caught:
        await page.publish(outgoing)
    assert caught.value.uncertain is True
    [stored] = env.sb.posts(PAGE_ID)
    assert len(stored["photo_ids"]) == 2
    found = await page.find(outgoing)
    assert found is not None and found.remote_id == stored["id"]


async def test_failed_album_upload_is_certain_and_leaves_nothing_on_the_page(env, page):
    # An unpublished upload is not on the Page: its failure never makes the post uncertain.
    env.sb.set_faults(PAGE_ID, script=["ok", "accept_then_error"], publish_only=True)
    outgoing = album("Hai ảnh, một tải lên hỏng")
    with pytest.raises(TransientError) as caught:
        await page.publish(outgoing)
    assert caught.value.uncertain is False
    assert env.sb.posts(PAGE_ID) == []
    assert await page.find(outgoing) is None
