"""Facebook metrics: batch requests (50 operations each), defensive insight metric names."""

from __future__ import annotations

import json
import logging

import httpx

from sandbox.testing import running_sandbox
from scheduler.channels import build_channel
from scheduler.channels.base import OutgoingPost, Published
from scheduler.channels.facebook import FacebookPage, parse_post_figures
from tests.channels.conftest import PAGE_ID, make_env


async def no_sleep(seconds: float) -> None:
    raise AssertionError(f"the client wanted to pause {seconds} s")


def batch_calls(sb) -> int:
    return sum(1 for r in sb.requests(limit=5000)["log"] if r["path"] == "/graph/batch")


async def publish_many(page: FacebookPage, count: int) -> list[str]:
    ids = []
    for i in range(count):
        result = await page.publish(
            OutgoingPost(delivery_id=i, channel="tinh-fb", text=f"Bài tuyên truyền số {i}")
        )
        assert isinstance(result, Published)
        ids.append(result.remote_id)
    return ids


async def test_120_posts_in_3_batch_calls(media_server, tmp_path, monkeypatch):
    # A budget large enough that 120 publishes and 120 reads stay far from throttling.
    with running_sandbox(seed=7, graph_call_budget=100_000) as sb:
        env = make_env(sb, tmp_path, monkeypatch, media_server)
        await _read_120(env)
        env.engine.dispose()


async def _read_120(env) -> None:
    page = build_channel("tinh-fb", env.config, engine=env.engine, sleep=no_sleep)
    ids = await publish_many(page, 120)
    env.sb.advance_clock(3 * 86400)  # let engagement grow
    before = batch_calls(env.sb)
    figures = await page.fetch_metrics(ids)
    assert set(figures) == set(ids)
    for post_id in ids:
        row = figures[post_id]
        assert set(row) == {"reactions", "comments", "shares", "views", "reach", "clicks"}
    # Figures match what the sandbox reports for each post.
    truth = {p["id"]: p["engagement"] for p in env.sb.posts(PAGE_ID)}
    for post_id in ids[:10]:
        assert figures[post_id]["views"] == truth[post_id]["views"]
        assert figures[post_id]["reactions"] == truth[post_id]["reactions_total"]
        assert figures[post_id]["comments"] == truth[post_id]["comments"]
        assert figures[post_id]["shares"] == truth[post_id]["shares"]
        assert figures[post_id]["clicks"] == truth[post_id]["clicks"]
    assert batch_calls(env.sb) - before == 3
    await page.aclose()


async def test_retired_metric_is_dropped_with_one_warning(
    module_sandbox, media_server, tmp_path, monkeypatch, caplog
):
    module_sandbox.reset()
    env = make_env(
        module_sandbox,
        tmp_path,
        monkeypatch,
        media_server,
        metrics=["post_impressions", "post_media_view", "post_clicks"],
    )
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    ids = await publish_many(page, 3)
    env.sb.advance_clock(86400)
    caplog.set_level(logging.WARNING)
    figures = await page.fetch_metrics(ids)
    assert set(figures) == set(ids)
    assert all({"views", "clicks", "reactions"} <= set(row) for row in figures.values())
    warnings = [r for r in caplog.records if "post_impressions" in r.getMessage()]
    assert len(warnings) == 1
    # The next run asks only for the names Graph still accepts: no retry, no warning.
    caplog.clear()
    before = batch_calls(env.sb)
    again = await page.fetch_metrics(ids)
    assert set(again) == set(ids)
    assert not [r for r in caplog.records if "post_impressions" in r.getMessage()]
    assert batch_calls(env.sb) - before <= 2
    await page.aclose()
    env.engine.dispose()


async def test_deleted_post_is_left_out(env):
    page = build_channel("tinh-fb", env.config, engine=env.engine)
    ids = await publish_many(page, 2)
    await page.delete(ids[0])
    figures = await page.fetch_metrics(ids)
    assert set(figures) == {ids[1]}
    await page.aclose()


def test_missing_shares_count_as_zero():
    body = {
        "reactions": {"data": [], "summary": {"total_count": 4}},
        "comments": {"data": [], "summary": {"total_count": 2}},
        "insights": {
            "data": [
                {"name": "post_media_view", "values": [{"value": 120}]},
                {"name": "post_clicks", "values": [{"value": {"link clicks": 3, "other": 2}}]},
            ]
        },
    }
    assert parse_post_figures(body) == {
        "reactions": 4,
        "comments": 2,
        "shares": 0,
        "views": 120,
        "clicks": 5,
    }


async def test_graph_without_insights_field_expansion_gets_two_ops_per_post(env):
    """Some Graph versions answer ``(#100) Tried accessing nonexisting field (insights)``
    to ``fields=insights.metric(...)``: the client then reads the /insights edge instead."""
    seen: list[list[str]] = []

    def graph(request: httpx.Request) -> httpx.Response:
        ops = json.loads(dict(httpx.QueryParams(request.content.decode()))["batch"])
        seen.append([op["relative_url"] for op in ops])
        answers = []
        for op in ops:
            url = op["relative_url"]
            if "insights.metric" in url:
                body = {
                    "error": {
                        "code": 100,
                        "message": "(#100) Tried accessing nonexisting "
                        "field (insights) on node type (PagePost)",
                    }
                }
                answers.append({"code": 400, "body": json.dumps(body)})
            elif "/insights?" in url:
                data = [
                    {"name": "post_media_view", "values": [{"value": 10}]},
                    {"name": "post_clicks", "values": [{"value": 2}]},
                ]
                answers.append({"code": 200, "body": json.dumps({"data": data})})
            else:
                body = {
                    "reactions": {"summary": {"total_count": 1}},
                    "comments": {"summary": {"total_count": 0}},
                }
                answers.append({"code": 200, "body": json.dumps(body)})
        return httpx.Response(200, json=answers)

    page = build_channel(
        "tinh-fb", env.config, engine=env.engine, transport=httpx.MockTransport(graph)
    )
    ids = [f"{PAGE_ID}_{n}" for n in range(30)]
    figures = await page.fetch_metrics(ids)
    assert figures[ids[0]] == {"reactions": 1, "comments": 0, "shares": 0, "views": 10, "clicks": 2}
    assert [len(call) for call in seen] == [30, 50, 10]
    assert all("insights.metric" not in url for url in seen[1] + seen[2])
    await page.aclose()
