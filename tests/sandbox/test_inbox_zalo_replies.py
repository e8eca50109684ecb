"""An OA answers citizens: consultation (CS) messages within 7 days of the last interaction,
the free 8-in-48-hours quota, the echo, the read-back endpoints, and what was sent recorded
(docs/platforms/zalo-oa.md#consultation-messages,
docs/platforms/zalo-oa.md#reading-conversations-and-profiles)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import TINH_OA
from tests.sandbox.inbox_receiver import Receiver

DAY = 86400
NOT_IN_7_DAYS = (-230, "User has not interacted with the OA in the past 7 days")
NEVER = (-232, "User has not interacted with the OA, or the last interaction has expired")


def cs(zalo: httpx.Client, user_id: str, message: dict[str, Any]) -> dict[str, Any]:
    answer = zalo.post(
        "/v3.0/oa/message/cs", json={"recipient": {"user_id": user_id}, "message": message}
    )
    assert answer.status_code == 200  # Zalo answers errors with HTTP 200 too
    return answer.json()


def later(sb: SandboxHandle, zalo: httpx.Client, seconds: float) -> None:
    """Move the clock; the OA's access token lives 25 hours, so take a fresh one."""
    sb.advance_clock(seconds)
    zalo.headers["access_token"] = sb.zalo_access_token(TINH_OA)


def read(zalo: httpx.Client, path: str, **data: Any) -> dict[str, Any]:
    return zalo.get(path, params={"data": json.dumps(data)}).json()


def test_a_cs_reply_inside_the_free_window_reports_the_reply_quota(
    sb: SandboxHandle, zalo: httpx.Client
):
    uid = sb.citizen_zalo("an", TINH_OA, "Tôi muốn tố giác")["user_id"]
    answer = cs(zalo, uid, {"text": "Cảm ơn bạn, cán bộ sẽ liên hệ."})
    assert answer["error"] == 0 and answer["message"] == "Success"
    data = answer["data"]
    assert data["quota"] == {"quota_type": "reply", "remain": "7", "total": "8"}
    assert data["user_id"] == uid and len(data["message_id"]) == 20
    record = sb.sent("zalo")[-1]
    assert (record["kind"], record["to"], record["citizen"], record["accepted"]) == (
        "zalo_cs",
        uid,
        "an",
        True,
    )
    assert record["thread"] == f"{TINH_OA}:{uid}" and record["at"] == sb.now()


def test_the_ninth_reply_and_those_after_48_hours_are_charged(
    sb: SandboxHandle, zalo: httpx.Client
):
    uid = sb.citizen_zalo("an", TINH_OA, "Alo")["user_id"]
    remains = [cs(zalo, uid, {"text": f"Tin {n}"})["data"]["quota"]["remain"] for n in range(8)]
    assert remains == ["7", "6", "5", "4", "3", "2", "1", "0"]
    ninth = cs(zalo, uid, {"text": "Tin 9"})
    assert ninth["error"] == 0 and "quota" not in ninth["data"]
    sb.citizen_zalo("an", TINH_OA, "Tôi hỏi thêm")
    later(sb, zalo, 48 * 3600 + 1)
    late = cs(zalo, uid, {"text": "Trả lời sau 2 ngày"})
    assert late["error"] == 0 and "quota" not in late["data"]


def test_after_7_days_cs_is_refused_with_230_and_a_follow_reopens_it(
    sb: SandboxHandle, zalo: httpx.Client
):
    uid = sb.citizen_zalo("an", TINH_OA, "Xin chào")["user_id"]
    later(sb, zalo, 7 * DAY)
    assert cs(zalo, uid, {"text": "Vừa kịp"})["error"] == 0
    sb.advance_clock(1)
    refused = cs(zalo, uid, {"text": "Muộn"})
    assert (refused["error"], refused["message"]) == NOT_IN_7_DAYS
    assert "data" not in refused
    record = sb.sent("zalo")[-1]
    assert record["accepted"] is False and record["result"]["error"] == -230
    sb.zalo_event("follow", "an", TINH_OA)
    assert cs(zalo, uid, {"text": "Bây giờ được"})["error"] == 0


def test_someone_who_never_interacted_gets_232(sb: SandboxHandle, zalo: httpx.Client):
    uid = sb.citizen("lan")["zalo_user_ids"][TINH_OA]
    refused = cs(zalo, uid, {"text": "Chào bạn"})
    assert (refused["error"], refused["message"]) == NEVER


def test_inactive_or_restricting_citizens_are_refused(sb: SandboxHandle, zalo: httpx.Client):
    uid = sb.citizen_zalo("an", TINH_OA, "Xin chào")["user_id"]
    sb.citizen("an", blocked=[TINH_OA])
    assert cs(zalo, uid, {"text": "x"})["error"] == -244
    sb.citizen("an", blocked=[], inactive=True)
    assert cs(zalo, uid, {"text": "x"})["error"] == -227


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"text": "x" * 2001}, -201),
        ({"text": "trích", "quote_message_id": "khong-co"}, -201),
        ({"attachment": {"type": "video"}}, -233),
        ({}, -201),
    ],
)
def test_bad_cs_messages_are_refused(
    sb: SandboxHandle, zalo: httpx.Client, message: dict[str, Any], code: int
):
    uid = sb.citizen_zalo("an", TINH_OA, "Xin chào")["user_id"]
    assert cs(zalo, uid, message)["error"] == code


def test_a_quote_reply_and_an_image_reply_are_echoed_as_the_oa_sent_them(
    sb: SandboxHandle, zalo: httpx.Client, receiver: Receiver
):
    sb.subscribe_zalo_webhook(receiver.url + "/webhooks/zalo")
    sent = sb.citizen_zalo("an", TINH_OA, "Ảnh kẻ gian đây")
    uid = sent["user_id"]
    quote = cs(zalo, uid, {"text": "Đã nhận", "quote_message_id": sent["msg_id"]})
    image = {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "media",
                "elements": [{"media_type": "image", "url": "https://loa.example/canh-bao.jpg"}],
            },
        }
    }
    cs(zalo, uid, image)
    sb.run_webhooks()
    echo_text, echo_image = (json.loads(r.body) for r in receiver.received[-2:])
    assert echo_text["event_name"] == "oa_send_text"
    assert echo_text["sender"] == {"id": TINH_OA} and echo_text["recipient"] == {"id": uid}
    assert "admin_id" not in echo_text["sender"]  # sent through the API, not the console
    assert echo_text["message"] == {
        "text": "Đã nhận",
        "msg_id": quote["data"]["message_id"],
        "quote_msg_id": sent["msg_id"],
    }
    assert echo_image["event_name"] == "oa_send_image"
    assert echo_image["message"]["attachments"][0]["payload"]["url"] == (
        "https://loa.example/canh-bao.jpg"
    )


def test_the_quota_check_shows_the_last_interaction(sb: SandboxHandle, zalo: httpx.Client):
    uid = sb.citizen_zalo("an", TINH_OA, "Xin chào")["user_id"]
    when = str(int(sb.now() * 1000))
    cs(zalo, uid, {"text": "Chào"})
    data = zalo.post("/v3.0/oa/quota/message", json={"user_id": uid}).json()["data"]
    assert data["last_interaction"] == when
    assert data["cs_reply"] == {"remain": 7, "total": 8}


def test_the_v2_message_api_is_shut_down(sb: SandboxHandle, zalo: httpx.Client):
    uid = sb.citizen_zalo("an", TINH_OA, "Xin chào")["user_id"]
    answer = zalo.post(
        "/v2.0/oa/message", json={"recipient": {"user_id": uid}, "message": {"text": "x"}}
    ).json()
    assert answer["error"] == -240 and answer["message"].startswith("MessageV2 API has been shut")


def test_cs_needs_the_message_permission_group(sb: SandboxHandle, zalo: httpx.Client):
    uid = sb.citizen_zalo("an", TINH_OA, "Xin chào")["user_id"]
    sb.set_zalo_permissions(["article", "conversation"], TINH_OA)
    assert cs(zalo, uid, {"text": "x"})["error"] == -223
    assert read(zalo, "/v2.0/oa/listrecentchat", offset=0, count=5)["error"] == 0
    sb.set_zalo_permissions(["message"], TINH_OA)
    assert read(zalo, "/v2.0/oa/listrecentchat", offset=0, count=5)["error"] == -223


def test_listrecentchat_pages_every_message_once_newest_first(
    sb: SandboxHandle, zalo: httpx.Client
):
    ids = []
    for n in range(13):
        citizen = "an" if n % 2 else "binh"
        ids.append(sb.citizen_zalo(citizen, TINH_OA, f"Tin {n}")["msg_id"])
        sb.advance_clock(10)
    uid = sb.citizens()[0]["zalo_user_ids"][TINH_OA]
    ids.append(cs(zalo, uid, {"text": "OA trả lời"})["data"]["message_id"])
    rows: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = read(zalo, "/v2.0/oa/listrecentchat", offset=offset, count=10)["data"]
        rows += page
        if len(page) < 10:
            break
        offset += 10
    assert [r["message_id"] for r in rows] == ids[::-1]
    assert [r["time"] for r in rows] == sorted((r["time"] for r in rows), reverse=True)
    oa_row, user_row = rows[0], rows[1]
    assert (oa_row["src"], oa_row["from_id"], oa_row["to_id"]) == (0, TINH_OA, uid)
    assert user_row["src"] == 1 and user_row["message"] == "Tin 12"
    assert isinstance(user_row["time"], int)
    assert read(zalo, "/v2.0/oa/listrecentchat", offset=0, count=11)["error"] == -210


def test_conversation_reads_one_citizen_thread_and_names_types_its_own_way(
    sb: SandboxHandle, zalo: httpx.Client
):
    uid = sb.citizen_zalo("an", TINH_OA, "Chào")["user_id"]
    sb.citizen_zalo("an", TINH_OA, type="image", url="http://f6.photo.talk.zdn.vn/b.jpg")
    sb.citizen_zalo("an", TINH_OA, type="location", latitude=10.76, longitude=106.65)
    sb.citizen_zalo("an", TINH_OA, type="sticker")
    sb.citizen_zalo("binh", TINH_OA, "Người khác")
    # The documented example sends user_id as a JSON number
    # (docs/platforms/zalo-oa.md#event-envelope-and-ids).
    rows = read(zalo, "/v2.0/oa/conversation", user_id=int(uid), offset=0, count=10)["data"]
    assert [r["type"] for r in rows] == ["sticker", "location", "photo", "text"]
    sticker, location, photo, _ = rows
    assert photo["url"] == "http://f6.photo.talk.zdn.vn/b.jpg" and "thumb" in photo
    assert json.loads(location["location"]) == {"latitude": "10.76", "longitude": "106.65"}
    assert sticker["url"].startswith("https://api.zalo.me/api/emoticon/")
    assert read(zalo, "/v2.0/oa/conversation", user_id="1", offset=0, count=5)["error"] == -201


def test_user_detail_shows_the_shared_info(sb: SandboxHandle, zalo: httpx.Client):
    uid = sb.zalo_event("follow", "an", TINH_OA)["user_id"]
    sb.zalo_event("submit_info", "an", TINH_OA, info={"name": "Lê Văn An", "phone": "0912345678"})
    detail = read(zalo, "/v3.0/oa/user/detail", user_id=uid)["data"]
    assert detail["user_is_follower"] is True and detail["is_sensitive"] is False
    assert detail["shared_info"]["phone"] == 84912345678
    assert detail["shared_info"]["name"] == "Lê Văn An"
    assert len(detail["user_last_interaction_date"].split("/")) == 3


def test_withdrawal_leaves_zalos_copy_for_the_receiver_to_purge(
    sb: SandboxHandle, zalo: httpx.Client
):
    sb.citizen_zalo("an", TINH_OA, "Số điện thoại của tôi là 0912345678")
    answer = sb.zalo_event("withdraw", "an")
    assert answer["oa_ids"] == [TINH_OA]
    # Backfill still returns the message: a receiver must not ingest it again
    # (docs/platforms/zalo-oa.md#event-envelope-and-ids).
    rows = read(zalo, "/v2.0/oa/listrecentchat", offset=0, count=5)["data"]
    assert rows[0]["message"] == "Số điện thoại của tôi là 0912345678"
