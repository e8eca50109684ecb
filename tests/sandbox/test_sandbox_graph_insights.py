"""Graph stand-in: post insights and engagement that grows with simulated time."""

from __future__ import annotations

import httpx

from sandbox.testing import SandboxHandle
from tests.sandbox.conftest import TINH_PAGE

ENGAGEMENT_FIELDS = "reactions.summary(total_count).limit(0),comments.summary(true).limit(0),shares"


def _post(graph: httpx.Client) -> str:
    return graph.post(f"/{TINH_PAGE}/feed", data={"message": "Số liệu"}).json()["id"]


def test_current_metrics_answer_with_lifetime_values(sb: SandboxHandle, graph: httpx.Client):
    post_id = _post(graph)
    sb.advance_clock(6 * 3600)
    metrics = (
        "post_media_view,post_total_media_view_unique,post_clicks,post_reactions_by_type_total"
    )
    data = graph.get(f"/{post_id}/insights", params={"metric": metrics}).json()["data"]
    by_name = {item["name"]: item for item in data}
    assert set(by_name) == set(metrics.split(","))
    assert by_name["post_media_view"]["values"][0]["value"] > 0
    assert by_name["post_media_view"]["period"] == "lifetime"
    assert isinstance(by_name["post_reactions_by_type_total"]["values"][0]["value"], dict)


def test_one_retired_metric_fails_the_whole_call(graph: httpx.Client) -> None:
    post_id = _post(graph)
    for retired in ("post_impressions", "post_impressions_unique", "post_engaged_users"):
        response = graph.get(
            f"/{post_id}/insights", params={"metric": f"post_media_view,{retired}"}
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == 100
        assert error["message"] == "(#100) The value must be a valid insights metric"


def test_no_metric_is_a_3001_with_subcode_1504028(graph: httpx.Client) -> None:
    error = graph.get(f"/{_post(graph)}/insights").json()["error"]
    assert (error["code"], error["error_subcode"]) == (3001, 1504028)


def test_engagement_rises_with_simulated_time(sb: SandboxHandle, graph: httpx.Client) -> None:
    post_id = _post(graph)
    totals = []
    for _ in range(4):
        sb.advance_clock(3 * 3600)
        body = graph.get(f"/{post_id}", params={"fields": ENGAGEMENT_FIELDS}).json()
        totals.append(
            (
                body["reactions"]["summary"]["total_count"],
                body["comments"]["summary"]["total_count"],
            )
        )
    assert totals == sorted(totals)
    assert totals[-1][0] > totals[0][0] > 0


def test_engagement_is_the_same_for_the_same_seed(sb: SandboxHandle, graph: httpx.Client):
    post_id = _post(graph)
    sb.advance_clock(5 * 3600)
    first = graph.get(f"/{post_id}/insights", params={"metric": "post_media_view"}).json()
    second = graph.get(f"/{post_id}/insights", params={"metric": "post_media_view"}).json()
    assert first["data"][0]["values"] == second["data"][0]["values"]


def test_insights_need_a_page_token(sb: SandboxHandle, graph: httpx.Client) -> None:
    post_id = _post(graph)
    response = httpx.get(
        f"{sb.graph_url}/v21.0/{post_id}/insights",
        params={"metric": "post_media_view", "access_token": sb.user_token},
    )
    assert response.json()["error"]["code"] == 190


def test_insights_expand_as_a_field_of_the_post(sb: SandboxHandle, graph: httpx.Client) -> None:
    post_id = _post(graph)
    sb.advance_clock(3600)
    fields = (
        "id,reactions.summary(total_count).limit(0),insights.metric(post_media_view,post_clicks)"
    )
    body = graph.get(f"/{post_id}", params={"fields": fields}).json()
    assert [m["name"] for m in body["insights"]["data"]] == ["post_media_view", "post_clicks"]


def test_a_retired_metric_in_the_field_expansion_fails_the_read(graph: httpx.Client) -> None:
    post_id = _post(graph)
    fields = "id,insights.metric(post_media_view,post_impressions)"
    error = graph.get(f"/{post_id}", params={"fields": fields}).json()["error"]
    assert error["message"] == "(#100) The value must be a valid insights metric"


def test_reaction_and_comment_edges_give_summaries(sb: SandboxHandle, graph: httpx.Client):
    post_id = _post(graph)
    sb.advance_clock(6 * 3600)
    love = graph.get(f"/{post_id}/reactions", params={"type": "LOVE", "summary": "total_count"})
    comments = graph.get(f"/{post_id}/comments", params={"summary": "true", "limit": 0})
    assert love.json()["summary"]["total_count"] > 0
    assert comments.json()["summary"]["total_count"] > 0


def test_page_insights_sum_the_pages_posts(sb: SandboxHandle, graph: httpx.Client) -> None:
    _post(graph)
    sb.advance_clock(6 * 3600)
    body = graph.get(
        f"/{TINH_PAGE}/insights", params={"metric": "page_media_view,page_follows", "period": "day"}
    ).json()
    values = {m["name"]: m["values"][0]["value"] for m in body["data"]}
    assert values["page_media_view"] > 0 and values["page_follows"] == 1500
    assert body["data"][0]["values"][0]["end_time"].endswith("+0000")
