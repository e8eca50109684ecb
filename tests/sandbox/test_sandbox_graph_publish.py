"""Graph stand-in: publishing to a Page feed, photos, scheduling, editing, deleting."""

from __future__ import annotations

import json
import re

import httpx

from sandbox.testing import SandboxHandle, async_running_sandbox
from tests.sandbox.conftest import PHUONG_PAGE, TINH_PAGE, MediaServer, jpeg_bytes

POST_ID = re.compile(rf"^{TINH_PAGE}_\d{{15,}}$")


def test_feed_post_returns_page_scoped_id_and_is_recorded_with_its_payload(
    sb: SandboxHandle, graph: httpx.Client
) -> None:
    response = graph.post(
        f"/{TINH_PAGE}/feed", data={"message": "Xin chào", "link": "https://a.vn"}
    )
    assert response.status_code == 200
    post_id = response.json()["id"]
    assert POST_ID.match(post_id)
    [post] = sb.posts()
    assert post["id"] == post_id
    assert post["payload"] == {"message": "Xin chào", "link": "https://a.vn"}


def test_post_reads_back_with_fields_summaries_and_graph_timestamps(graph: httpx.Client) -> None:
    post_id = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Đọc lại"}).json()["id"]
    fields = (
        "id,message,created_time,permalink_url,shares,"
        "reactions.summary(total_count).limit(0),comments.summary(true).limit(0)"
    )
    body = graph.get(f"/{post_id}", params={"fields": fields}).json()
    assert body["message"] == "Đọc lại"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", body["created_time"])
    assert body["permalink_url"] == (
        f"https://www.facebook.com/{TINH_PAGE}/posts/{post_id.split('_')[1]}"
    )
    assert "shares" not in body  # omitted while nobody shared it
    assert body["reactions"] == {
        "data": [],
        "summary": {"total_count": 0, "viewer_reaction": "NONE"},
    }
    assert body["comments"]["summary"]["total_count"] == 0


def test_unknown_field_is_a_code_100(graph: httpx.Client) -> None:
    post_id = graph.post(f"/{TINH_PAGE}/feed", data={"message": "x"}).json()["id"]
    response = graph.get(f"/{post_id}", params={"fields": "id,nonsense"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100


def test_published_photo_upload_returns_bare_photo_id_and_post_id(graph: httpx.Client) -> None:
    files = {"source": ("a.jpg", jpeg_bytes(), "image/jpeg")}
    response = graph.post(f"/{TINH_PAGE}/photos", data={"message": "Ảnh"}, files=files)
    body = response.json()
    assert response.status_code == 200
    assert body["id"].isdigit()
    assert POST_ID.match(body["post_id"])


def test_photo_url_that_cannot_be_fetched_is_a_324(sb: SandboxHandle, graph: httpx.Client) -> None:
    response = graph.post(f"/{TINH_PAGE}/photos", data={"url": f"{sb.url}/missing.jpg"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 324


def test_multi_photo_post_uses_unpublished_photos_as_attached_media(
    graph: httpx.Client,
) -> None:
    ids = []
    for _ in range(2):
        files = {"source": ("a.jpg", jpeg_bytes(), "image/jpeg")}
        upload = graph.post(f"/{TINH_PAGE}/photos", data={"published": "false"}, files=files)
        assert set(upload.json()) == {"id"}
        ids.append(upload.json()["id"])
    media = json.dumps([{"media_fbid": i} for i in ids])
    post_id = graph.post(
        f"/{TINH_PAGE}/feed", data={"message": "Album", "attached_media": media}
    ).json()["id"]
    attachment = graph.get(f"/{post_id}", params={"fields": "attachments"}).json()
    subattachments = attachment["attachments"]["data"][0]["subattachments"]["data"]
    assert [s["target"]["id"] for s in subattachments] == ids


def test_schedule_time_outside_10_minutes_to_30_days_is_a_code_100(
    sb: SandboxHandle, graph: httpx.Client
) -> None:
    now = int(sb.now())
    for when in (now + 5 * 60, now + 31 * 86400):
        data = {"message": f"at {when}", "published": "false", "scheduled_publish_time": when}
        response = graph.post(f"/{TINH_PAGE}/feed", data=data)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == 100
        assert "scheduled_publish_time" in response.json()["error"]["message"]


def test_scheduled_post_is_listed_as_scheduled_not_on_the_feed(
    sb: SandboxHandle, graph: httpx.Client
) -> None:
    when = int(sb.now()) + 3600
    data = {"message": "Sau", "published": "false", "scheduled_publish_time": when}
    post_id = graph.post(f"/{TINH_PAGE}/feed", data=data).json()["id"]
    scheduled = graph.get(f"/{TINH_PAGE}/scheduled_posts").json()["data"]
    assert [p["id"] for p in scheduled] == [post_id]
    assert graph.get(f"/{TINH_PAGE}/feed").json()["data"] == []


def test_scheduled_post_is_published_when_the_clock_passes_its_time(
    sb: SandboxHandle, graph: httpx.Client
) -> None:
    when = int(sb.now()) + 3600
    data = {"message": "Đúng giờ", "published": "false", "scheduled_publish_time": when}
    post_id = graph.post(f"/{TINH_PAGE}/feed", data=data).json()["id"]
    sb.advance_clock(3601)
    post = graph.get(f"/{post_id}", params={"fields": "is_published,created_time"}).json()
    assert post["is_published"] is True
    assert [p["id"] for p in graph.get(f"/{TINH_PAGE}/published_posts").json()["data"]] == [post_id]


def test_identical_consecutive_message_is_a_506(graph: httpx.Client) -> None:
    assert graph.post(f"/{TINH_PAGE}/feed", data={"message": "Hai lần"}).status_code == 200
    response = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Hai lần"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 506


def test_user_token_cannot_post_as_the_page(sb: SandboxHandle) -> None:
    response = httpx.post(
        f"{sb.graph_url}/v21.0/{TINH_PAGE}/feed",
        data={"message": "x", "access_token": sb.user_token},
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == 200
    assert "posted to a page as the page itself" in error["message"]


def test_page_token_cannot_post_to_another_page(graph: httpx.Client) -> None:
    response = graph.post(f"/{PHUONG_PAGE}/feed", data={"message": "x"})
    assert response.json()["error"]["code"] == 200


def test_edit_changes_the_message_and_answers_success(graph: httpx.Client) -> None:
    post_id = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Cũ"}).json()["id"]
    assert graph.post(f"/{post_id}", data={"message": "Mới"}).json() == {"success": True}
    assert graph.get(f"/{post_id}").json()["message"] == "Mới"


def test_deleted_post_reads_as_missing_object(graph: httpx.Client) -> None:
    post_id = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Xoá"}).json()["id"]
    assert graph.delete(f"/{post_id}").json() == {"success": True}
    error = graph.get(f"/{post_id}").json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 33)


def test_feed_pages_with_cursors_until_next_is_absent(graph: httpx.Client) -> None:
    created = [
        graph.post(f"/{TINH_PAGE}/feed", data={"message": f"Tin {n}"}).json()["id"]
        for n in range(3)
    ]
    first = graph.get(f"/{TINH_PAGE}/feed", params={"limit": 2}).json()
    assert len(first["data"]) == 2 and first["paging"]["cursors"]["after"]
    second = graph.get(first["paging"]["next"]).json()
    assert "next" not in second["paging"]
    seen = [p["id"] for p in first["data"] + second["data"]]
    assert sorted(seen) == sorted(created)


def test_token_is_accepted_as_query_form_or_oauth_header(sb: SandboxHandle) -> None:
    url = f"{sb.graph_url}/v21.0/{TINH_PAGE}"
    token = sb.page_token(TINH_PAGE)
    assert httpx.get(url, params={"access_token": token}).status_code == 200
    assert httpx.get(url, headers={"Authorization": f"OAuth {token}"}).status_code == 200
    assert (
        httpx.post(f"{url}/feed", data={"access_token": token, "message": "f"}).status_code == 200
    )


def test_missing_or_unknown_token_is_refused(sb: SandboxHandle) -> None:
    url = f"{sb.graph_url}/v21.0/{TINH_PAGE}"
    assert httpx.get(url).json()["error"]["code"] == 104
    response = httpx.get(url, params={"access_token": "EAAnonsense"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 190


def test_photo_url_is_fetched_from_its_public_address(
    graph: httpx.Client, media: MediaServer
) -> None:
    media.files["/poster.jpg"] = jpeg_bytes()
    response = graph.post(f"/{TINH_PAGE}/photos", data={"url": f"{media.url}/poster.jpg"})
    assert response.status_code == 200
    assert set(response.json()) == {"id", "post_id"}


async def test_async_clients_work_against_the_async_helper() -> None:
    async with async_running_sandbox(seed=11) as sb:
        async with httpx.AsyncClient(base_url=f"{sb.graph_url}/v21.0") as client:
            response = await client.post(
                f"/{TINH_PAGE}/feed",
                data={"message": "Bất đồng bộ", "access_token": sb.page_token(TINH_PAGE)},
            )
    assert response.json()["id"].startswith(f"{TINH_PAGE}_")


def test_rescheduled_post_goes_live_at_its_new_time(sb: SandboxHandle, graph: httpx.Client):
    when = int(sb.now()) + 3600
    data = {"message": "Dời lịch", "published": "false", "scheduled_publish_time": when}
    post_id = graph.post(f"/{TINH_PAGE}/feed", data=data).json()["id"]
    graph.post(f"/{post_id}", data={"scheduled_publish_time": when + 7200})
    sb.advance_clock(3601)
    assert (
        graph.get(f"/{post_id}", params={"fields": "is_published"}).json()["is_published"] is False
    )
    sb.advance_clock(7200)
    assert (
        graph.get(f"/{post_id}", params={"fields": "is_published"}).json()["is_published"] is True
    )


def test_photo_reads_back_and_deleting_it_removes_its_post(graph: httpx.Client) -> None:
    files = {"source": ("a.jpg", jpeg_bytes(), "image/jpeg")}
    upload = graph.post(f"/{TINH_PAGE}/photos", data={"message": "Ảnh xoá"}, files=files).json()
    photo = graph.get(f"/{upload['id']}").json()
    assert (photo["id"], photo["page_story_id"]) == (upload["id"], upload["post_id"])
    assert graph.delete(f"/{upload['id']}").json() == {"success": True}
    assert graph.get(f"/{upload['post_id']}").json()["error"]["code"] == 100
