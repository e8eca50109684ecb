"""What citizens attach is served by the sandbox at URLs that expire
(docs/platforms/zalo-oa.md#message-events-and-attachments,
docs/platforms/facebook-graph.md#attachment-urls), and a citizen's comment edits and removals go out
as feed changes (docs/platforms/facebook-graph.md#comment-changes-in-the-feed)."""

from __future__ import annotations

import base64
import json

import httpx

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import TINH_OA, TINH_PAGE, png_bytes
from tests.sandbox.inbox_receiver import Receiver


def test_a_zalo_image_and_file_are_served_until_their_url_expires(sb: SandboxHandle):
    image = png_bytes()
    data = base64.b64encode(image).decode()
    sb.citizen_zalo("an", TINH_OA, type="image", data=data, ttl_s=120)
    sb.citizen_zalo("an", TINH_OA, type="file", name="bien-ban.pdf")
    rows = [c for c in sb._call("GET", "/citizens")["citizens"]]
    assert rows  # the citizen exists
    chats = sb.deliveries()  # no webhook registered: nothing delivered, but stored
    assert chats == []
    convo = httpx.get(
        f"{sb.zalo_url}/v2.0/oa/listrecentchat",
        params={"data": json.dumps({"offset": 0, "count": 10})},
        headers={"access_token": sb.zalo_access_token(TINH_OA)},
        trust_env=False,
    ).json()["data"]
    urls = {row["type"]: row["url"] for row in convo if row.get("url")}
    assert urls["photo"].startswith(sb.url + "/_sandbox/cdn/")
    got = httpx.get(urls["photo"], trust_env=False)
    assert got.status_code == 200 and got.content == image
    assert httpx.get(urls["file"], trust_env=False).content.startswith(b"%PDF-")
    sb.advance_clock(121)
    assert httpx.get(urls["photo"], trust_env=False).status_code == 404  # Zalo's CDN: gone
    assert httpx.get(urls["file"], trust_env=False).status_code == 200  # its own 6 hours


def test_comment_changes_are_feed_changes_with_their_verb(
    sb: SandboxHandle, receiver: Receiver, graph: httpx.Client
):
    sb.subscribe_graph_webhook(receiver.url + "/webhooks/facebook", "loa-verify")
    post = graph.post(f"/{TINH_PAGE}/feed", data={"message": "Cảnh giác"}).json()["id"]
    comment = sb.citizen_comment("binh", post, "Số lạ gọi tôi", photo=True)["comment_id"]
    sb.change_comment(comment, "edited", "Số lạ 0987 gọi tôi")
    sb.change_comment(comment, "remove")
    sb.run_webhooks()
    values = [
        json.loads(r.body)["entry"][0]["changes"][0]["value"]
        for r in receiver.received
        if r.path == "/webhooks/facebook"
    ]
    assert [v["verb"] for v in values] == ["add", "edited", "remove"]
    assert values[1]["message"] == "Số lạ 0987 gọi tôi" and "message" not in values[2]
    photo = values[0]["photo"]
    assert photo.startswith(sb.url + "/_sandbox/cdn/")
    assert httpx.get(photo, trust_env=False).content.startswith(b"\x89PNG")
    sb.advance_clock(7 * 3600)
    expired = httpx.get(photo, trust_env=False)
    assert (expired.status_code, expired.text) == (403, "URL signature expired")
    listed = graph.get(f"/{post}/comments").json()["data"]
    assert listed == []  # a removed comment is gone from the edge
