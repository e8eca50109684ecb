"""Zalo webhooks from simulated citizens: payloads, X-ZEvent-Signature, the retry schedule on the
simulated clock, and the webhook disabled when the last retry fails
(docs/platforms/zalo-oa.md#webhooks)."""

from __future__ import annotations

import hashlib
import json

import pytest

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import TINH_OA
from tests.sandbox.inbox_receiver import Receiver

ZALO_PATH = "/webhooks/zalo"


def expected_mac(sb: SandboxHandle, raw: bytes, oa_id: str = TINH_OA) -> str:
    """Zalo's algorithm, computed here from the raw bytes received
    (docs/platforms/zalo-oa.md#signatures)."""
    payload = json.loads(raw)
    secret = sb.tokens()["zalo"]["oa_secret_keys"][oa_id]
    concatenated = sb.zalo_app_id + raw.decode("utf-8") + payload["timestamp"] + secret
    return hashlib.sha256(concatenated.encode("utf-8")).hexdigest()


@pytest.fixture
def hooked(sb: SandboxHandle, receiver: Receiver) -> SandboxHandle:
    sb.subscribe_zalo_webhook(receiver.url + ZALO_PATH)
    return sb


def last_event(receiver: Receiver) -> dict:
    return json.loads(receiver.received[-1].body)


def test_a_text_message_arrives_signed_with_the_oa_secret_key(
    hooked: SandboxHandle, receiver: Receiver
):
    sent = hooked.citizen_zalo("an", TINH_OA, "Tôi muốn báo tin lừa đảo #tố_giác", name="Lê Văn An")
    assert hooked.run_webhooks()[0]["outcome"] == "ok"
    request = receiver.received[-1]
    assert request.path == ZALO_PATH
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-ZEvent-Signature"] == "mac=" + expected_mac(hooked, request.body)
    event = json.loads(request.body)
    assert event == {
        "app_id": hooked.zalo_app_id,
        "sender": {"id": sent["user_id"]},
        "user_id_by_app": hooked.citizens()[0]["zalo_user_id_by_app"],
        "recipient": {"id": TINH_OA},
        "event_name": "user_send_text",
        "message": {"text": "Tôi muốn báo tin lừa đảo #tố_giác", "msg_id": sent["msg_id"]},
        "timestamp": str(int(hooked.now() * 1000)),
    }
    # Vietnamese goes as UTF-8 text, and ids are strings
    # (docs/platforms/zalo-oa.md#event-envelope-and-ids).
    assert "lừa đảo".encode() in request.body
    assert len(event["timestamp"]) == 13


def test_the_signature_can_be_the_bare_hex_and_uses_a_given_oa_key(
    sb: SandboxHandle, receiver: Receiver
):
    sb.subscribe_zalo_webhook(
        receiver.url + ZALO_PATH, signature_format="hex", oa_secret_keys={TINH_OA: "khoa-bi-mat"}
    )
    sb.citizen_zalo("an", TINH_OA, "xin chào")
    sb.run_webhooks()
    request = receiver.received[-1]
    payload = json.loads(request.body)
    raw = sb.zalo_app_id + request.body.decode() + payload["timestamp"] + "khoa-bi-mat"
    assert request.headers["X-ZEvent-Signature"] == hashlib.sha256(raw.encode()).hexdigest()


def test_image_location_and_sticker_messages_carry_the_documented_attachments(
    hooked: SandboxHandle, receiver: Receiver
):
    hooked.citizen_zalo("an", TINH_OA, type="image", url="http://f6.photo.talk.zdn.vn/a1.jpg")
    hooked.citizen_zalo("an", TINH_OA, type="location", latitude=10.7642473, longitude=106.6564)
    hooked.citizen_zalo("an", TINH_OA, type="sticker", sticker_id="e1540df031b5deb81a4")
    hooked.run_webhooks()
    image, location, sticker = (json.loads(r.body) for r in receiver.received[-3:])
    assert image["event_name"] == "user_send_image"
    assert image["message"]["attachments"] == [
        {
            "payload": {
                "thumbnail": "http://t.f6.photo.talk.zdn.vn/a1.jpg",
                "url": "http://f6.photo.talk.zdn.vn/a1.jpg",
            },
            "type": "image",
        }
    ]
    assert location["event_name"] == "user_send_location"
    # Coordinates are strings (docs/platforms/zalo-oa.md#message-events-and-attachments).
    assert location["message"]["attachments"] == [
        {
            "payload": {"coordinates": {"latitude": "10.7642473", "longitude": "106.6564"}},
            "type": "location",
        }
    ]
    assert sticker["event_name"] == "user_send_sticker"
    payload = sticker["message"]["attachments"][0]["payload"]
    assert payload["id"] == "e1540df031b5deb81a4"
    assert payload["url"].startswith("https://api.zalo.me/api/emoticon/oasticker?eid=")


def test_follow_info_chatnow_and_withdraw_have_their_own_shapes(
    hooked: SandboxHandle, receiver: Receiver
):
    uid = hooked.zalo_event("follow", "an", TINH_OA, source="message_invite")["user_id"]
    hooked.zalo_event(
        "submit_info",
        "an",
        TINH_OA,
        info={"name": "Lê Văn An", "phone": "0912 345 678", "city": "Đà Nẵng"},
    )
    hooked.zalo_event("withdraw", "an", TINH_OA)
    hooked.run_webhooks()
    follow, info, withdraw = (json.loads(r.body) for r in receiver.received[-3:])
    by_app = hooked.citizens()[0]["zalo_user_id_by_app"]
    stamp = str(int(hooked.now() * 1000))
    assert follow == {
        "oa_id": TINH_OA,
        "follower": {"id": uid},
        "user_id_by_app": by_app,
        "event_name": "follow",
        "source": "message_invite",
        "app_id": hooked.zalo_app_id,
        "timestamp": stamp,
    }
    assert info["event_name"] == "user_submit_info"
    assert info["sender"] == {"id": uid} and info["recipient"] == {"id": TINH_OA}
    # The phone is a JSON number, not a string (docs/platforms/zalo-oa.md#event-envelope-and-ids).
    assert info["info"]["phone"] == 84912345678
    assert b'"phone":84912345678' in receiver.received[-2].body
    assert withdraw == {
        "app_id": hooked.zalo_app_id,
        "oa_id": TINH_OA,
        "user_id_by_app": by_app,
        "user_id": uid,
        "event_name": "user_withdraw",
        "timestamp": stamp,
    }


def test_chatnow_is_sent_once_and_only_to_someone_who_never_chatted(
    hooked: SandboxHandle, receiver: Receiver
):
    first = hooked.zalo_event("chatnow", "binh", TINH_OA)
    again = hooked.zalo_event("chatnow", "binh", TINH_OA)
    hooked.citizen_zalo("an", TINH_OA, "đã nhắn rồi")
    after_chat = hooked.zalo_event("chatnow", "an", TINH_OA)
    hooked.run_webhooks()
    assert first["delivery"] is not None
    assert again["delivery"] is None and after_chat["delivery"] is None
    names = [json.loads(r.body)["event_name"] for r in receiver.received]
    assert names == ["user_click_chatnow", "user_send_text"]


def test_an_anonymous_widget_message_has_a_hex_sender_and_a_conversation_id(
    hooked: SandboxHandle, receiver: Receiver
):
    sent = hooked.citizen_zalo("khach", TINH_OA, "hello", anonymous=True)
    hooked.run_webhooks()
    event = last_event(receiver)
    assert event["event_name"] == "anonymous_send_text"
    assert event["sender"]["id"] == sent["user_id"]
    assert all(ch in "0123456789abcdef" for ch in sent["user_id"])
    assert set(event["message"]) == {"conversation_id", "text", "msg_id"}


def test_retries_follow_zalo_schedule_with_num_retry_then_the_webhook_is_disabled(
    hooked: SandboxHandle, receiver: Receiver
):
    receiver.stop()
    start = hooked.now()
    hooked.citizen_zalo("an", TINH_OA, "có ai không?")
    first = hooked.run_webhooks()
    assert [(a["number"], a["outcome"]) for a in first] == [(0, "refused")]
    times = []
    for offset in (30, 300, 900, 1800, 3600):
        hooked.advance_clock(offset - (hooked.now() - start) - 1)
        assert hooked.run_webhooks() == []  # one second early: nothing yet
        hooked.advance_clock(1)
        attempts = hooked.run_webhooks()
        assert len(attempts) == 1 and attempts[0]["outcome"] == "refused"
        times.append(attempts[0]["at"] - start)
        assert attempts[0]["headers"]["num_retry"] == str(len(times))
    assert times == [30, 300, 900, 1800, 3600]
    delivery = hooked.deliveries("zalo")[0]
    assert delivery["state"] == "given_up" and len(delivery["attempts"]) == 6
    webhook = hooked.zalo_webhook()["webhook"]
    assert webhook["enabled"] is False
    # Later events are not sent at all until the event permission is requested again.
    receiver.start()
    hooked.citizen_zalo("an", TINH_OA, "còn ai không?")
    assert hooked.run_webhooks() == []
    assert hooked.deliveries("zalo")[-1]["state"] == "filtered"
    assert receiver.received == []
    hooked.subscribe_zalo_webhook(receiver.url + ZALO_PATH)
    hooked.citizen_zalo("an", TINH_OA, "giờ thì sao?")
    assert [a["outcome"] for a in hooked.run_webhooks()] == ["ok"]


def test_a_receiver_back_before_the_last_retry_gets_the_identical_event(
    hooked: SandboxHandle, receiver: Receiver
):
    receiver.stop()
    hooked.citizen_zalo("an", TINH_OA, "Xe máy bị trộm ở phường 1")
    hooked.run_webhooks()
    hooked.advance_clock(30)
    hooked.run_webhooks()  # retry 1 also fails
    receiver.start()
    hooked.advance_clock(270)
    attempts = hooked.run_webhooks()
    assert [(a["number"], a["outcome"]) for a in attempts] == [(2, "ok")]
    delivery = hooked.deliveries("zalo")[0]
    request = receiver.received[-1]
    assert request.headers["num_retry"] == "2"
    assert request.body.decode() == delivery["body"]
    assert request.headers["X-ZEvent-Signature"] == delivery["headers"]["X-ZEvent-Signature"]
    assert delivery["state"] == "delivered"
    assert hooked.zalo_webhook()["webhook"]["enabled"] is True


def test_a_clock_jump_catches_up_every_due_retry_in_order(
    hooked: SandboxHandle, receiver: Receiver
):
    receiver.stop()
    start = hooked.now()
    hooked.citizen_zalo("an", TINH_OA, "mất điện thoại")
    # A 90-minute outage (docs/platforms/zalo-oa.md#delivery-and-retries).
    hooked.advance_clock(5400)
    attempts = hooked.run_webhooks()
    assert [a["number"] for a in attempts] == [0, 1, 2, 3, 4, 5]
    assert [a["scheduled_at"] - start for a in attempts] == [0, 30, 300, 900, 1800, 3600]
    assert hooked.zalo_webhook()["webhook"]["enabled"] is False


def test_an_error_status_or_a_slow_answer_counts_as_failed(sb: SandboxHandle, receiver: Receiver):
    sb.subscribe_zalo_webhook(receiver.url + ZALO_PATH, timeout_s=0.3)
    receiver.mode = "error"
    sb.citizen_zalo("an", TINH_OA, "một")
    assert [(a["outcome"], a["status"]) for a in sb.run_webhooks()] == [("status", 500)]
    receiver.mode = "hang"
    sb.advance_clock(30)
    assert [a["outcome"] for a in sb.run_webhooks()] == ["timeout"]
    receiver.release()
    receiver.mode = "ok"
    sb.advance_clock(270)
    assert [a["outcome"] for a in sb.run_webhooks()] == ["ok"]


def test_only_connection_failures_are_retried_when_asked(sb: SandboxHandle, receiver: Receiver):
    sb.subscribe_zalo_webhook(receiver.url + ZALO_PATH, retry_on=["refused"])
    receiver.mode = "error"
    sb.citizen_zalo("an", TINH_OA, "một")
    sb.run_webhooks()
    delivery = sb.deliveries("zalo")[0]
    assert delivery["state"] == "given_up" and delivery["note"] == "not retried after status"
    assert sb.zalo_webhook()["webhook"]["enabled"] is True


def test_the_syntax_filter_and_switched_off_events_send_nothing(
    sb: SandboxHandle, receiver: Receiver
):
    sb.subscribe_zalo_webhook(
        receiver.url + ZALO_PATH, syntax_filter=True, events=["user_send_text", "follow"]
    )
    sb.citizen_zalo("an", TINH_OA, "không có dấu thăng")
    sb.citizen_zalo("an", TINH_OA, "#togiac xe gian")
    sb.citizen_zalo("an", TINH_OA, type="location", latitude=10.7, longitude=106.6)
    sb.run_webhooks()
    assert [json.loads(r.body)["message"]["text"] for r in receiver.received] == ["#togiac xe gian"]
    notes = [d["note"] for d in sb.deliveries("zalo") if d["state"] == "filtered"]
    assert notes == [
        "syntax filter: the text does not start with #",
        "event user_send_location is not switched on",
    ]
