"""Zalo broadcast caps are tracked by Loa: one a day per OA, the package's number a month."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.testing import running_sandbox
from scheduler.channels import build_channel
from scheduler.channels.base import Processing, Published, TransientError
from scheduler.channels.broadcast_caps import BroadcastLedger
from scheduler.channels.zalo import BROADCAST_STEP
from tests.channels.conftest import OA_ID, make_env
from tests.channels.test_channels_zalo import article_post
from tests.helpers import HCM, FakeClock

MORNING = datetime(2026, 11, 24, 9, 0, tzinfo=HCM)


def test_one_broadcast_a_day_then_the_next_morning(engine):
    ledger = BroadcastLedger(engine, HCM, per_month=4)
    assert ledger.reserve("tinh-zalo", MORNING).ok
    second = ledger.reserve("tinh-zalo", MORNING + timedelta(hours=5))
    assert not second.ok and "today" in second.reason
    assert second.retry_at == datetime(2026, 11, 25, 6, 0, tzinfo=HCM)
    assert ledger.reserve("tinh-zalo", MORNING + timedelta(days=1)).ok
    assert ledger.reserve("xa-zalo", MORNING).ok  # each OA has its own followers


def test_a_retried_broadcast_finds_its_own_reservation_and_goes(engine):
    """A broadcast refused before sending (a rate limit) is retried the same day: it must not
    wait until tomorrow behind its own reservation; another article still waits."""
    ledger = BroadcastLedger(engine, HCM, per_month=2)
    assert ledger.reserve("tinh-zalo", MORNING, holder="article-1").ok
    assert ledger.reserve("tinh-zalo", MORNING + timedelta(minutes=1), holder="article-1").ok
    other = ledger.reserve("tinh-zalo", MORNING + timedelta(minutes=2), holder="article-2")
    assert not other.ok and other.retry_at is not None
    # The retry took no second share of the month.
    assert ledger.reserve("tinh-zalo", MORNING + timedelta(days=1), holder="article-2").ok


def test_the_monthly_cap_skips_further_broadcasts_until_next_month(engine):
    ledger = BroadcastLedger(engine, HCM, per_month=2)
    assert ledger.reserve("tinh-zalo", MORNING).ok
    assert ledger.reserve("tinh-zalo", MORNING + timedelta(days=1)).ok
    third = ledger.reserve("tinh-zalo", MORNING + timedelta(days=2))
    assert not third.ok and third.retry_at is None and "2026-11" in third.reason
    assert ledger.reserve("tinh-zalo", datetime(2026, 12, 1, 9, 0, tzinfo=HCM)).ok


async def test_a_second_broadcast_the_same_day_waits_without_reaching_zalo(
    media_server, tmp_path, monkeypatch
):
    day = MORNING.astimezone(UTC)
    with running_sandbox(seed=7, verify_pending_polls=0) as sb:
        sb.set_clock(day.timestamp())
        env = make_env(sb, tmp_path, monkeypatch, media_server, broadcast=True)
        clock = FakeClock(day)
        oa = build_channel("tinh-zalo", env.config, engine=env.engine, clock=clock)

        async def publish_until_broadcast(text: str):
            post = article_post(first_attempt_at=day, text=text, title=text[:40])
            created = await oa.publish(post)
            verified = await oa.publish(
                replace(post, pending_step=created.step, pending_ref=created.ref)
            )
            assert isinstance(verified, Processing) and verified.step == BROADCAST_STEP
            return replace(post, pending_step=verified.step, pending_ref=verified.ref)

        first = await publish_until_broadcast("Bài thứ nhất: cảnh giác lừa đảo")
        assert isinstance(await oa.publish(first), Published)
        second = await publish_until_broadcast("Bài thứ hai: đường dây nóng 113")
        with pytest.raises(TransientError, match="at most one a day") as caught:
            await oa.publish(second)
        assert caught.value.retry_after == pytest.approx(21 * 3600)
        assert not caught.value.channel_wide
        assert len(sb.broadcasts(OA_ID)["broadcasts"]) == 1
        await oa.aclose()
        env.engine.dispose()
