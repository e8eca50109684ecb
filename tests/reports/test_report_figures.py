"""The weekly figures match an independent computation over the fixture's plain data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from content.errors import ValidationError
from scheduler.report_data import (
    parse_week,
    previous_week,
    week_just_ended,
    week_period,
    weekly_figures,
)
from tests.helpers import HCM, local
from tests.reports.conftest import (
    PREVIOUS_START,
    WEEK,
    WEEK_END,
    WEEK_START,
    permalink_of,
)
from tests.reports.expected import actual, expected_rows, expected_sums


def test_week_boundaries_are_monday_midnight_in_the_office_zone():
    period = week_period("2026-W47", HCM)
    assert period.start == WEEK_START.astimezone(UTC)
    assert period.end == WEEK_END.astimezone(UTC)
    assert period.start.isoformat() == "2026-11-15T17:00:00+00:00"
    assert (period.first_day.isoformat(), period.last_day.isoformat()) == (
        "2026-11-16",
        "2026-11-22",
    )
    assert previous_week("2026-W01") == "2025-W52"
    assert parse_week("2026w48") == (2026, 48)
    with pytest.raises(ValidationError):
        parse_week("2026-W54")


def test_the_week_that_just_ended_is_judged_in_office_time():
    # Sunday 23:30 local: week 47 has not ended yet.
    assert week_just_ended(local("2026-11-22 23:30"), HCM) == "2026-W46"
    assert week_just_ended(local("2026-11-23 00:00"), HCM) == "2026-W47"
    # Monday 00:30 local is still Sunday in UTC: the office's zone decides.
    assert week_just_ended(datetime(2026, 11, 22, 17, 30, tzinfo=UTC), HCM) == "2026-W47"


def test_weekly_figures_match_an_independent_computation(engine, config, dataset):
    figures = weekly_figures(engine, config.directory(), WEEK)
    rows = expected_rows(WEEK_START, WEEK_END)
    before = expected_rows(PREVIOUS_START, WEEK_START)
    assert len(rows) == 8 and len(before) == 2
    assert figures.current.total.engagement > 0 and figures.previous.total.engagement > 0

    # Per channel, this week and the week before.
    by_channel = expected_sums(rows, lambda r: [r["pub"].channel])
    for channel, sums in by_channel.items():
        assert actual(figures.current.by_channel[channel]) == pytest.approx(sums), channel
    prev_channel = expected_sums(before, lambda r: [r["pub"].channel])
    for channel, sums in prev_channel.items():
        assert actual(figures.previous.by_channel[channel]) == pytest.approx(sums), channel
    assert figures.previous.by_channel["tinh-zalo"].publications == 0

    # Totals and the engagement rate (sum of engagement over sum of views).
    total = expected_sums(rows, lambda r: ["all"])["all"]
    assert actual(figures.current.total) == pytest.approx(total)
    assert figures.current.total.rate == pytest.approx(total["engagement"] / total["views"])

    # Per campaign (None = posts without one).
    by_campaign = expected_sums(rows, lambda r: [r["campaign"]])
    assert set(figures.current.by_campaign) == set(by_campaign)
    for campaign, sums in by_campaign.items():
        assert actual(figures.current.by_campaign[campaign]) == pytest.approx(sums), campaign

    # Per group from the config.
    groups = {"fb": ("tinh-fb", "xa-fb"), "tinh": ("tinh-fb", "tinh-zalo")}
    by_group = expected_sums(
        rows, lambda r: [g for g, members in groups.items() if r["pub"].channel in members]
    )
    for group, sums in by_group.items():
        assert actual(figures.current.by_group[group]) == pytest.approx(sums), group

    # Ranking of units by engagement per post.
    units = {**by_group, **by_channel}
    ranked = sorted(units, key=lambda k: -units[k]["engagement"] / units[k]["posts"])
    assert [u.key for u in figures.current.ranking()] == ranked

    # Top five with permalinks.
    top = sorted(rows, key=lambda r: (-r["engagement"], -r["views"]))[:5]
    assert [(t.post_id, t.channel) for t in figures.top] == [
        (dataset.post_ids[r["pub"].post], r["pub"].channel) for r in top
    ]
    assert [t.permalink for t in figures.top] == [permalink_of(r["pub"], dataset) for r in top]


def test_samples_after_the_week_end_are_ignored(engine, config, dataset):
    figures = weekly_figures(engine, config.directory(), WEEK)
    last_minute = next(
        r for r in figures.current.rows if r.published_at == local("2026-11-22 23:59")
    )
    # The sample at 23:59 counts; the one at exactly Monday 00:00 and later do not.
    assert (last_minute.value("views"), last_minute.value("reactions")) == (50.0, 4.0)
    # A publication exactly at the week's end belongs to the next week.
    assert all(r.published_at < WEEK_END for r in figures.current.rows)


def test_open_problems_list_failed_and_needs_review_deliveries(engine, config, dataset):
    figures = weekly_figures(engine, config.directory(), WEEK)
    found = {(p.post_id, p.channel, p.state) for p in figures.problems}
    failed_post = dataset.post_ids[6]
    assert found == {(failed_post, "tinh-fb", "failed"), (failed_post, "xa-fb", "needs_review")}
    failed = next(p for p in figures.problems if p.state == "failed")
    assert failed.reason == "PermanentError 368: Nội dung vi phạm tiêu chuẩn"
