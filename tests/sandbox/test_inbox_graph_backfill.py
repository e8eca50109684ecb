"""What a receiver reads back after downtime from the Graph stand-in: ``/{post-id}/comments``
(filter, order, since, summary, cursor paging) and the Conversations API
(docs/platforms/facebook-graph.md#reading-comments,
docs/platforms/facebook-graph.md#conversations-api)."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import TINH_PAGE


def publish(graph: httpx.Client) -> str:
    return graph.post(f"/{TINH_PAGE}/feed", data={"message": "Cảnh giác lừa đảo"}).json()["id"]


def every_page(client: httpx.Client, path: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Follow ``paging.next`` to the end; the pages' data in order."""
    pages = []
    answer = client.get(path, params=params).json()
    while True:
        pages.append(answer["data"])
        link = answer.get("paging", {}).get("next")
        if not link:
            return pages
        answer = client.get(link).json()


def comments_thread(sb: SandboxHandle, post_id: str) -> tuple[list[str], list[str]]:
    """Seven top-level comments a minute apart, and two replies to the first one."""
    top = []
    for n in range(7):
        top.append(sb.citizen_comment(f"c{n}", post_id, f"Bình luận {n}")["comment_id"])
        sb.advance_clock(60)
    replies = [
        sb.citizen_comment("c1", post_id, f"Trả lời {n}", parent_id=top[0])["comment_id"]
        for n in range(2)
    ]
    return top, replies


def test_comment_paging_returns_every_comment_once_in_each_order(
    sb: SandboxHandle, graph: httpx.Client
):
    post_id = publish(graph)
    top, replies = comments_thread(sb, post_id)
    path = f"/{post_id}/comments"
    chronological = every_page(graph, path, order="chronological", limit=3)
    assert [len(page) for page in chronological] == [3, 3, 1]
    assert [c["id"] for page in chronological for c in page] == top
    newest_first = every_page(graph, path, order="reverse_chronological", limit=2)
    assert [c["id"] for page in newest_first for c in page] == top[::-1]
    # Without order the answer is mixed, but paging still gives each comment once
    # (docs/platforms/facebook-graph.md#reading-comments).
    mixed = [c["id"] for page in every_page(graph, path, limit=2) for c in page]
    assert sorted(mixed) == sorted(top) and mixed != top
    stream = every_page(
        graph, path, filter="stream", order="chronological", limit=4, fields="id,parent"
    )
    flat = [c for page in stream for c in page]
    assert [c["id"] for c in flat] == top + replies
    assert [c.get("parent") for c in flat[-2:]] == [{"id": top[0]}, {"id": top[0]}]
    assert "parent" not in flat[0]


def test_comments_since_a_time_and_the_summary(sb: SandboxHandle, graph: httpx.Client):
    post_id = publish(graph)
    start = sb.now()
    top, _ = comments_thread(sb, post_id)
    answer = graph.get(
        f"/{post_id}/comments",
        params={"since": int(start + 240), "order": "chronological", "summary": "true"},
    ).json()
    assert [c["id"] for c in answer["data"]] == top[4:]
    summary = answer["summary"]
    assert summary["order"] == "chronological" and summary["can_comment"] is True
    # The count includes people the sandbox does not list one by one
    # (docs/platforms/facebook-graph.md#reading-comments: it can exceed
    # what is listable), and at least the seven top-level comments.
    assert summary["total_count"] >= 7
    post = graph.get(f"/{post_id}", params={"fields": "comments.summary(true).limit(0)"}).json()
    assert post["comments"]["summary"]["total_count"] >= 9


def test_comment_fields_and_the_replies_edge(sb: SandboxHandle, graph: httpx.Client):
    post_id = publish(graph)
    top, replies = comments_thread(sb, post_id)
    first = graph.get(
        f"/{top[0]}",
        params={"fields": "id,message,from,created_time,comment_count,can_reply_privately"},
    ).json()
    assert first["message"] == "Bình luận 0" and first["comment_count"] == 2
    assert first["can_reply_privately"] is True
    assert first["from"]["id"] == sb.citizens()[0]["fb_user_id"]
    assert first["created_time"].endswith("+0000")
    edge = graph.get(f"/{top[0]}/comments", params={"order": "chronological"}).json()
    assert [c["id"] for c in edge["data"]] == replies
    unknown = graph.get(f"/{post_id}/comments", params={"fields": "nonsense"}).json()
    assert "(nonsense) on node type (Comment)" in unknown["error"]["message"]


def test_a_bare_post_id_is_error_12(sb: SandboxHandle, graph: httpx.Client):
    post_id = publish(graph)
    answer = graph.get(f"/{post_id.split('_')[1]}/comments").json()
    assert answer["error"]["code"] == 12


def test_conversations_and_their_messages_page_through_every_message_once(
    sb: SandboxHandle, graph: httpx.Client
):
    for n in range(3):
        sb.citizen_messenger(f"p{n}", TINH_PAGE, text=f"Tôi là người {n}")
        sb.advance_clock(60)
    sent = [sb.citizen_messenger("p0", TINH_PAGE, text=f"Tin {n}")["mid"] for n in range(5)]
    conversations = every_page(
        graph, f"/{TINH_PAGE}/conversations", platform="messenger", limit=2, fields="id"
    )
    ids = [c["id"] for page in conversations for c in page]
    assert len(ids) == len(set(ids)) == 3
    psid = sb.citizens()[0]["psids"][TINH_PAGE]
    mine = graph.get(
        f"/{TINH_PAGE}/conversations",
        params={"user_id": psid, "fields": "participants,message_count,updated_time"},
    ).json()["data"]
    assert len(mine) == 1 and mine[0]["message_count"] == 6
    assert {p["id"] for p in mine[0]["participants"]["data"]} == {psid, TINH_PAGE}
    # The most recently updated conversation comes first.
    assert (
        ids[0]
        == graph.get(f"/{TINH_PAGE}/conversations", params={"user_id": psid}).json()["data"][0][
            "id"
        ]
    )
    messages = every_page(
        graph, f"/{ids[0]}/messages", limit=4, fields="id,message,from,created_time"
    )
    flat = [m for page in messages for m in page]
    assert [m["id"] for m in flat][:5] == sent[::-1]
    assert len(flat) == 6 and flat[-1]["message"] == "Tôi là người 0"
    assert flat[0]["from"]["id"] == psid


def test_only_the_20_most_recent_messages_have_details(sb: SandboxHandle, graph: httpx.Client):
    mids = [sb.citizen_messenger("an", TINH_PAGE, text=f"Tin {n}")["mid"] for n in range(21)]
    recent = graph.get(f"/{mids[-1]}", params={"fields": "message"}).json()
    assert recent == {"message": "Tin 20"}
    oldest = graph.get(f"/{mids[0]}", params={"fields": "message"}).json()
    assert oldest["error"]["code"] == 100


def test_conversations_need_a_page_token_with_messaging(sb: SandboxHandle, graph: httpx.Client):
    sb.citizen_messenger("an", TINH_PAGE, text="Xin chào")
    sb.set_page_grant(TINH_PAGE, scopes=["pages_read_engagement"])
    assert graph.get(f"/{TINH_PAGE}/conversations").json()["error"]["code"] == 230
    as_user = httpx.get(
        f"{sb.graph_url}/v21.0/{TINH_PAGE}/conversations",
        headers={"Authorization": f"Bearer {sb.user_token}"},
    ).json()
    assert as_user["error"]["code"] == 190
