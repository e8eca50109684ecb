"""A Page answers citizens: Messenger inside the 24-hour window (HUMAN_AGENT to 7 days), one
private reply per comment within 7 days, public comment replies and hiding, each refusal with
Graph's code, and everything the Page sent recorded (docs/platforms/facebook-graph.md#comments,
docs/platforms/facebook-graph.md#messenger)."""

from __future__ import annotations

import json

import httpx
import pytest

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import TINH_PAGE

DAY = 86400


def publish(graph: httpx.Client) -> str:
    return graph.post(f"/{TINH_PAGE}/feed", data={"message": "Cảnh giác lừa đảo"}).json()["id"]


def send(graph: httpx.Client, recipient: dict, text: str, **params: str) -> httpx.Response:
    data = {"recipient": json.dumps(recipient), "message": json.dumps({"text": text}), **params}
    return graph.post(f"/{TINH_PAGE}/messages", data=data)


def error_of(response: httpx.Response) -> tuple[int, int | None, str]:
    error = response.json()["error"]
    return error["code"], error.get("error_subcode"), error["message"]


OUTSIDE_WINDOW = (10, 2018278, "(#10) This message is sent outside of allowed window")


def test_a_reply_inside_24_hours_is_sent_and_recorded(sb: SandboxHandle, graph: httpx.Client):
    psid = sb.citizen_messenger("an", TINH_PAGE, text="Xin chào")["psid"]
    sb.advance_clock(DAY)
    answer = send(graph, {"id": psid}, "Chào bạn", messaging_type="RESPONSE")
    assert answer.status_code == 200
    body = answer.json()
    assert body["recipient_id"] == psid and body["message_id"].startswith("m_")
    record = sb.sent("graph")[-1]
    assert (record["kind"], record["to"], record["citizen"], record["accepted"]) == (
        "messenger",
        psid,
        "an",
        True,
    )
    assert record["at"] == sb.now()
    assert json.loads(record["payload"]["message"]) == {"text": "Chào bạn"}


def test_after_24_hours_the_send_api_refuses_with_10_2018278(
    sb: SandboxHandle, graph: httpx.Client
):
    psid = sb.citizen_messenger("an", TINH_PAGE, text="Xin chào")["psid"]
    sb.advance_clock(DAY + 1)
    refused = send(graph, {"id": psid}, "Trả lời muộn", messaging_type="RESPONSE")
    assert refused.status_code == 400
    assert error_of(refused) == OUTSIDE_WINDOW
    record = sb.sent("graph")[-1]
    assert record["accepted"] is False and record["result"]["error"]["error_subcode"] == 2018278
    # The citizen writes again: a new window.
    sb.citizen_messenger("an", TINH_PAGE, text="Còn đó không?")
    assert send(graph, {"id": psid}, "Có ạ").status_code == 200


def test_human_agent_reaches_7_days_only_for_an_app_with_the_feature(
    sb: SandboxHandle, graph: httpx.Client
):
    psid = sb.citizen_messenger("an", TINH_PAGE, text="Tôi cần gặp cán bộ")["psid"]
    sb.advance_clock(30 * 3600)
    tagged = {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    assert error_of(send(graph, {"id": psid}, "Cán bộ trả lời", **tagged)) == OUTSIDE_WINDOW
    sb.set_human_agent(True)
    assert send(graph, {"id": psid}, "Cán bộ trả lời", **tagged).status_code == 200
    sb.advance_clock(7 * DAY - 30 * 3600 + 1)
    assert error_of(send(graph, {"id": psid}, "Quá 7 ngày", **tagged)) == OUTSIDE_WINDOW


def test_a_retired_tag_fails_with_code_100(sb: SandboxHandle, graph: httpx.Client):
    psid = sb.citizen_messenger("an", TINH_PAGE, text="Xin chào")["psid"]
    sb.advance_clock(2 * DAY)
    answer = send(
        graph, {"id": psid}, "Cập nhật", messaging_type="MESSAGE_TAG", tag="ACCOUNT_UPDATE"
    )
    assert error_of(answer)[:2] == (100, None)


def test_a_citizen_who_blocked_the_page_is_not_available(sb: SandboxHandle, graph: httpx.Client):
    psid = sb.citizen_messenger("an", TINH_PAGE, text="Xin chào")["psid"]
    sb.citizen("an", blocked=[TINH_PAGE])
    assert error_of(send(graph, {"id": psid}, "Chào")) == (
        551,
        1545041,
        "(#551) This person isn't available right now.",
    )


def test_an_unknown_psid_is_no_matching_user(graph: httpx.Client):
    assert error_of(send(graph, {"id": "1234567890123456"}, "Chào"))[:2] == (100, 2018001)


def test_one_private_reply_per_comment_and_it_opens_no_window(
    sb: SandboxHandle, graph: httpx.Client
):
    post_id = publish(graph)
    comment = sb.citizen_comment("an", post_id, "Số 0912 345 678 lừa đảo")["comment_id"]
    first = send(graph, {"comment_id": comment}, "Bạn nhắn riêng cho chúng tôi nhé")
    assert first.status_code == 200
    psid = first.json()["recipient_id"]
    assert psid == sb.citizens()[0]["psids"][TINH_PAGE]
    second = send(graph, {"comment_id": comment}, "Nhắc lại")
    assert error_of(second) == (10900, None, "(#10900) Activity already replied to")
    # Nothing more until the citizen answers (docs/platforms/facebook-graph.md#private-replies) ...
    assert error_of(send(graph, {"id": psid}, "Bạn còn đó không?")) == OUTSIDE_WINDOW
    sb.citizen_messenger("an", TINH_PAGE, text="Vâng, tôi đây")
    # ... then the 24-hour window applies.
    assert send(graph, {"id": psid}, "Cảm ơn bạn").status_code == 200
    kinds = [(r["kind"], r["accepted"]) for r in sb.sent("graph")]
    assert kinds == [
        ("private_reply", True),
        ("private_reply", False),
        ("messenger", False),
        ("messenger", True),
    ]
    assert sb.sent("graph")[0]["to"] == comment


def test_a_private_reply_after_7_days_is_refused(sb: SandboxHandle, graph: httpx.Client):
    post_id = publish(graph)
    comment = sb.citizen_comment("an", post_id, "Tôi thấy kẻ gian")["comment_id"]
    sb.advance_clock(7 * DAY)
    late_but_in = sb.citizen_comment("binh", post_id, "Tôi cũng thấy")["comment_id"]
    sb.advance_clock(1)
    assert error_of(send(graph, {"comment_id": comment}, "Muộn rồi")) == (
        10901,
        None,
        "(#10901) Activity replying time expired",
    )
    assert send(graph, {"comment_id": late_but_in}, "Kịp").status_code == 200


def test_the_send_api_needs_pages_messaging(sb: SandboxHandle, graph: httpx.Client):
    psid = sb.citizen_messenger("an", TINH_PAGE, text="Xin chào")["psid"]
    sb.set_page_grant(TINH_PAGE, scopes=["pages_show_list", "pages_read_engagement"])
    assert error_of(send(graph, {"id": psid}, "Chào"))[:2] == (230, None)
    sb.set_page_grant(TINH_PAGE, scopes=["pages_messaging"], tasks=["MODERATE"])
    assert error_of(send(graph, {"id": psid}, "Chào"))[:2] == (200, None)


def test_a_user_token_cannot_send(sb: SandboxHandle):
    psid = sb.citizen_messenger("an", TINH_PAGE, text="Xin chào")["psid"]
    answer = httpx.post(
        f"{sb.graph_url}/v21.0/{TINH_PAGE}/messages",
        data={"recipient": json.dumps({"id": psid}), "message": json.dumps({"text": "x"})},
        headers={"Authorization": f"Bearer {sb.user_token}"},
    )
    assert error_of(answer)[0] == 190


def test_a_public_reply_and_hiding_need_pages_manage_engagement(
    sb: SandboxHandle, graph: httpx.Client
):
    post_id = publish(graph)
    comment = sb.citizen_comment("an", post_id, "Bán hàng giả!!!")["comment_id"]
    reply = graph.post(f"/{comment}/comments", data={"message": "Cảm ơn bạn đã báo tin."})
    assert reply.status_code == 200
    reply_id = reply.json()["id"]
    assert reply_id.split("_")[0] == post_id.split("_")[1]
    assert graph.post(f"/{comment}", data={"is_hidden": "true"}).json() == {"success": True}
    listed = graph.get(f"/{post_id}/comments", params={"fields": "id,is_hidden"}).json()
    assert listed["data"] == [{"id": comment, "is_hidden": True}]
    records = sb.sent("graph")
    assert [(r["kind"], r["to"]) for r in records] == [
        ("comment_reply", comment),
        ("comment_hide", comment),
    ]
    assert records[0]["result"] == {"id": reply_id} and records[0]["citizen"] == "an"
    sb.set_page_grant(TINH_PAGE, scopes=["pages_read_engagement", "pages_read_user_content"])
    refused = graph.post(f"/{comment}/comments", data={"message": "Lần nữa"})
    assert refused.status_code == 403 and error_of(refused)[0] == 200
    assert "pages_manage_engagement" in error_of(refused)[2]


@pytest.mark.parametrize(
    ("scopes", "code"),
    [
        (["pages_read_engagement"], 10),  # no pages_read_user_content
        (["pages_read_user_content"], 10),  # no pages_read_engagement
    ],
)
def test_reading_comments_needs_both_read_permissions(
    sb: SandboxHandle, graph: httpx.Client, scopes: list[str], code: int
):
    post_id = publish(graph)
    sb.citizen_comment("an", post_id, "Một bình luận")
    sb.set_page_grant(TINH_PAGE, scopes=scopes)
    answer = graph.get(f"/{post_id}/comments")
    assert error_of(answer)[0] == code


def test_a_user_token_reads_no_comments_and_without_moderate_no_ids(
    sb: SandboxHandle, graph: httpx.Client
):
    post_id = publish(graph)
    sb.citizen_comment("an", post_id, "Một bình luận")
    as_user = httpx.get(
        f"{sb.graph_url}/v21.0/{post_id}/comments",
        headers={"Authorization": f"Bearer {sb.user_token}"},
    )
    assert error_of(as_user) == (200, None, "(#200) Missing Permissions")
    sb.set_page_grant(TINH_PAGE, tasks=["CREATE_CONTENT", "MESSAGING"])
    data = graph.get(f"/{post_id}/comments").json()["data"]
    assert data and "id" not in data[0] and data[0]["message"] == "Một bình luận"
