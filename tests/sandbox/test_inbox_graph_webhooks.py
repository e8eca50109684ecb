"""Facebook Page webhooks from simulated citizens: Meta's verification handshake, feed and
messages payloads, X-Hub-Signature-256 over the escaped body, retries for 36 hours, and the
app unsubscribed after an hour of failed Messenger deliveries
(docs/platforms/facebook-graph.md#webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from sandbox.testing import SandboxControlError, SandboxHandle
from tests.sandbox.conftest import PHUONG_PAGE, TINH_PAGE
from tests.sandbox.inbox_receiver import Receiver

FB_PATH = "/webhooks/facebook"


def publish(graph: httpx.Client, message: str = "Cảnh giác lừa đảo qua mạng") -> str:
    return graph.post(f"/{TINH_PAGE}/feed", data={"message": message}).json()["id"]


def signature(sb: SandboxHandle, raw: bytes) -> str:
    """HMAC-SHA256 of the raw bytes keyed by the app secret
    (docs/platforms/facebook-graph.md#signatures),
    computed here."""
    return "sha256=" + hmac.new(sb.graph_app_secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.fixture
def hooked(sb: SandboxHandle, receiver: Receiver) -> SandboxHandle:
    sb.subscribe_graph_webhook(receiver.url + FB_PATH, "loa-verify")
    return sb


def test_subscribing_performs_metas_handshake_and_refuses_a_wrong_answer(
    sb: SandboxHandle, receiver: Receiver
):
    answer = sb.subscribe_graph_webhook(receiver.url + FB_PATH, "loa-verify", pages=[TINH_PAGE])
    handshake = receiver.handshakes[-1]
    assert handshake["hub.mode"] == ["subscribe"]
    assert handshake["hub.verify_token"] == ["loa-verify"]
    assert answer["handshake"]["answer"] == handshake["hub.challenge"][0]
    assert answer["pages"] == {TINH_PAGE: ["feed", "messages"]}
    with pytest.raises(SandboxControlError, match="HTTP Status Code = 403"):
        sb.subscribe_graph_webhook(receiver.url + FB_PATH, "not-the-token")
    # The refused registration left the working one in place.
    assert sb.graph_webhook()["webhook"]["verify_token"] == "loa-verify"


def test_a_comment_arrives_as_a_feed_change_signed_over_the_escaped_body(
    hooked: SandboxHandle, receiver: Receiver, graph: httpx.Client
):
    post_id = publish(graph)
    sent = hooked.citizen_comment("an", post_id, "Tôi bị lừa 5 triệu/ngày", name="Lê Văn An")
    assert [a["outcome"] for a in hooked.run_webhooks()] == ["ok"]
    request = receiver.received[-1]
    assert request.headers["X-Hub-Signature-256"] == signature(hooked, request.body)
    # Non-ASCII as lowercase \\u escapes and "/" as "\\/": what Meta signs
    # (docs/platforms/facebook-graph.md#signatures).
    assert b"L\\u00ea V\\u0103n An" in request.body and b"tri\\u1ec7u\\/ng\\u00e0y" in request.body
    assert request.body.isascii()
    now = int(hooked.now())
    assert json.loads(request.body) == {
        "object": "page",
        "entry": [
            {
                "id": TINH_PAGE,
                "time": now,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "from": {"id": sent["from"]["id"], "name": "Lê Văn An"},
                            "post": {
                                "status_type": "mobile_status_update",
                                "is_published": True,
                                "updated_time": "2026-11-24T03:00:00+0000",
                                "promotion_status": "inactive",
                                "id": post_id,
                            },
                            "message": "Tôi bị lừa 5 triệu/ngày",
                            "post_id": post_id,
                            "comment_id": sent["comment_id"],
                            "created_time": now,
                            "item": "comment",
                            "parent_id": post_id,
                            "verb": "add",
                        },
                    }
                ],
            }
        ],
    }
    assert sent["comment_id"].split("_")[0] == post_id.split("_")[1]


def test_a_reply_names_its_parent_and_the_pages_own_reply_comes_back_too(
    hooked: SandboxHandle, receiver: Receiver, graph: httpx.Client
):
    post_id = publish(graph)
    top = hooked.citizen_comment("an", post_id, "Số này lừa đảo: 0912345678")["comment_id"]
    hooked.citizen_comment("binh", post_id, "Tôi cũng bị", parent_id=top)
    graph.post(f"/{top}/comments", data={"message": "Cảm ơn bạn, chúng tôi đã ghi nhận."})
    hooked.run_webhooks()
    reply, own = (
        json.loads(r.body)["entry"][0]["changes"][0]["value"] for r in receiver.received[1:]
    )
    assert reply["parent_id"] == top
    # The Page's own comments arrive through feed as well: receivers filter them
    # (docs/platforms/facebook-graph.md#comment-changes-in-the-feed).
    assert own["from"] == {"id": TINH_PAGE, "name": "Công an tỉnh Demo"}
    assert own["parent_id"] == top


def test_messenger_text_image_and_location_events(hooked: SandboxHandle, receiver: Receiver):
    first = hooked.citizen_messenger("an", TINH_PAGE, text="Cho tôi hỏi thủ tục")
    hooked.citizen_messenger("an", TINH_PAGE, image="https://cdn.example/a.jpg")
    hooked.citizen_messenger("an", TINH_PAGE, location={"lat": 16.06, "long": 108.22})
    hooked.run_webhooks()
    events = [json.loads(r.body) for r in receiver.received]
    for request in receiver.received:
        assert request.headers["X-Hub-Signature-256"] == signature(hooked, request.body)
    entry = events[0]["entry"][0]
    stamp = int(hooked.now() * 1000)
    assert entry["id"] == TINH_PAGE and entry["time"] == stamp
    assert entry["messaging"] == [
        {
            "sender": {"id": first["psid"]},
            "recipient": {"id": TINH_PAGE},
            "timestamp": stamp,
            "message": {"mid": first["mid"], "text": "Cho tôi hỏi thủ tục"},
        }
    ]
    image = events[1]["entry"][0]["messaging"][0]["message"]
    assert image["attachments"] == [
        {"type": "image", "payload": {"url": "https://cdn.example/a.jpg"}}
    ]
    location = events[2]["entry"][0]["messaging"][0]["message"]["attachments"][0]
    assert location["type"] == "location"
    assert location["payload"] == {"coordinates": {"lat": 16.06, "long": 108.22}}
    # The PSID is Page-scoped and is not the comment author's id
    # (docs/platforms/facebook-graph.md#comment-changes-in-the-feed).
    ids = hooked.citizens()[0]
    assert ids["psids"][TINH_PAGE] == first["psid"] != ids["fb_user_id"]
    assert ids["psids"][PHUONG_PAGE] != first["psid"]


def test_a_page_that_did_not_install_the_app_sends_nothing(
    sb: SandboxHandle, receiver: Receiver, graph: httpx.Client
):
    sb.subscribe_graph_webhook(receiver.url + FB_PATH, "loa-verify", pages=[])
    sb.citizen_messenger("an", TINH_PAGE, text="alo")
    assert sb.run_webhooks() == []
    assert sb.deliveries("graph")[0]["note"].startswith("the Page has not installed the app")
    # The Page installs it through Graph's own endpoint
    # (docs/platforms/facebook-graph.md#subscribing-a-page).
    answer = graph.post(f"/{TINH_PAGE}/subscribed_apps", data={"subscribed_fields": "messages"})
    assert answer.json() == {"success": "true"}
    listed = graph.get(f"/{TINH_PAGE}/subscribed_apps").json()["data"]
    assert listed[0]["subscribed_fields"] == ["messages"]
    sb.citizen_messenger("an", TINH_PAGE, text="alo alo")
    assert [a["outcome"] for a in sb.run_webhooks()] == ["ok"]


def test_subscribing_a_field_needs_its_permission(sb: SandboxHandle, graph: httpx.Client):
    sb.set_page_grant(TINH_PAGE, scopes=["pages_show_list", "pages_manage_metadata"])
    refused = graph.post(f"/{TINH_PAGE}/subscribed_apps", data={"subscribed_fields": "messages"})
    error = refused.json()["error"]
    assert error["code"] == 200 and "pages_messaging" in error["message"]
    ok = graph.post(f"/{TINH_PAGE}/subscribed_apps", data={"subscribed_fields": "feed"})
    assert ok.status_code == 200


def test_a_failed_feed_event_is_retried_for_36_hours_then_dropped(
    hooked: SandboxHandle, receiver: Receiver, graph: httpx.Client
):
    post_id = publish(graph)
    receiver.stop()
    start = hooked.now()
    hooked.citizen_comment("an", post_id, "Có ai ở đó không")
    # The first failure is retried immediately
    # (docs/platforms/facebook-graph.md#delivery-and-retries).
    assert [a["number"] for a in hooked.run_webhooks()] == [0, 1]
    hooked.advance_clock(59)
    assert hooked.run_webhooks() == []
    hooked.advance_clock(1)
    assert [a["at"] - start for a in hooked.run_webhooks()] == [60]
    hooked.advance_clock(36 * 3600 - 60)
    attempts = hooked.run_webhooks()
    offsets = [a["scheduled_at"] - start for a in attempts]
    assert offsets == [300, 900, 3600, 10800, 21600, 43200, 86400, 129600]
    delivery = hooked.deliveries("graph")[0]
    assert delivery["state"] == "given_up" and len(delivery["attempts"]) == 11
    # Feed failures alone do not unsubscribe the app.
    assert hooked.graph_webhook()["pages"][TINH_PAGE] == ["feed", "messages"]


def test_a_receiver_back_up_gets_the_same_signed_body(hooked: SandboxHandle, receiver: Receiver):
    receiver.stop()
    hooked.citizen_messenger("an", TINH_PAGE, text="Mất xe máy")
    hooked.run_webhooks()
    receiver.start()
    hooked.advance_clock(60)
    assert [(a["number"], a["outcome"]) for a in hooked.run_webhooks()] == [(2, "ok")]
    delivery = hooked.deliveries("graph")[0]
    request = receiver.received[-1]
    assert request.body.decode() == delivery["body"]
    assert request.headers["X-Hub-Signature-256"] == signature(hooked, request.body)
    assert "num_retry" not in request.headers


def test_an_hour_of_failed_messenger_deliveries_unsubscribes_the_app_from_the_page(
    hooked: SandboxHandle, receiver: Receiver
):
    receiver.mode = "error"
    hooked.citizen_messenger("an", TINH_PAGE, text="Alo")
    hooked.run_webhooks()
    hooked.advance_clock(3599)
    hooked.run_webhooks()
    assert TINH_PAGE in hooked.graph_webhook()["pages"]
    hooked.advance_clock(1)
    hooked.run_webhooks()
    view = hooked.graph_webhook()
    assert TINH_PAGE not in view["pages"] and TINH_PAGE in view["unsubscribed"]
    assert hooked.deliveries("graph")[0]["state"] == "dropped"
    receiver.mode = "ok"
    hooked.citizen_messenger("an", TINH_PAGE, text="Alo alo")
    assert hooked.run_webhooks() == []
    latest = hooked.deliveries("graph")[-1]
    assert latest["state"] == "filtered" and "unsubscribed" in latest["note"]
    # The other Page still delivers.
    hooked.citizen_messenger("an", PHUONG_PAGE, text="Xin chào phường")
    assert [a["outcome"] for a in hooked.run_webhooks()] == ["ok"]


def test_a_slow_receiver_times_out(sb: SandboxHandle, receiver: Receiver):
    sb.subscribe_graph_webhook(receiver.url + FB_PATH, "loa-verify", timeout_s=0.3)
    receiver.mode = "hang"
    sb.citizen_messenger("an", TINH_PAGE, text="Alo")
    attempts = sb.run_webhooks()
    assert [a["outcome"] for a in attempts] == ["timeout", "timeout"]


def test_a_duplicate_is_the_identical_signed_request(hooked: SandboxHandle, receiver: Receiver):
    first = hooked.citizen_messenger("an", TINH_PAGE, text="Tin trùng")["delivery"]
    hooked.run_webhooks()
    copy = hooked.duplicate_delivery(first)
    assert [a["outcome"] for a in hooked.run_webhooks()] == ["ok"]
    original, again = receiver.received[-2:]
    assert again.body == original.body
    assert again.headers["X-Hub-Signature-256"] == original.headers["X-Hub-Signature-256"]
    last = hooked.deliveries("graph")[-1]
    assert last["id"] == copy and last["note"] == f"duplicate of {first}"
