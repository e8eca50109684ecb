"""Follower counts: the engagement job reads a Page's and an OA's count from the sandbox
(Graph ``followers_count``, Zalo ``num_follower``) at most once a day, and one that fails
is logged while the other is still stored."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from content.engagement import latest_followers
from content.models import FollowerSample
from scheduler.channels import build_channel
from scheduler.metrics import collect
from tests.channels.conftest import OA_ID, PAGE_ID, Env, utcnow
from tests.helpers import FakeClock


def followers_of(env: Env) -> dict[str, int]:
    """What the sandbox says each channel has (its identities' follower counts)."""
    page = next(p for p in env.sb.config.pages if p.page_id == PAGE_ID)
    oa = next(o for o in env.sb.config.oas if o.oa_id == OA_ID)
    return {"tinh-fb": page.followers, "tinh-zalo": oa.followers}


def count_calls(env: Env) -> dict[str, int]:
    """Reads of a channel's own node the sandbox saw: the Page's and the OA's profile."""
    log = env.sb.requests(limit=5000)["log"]
    return {
        "page": sum(1 for r in log if r["method"] == "GET" and r["path"].endswith(f"/{PAGE_ID}")),
        "getoa": sum(1 for r in log if r["path"].endswith("/oa/getoa")),
    }


async def test_the_job_stores_a_page_and_an_oa_count_once_a_day(env: Env):
    clock = FakeClock(utcnow())
    channels = {
        cid: build_channel(cid, env.config, engine=env.engine) for cid in env.config.channels
    }
    try:
        report = await collect(env.engine, channels, clock)
        want = followers_of(env)
        assert report.followers == 2 and report.followers_failed == {}
        assert latest_followers(env.engine) == want
        assert count_calls(env) == {"page": 1, "getoa": 1}

        # Twenty-three hours later: not asked again.
        clock.advance(hours=23)
        report = await collect(env.engine, channels, clock)
        assert report.followers == 0
        assert count_calls(env) == {"page": 1, "getoa": 1}

        # A day after the first count: a second sample for each.
        clock.advance(hours=1)
        assert (await collect(env.engine, channels, clock)).followers == 2
        with Session(env.engine) as session:
            rows = session.exec(select(FollowerSample).order_by(FollowerSample.id)).all()
        assert sorted((r.channel, r.followers) for r in rows) == sorted([*want.items()] * 2)
        assert [r.collected_at for r in rows[2:]] == [clock.now, clock.now]
    finally:
        for channel in channels.values():
            await channel.aclose()


async def test_a_page_that_cannot_say_is_logged_and_the_oa_still_counted(env: Env, caplog):
    env.sb.set_faults(PAGE_ID, error_rate=1.0)
    clock = FakeClock(utcnow())
    channels = {
        cid: build_channel(cid, env.config, engine=env.engine) for cid in env.config.channels
    }
    caplog.set_level(logging.WARNING, logger="loa.metrics")
    try:
        report = await collect(env.engine, channels, clock)
        assert report.followers == 1
        assert set(report.followers_failed) == {"tinh-fb"}
        assert latest_followers(env.engine) == {"tinh-zalo": followers_of(env)["tinh-zalo"]}
        assert any("followers of tinh-fb failed" in r.getMessage() for r in caplog.records)
        # Not counted: asked again on the next run, and stored once the Page answers.
        env.sb.clear_faults(PAGE_ID)
        clock.advance(minutes=5)
        report = await collect(env.engine, channels, clock)
        assert (report.followers, report.followers_failed) == (1, {})
        assert latest_followers(env.engine) == followers_of(env)
    finally:
        for channel in channels.values():
            await channel.aclose()
