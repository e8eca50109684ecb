"""Calls real clients make: ?ids=, Page and photo fields, before/previous, client_credentials,
and a trace id per answer."""

from __future__ import annotations

import json

import httpx

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import GRAPH_VERSION, PHUONG_PAGE, TINH_PAGE, jpeg_bytes


def test_ids_reads_several_nodes_keyed_by_id(sb: SandboxHandle):
    answer = httpx.get(
        f"{sb.graph_url}/{GRAPH_VERSION}/",
        params={"ids": f"{TINH_PAGE},{PHUONG_PAGE}", "fields": "name,username"},
        headers={"Authorization": f"Bearer {sb.user_token}"},
    ).json()
    assert set(answer) == {TINH_PAGE, PHUONG_PAGE}
    assert answer[PHUONG_PAGE]["name"] == "Công an phường 1"
    assert set(answer[TINH_PAGE]) == {"name", "username"}


def test_ids_with_an_unknown_id_is_code_803(graph: httpx.Client):
    answer = graph.get("/", params={"ids": f"{TINH_PAGE},999999"}).json()
    assert answer["error"]["code"] == 803 and "999999" in answer["error"]["message"]


def test_ids_inside_a_batch_take_an_earlier_result(graph: httpx.Client, sb: SandboxHandle):
    for n in range(2):
        graph.post(f"/{TINH_PAGE}/feed", data={"message": f"Tin {n}"})
    batch = [
        {"method": "GET", "name": "list", "relative_url": f"{TINH_PAGE}/published_posts?limit=2"},
        {"method": "GET", "relative_url": "?ids={result=list:$.data.*.id}&fields=message"},
    ]
    answer = graph.post("/", data={"batch": json.dumps(batch)}).json()
    body = json.loads(answer[1]["body"])
    assert sorted(v["message"] for v in body.values()) == ["Tin 0", "Tin 1"]


def test_page_fields_clients_ask_for(graph: httpx.Client):
    fields = "picture,cover,username,website,category_list"
    page = graph.get(f"/{TINH_PAGE}", params={"fields": fields}).json()
    assert page["picture"]["data"]["url"].startswith("https://")
    assert {"source", "offset_y", "id"} <= set(page["cover"])
    assert page["username"] and page["website"].startswith("https://")
    assert page["category_list"][0]["name"] == "Government organization"


def test_photo_fields_are_honoured_and_unknown_ones_refused(graph: httpx.Client):
    files = {"source": ("a.jpg", jpeg_bytes(), "image/jpeg")}
    photo_id = graph.post(f"/{TINH_PAGE}/photos", files=files).json()["id"]
    answer = graph.get(f"/{photo_id}", params={"fields": "images,width,from"}).json()
    assert set(answer) == {"images", "width", "from"}
    assert answer["from"]["id"] == TINH_PAGE
    bad = graph.get(f"/{photo_id}", params={"fields": "nonsense"}).json()["error"]
    assert bad["code"] == 100 and "(nonsense) on node type (Photo)" in bad["message"]


def test_before_cursor_and_previous_link_walk_back(graph: httpx.Client, sb: SandboxHandle):
    for n in range(5):
        graph.post(f"/{TINH_PAGE}/feed", data={"message": f"Thứ tự {n}"})
        sb.advance_clock(60)
    first = graph.get(f"/{TINH_PAGE}/published_posts", params={"limit": 2}).json()
    assert "previous" not in first["paging"]
    second = graph.get(first["paging"]["next"]).json()
    assert [p["message"] for p in second["data"]] == ["Thứ tự 2", "Thứ tự 1"]
    back = graph.get(second["paging"]["previous"]).json()
    assert [p["message"] for p in back["data"]] == [p["message"] for p in first["data"]]
    before = graph.get(
        f"/{TINH_PAGE}/published_posts",
        params={"limit": 1, "before": second["paging"]["cursors"]["before"]},
    ).json()
    assert [p["message"] for p in before["data"]] == ["Thứ tự 3"]


def test_client_credentials_gives_the_app_token(sb: SandboxHandle):
    tokens = sb.tokens()["graph"]
    answer = httpx.get(
        f"{sb.graph_url}/{GRAPH_VERSION}/oauth/access_token",
        params={
            "grant_type": "client_credentials",
            "client_id": tokens["app_id"],
            "client_secret": tokens["app_secret"],
        },
    ).json()
    assert answer == {"access_token": tokens["app_token"], "token_type": "bearer"}


def test_each_answer_has_its_own_trace_id_and_an_error_repeats_it(graph: httpx.Client):
    one, two = graph.get(f"/{TINH_PAGE}"), graph.get(f"/{TINH_PAGE}")
    assert one.headers["x-fb-trace-id"] != two.headers["x-fb-trace-id"]
    error = graph.get("/123456789")
    assert error.headers["x-fb-trace-id"] == error.json()["error"]["fbtrace_id"]
