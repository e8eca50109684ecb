"""Loa's copy of the Graph version calendar (docs/platforms/facebook-graph.md#versions)."""

from __future__ import annotations

from datetime import date

from scheduler.channels.graph_versions import end_date, newest_version, notice
from scheduler.config import DEFAULT_GRAPH_VERSION


def test_the_default_version_is_the_newest_known():
    assert DEFAULT_GRAPH_VERSION == newest_version() == "v26.0"
    assert notice(DEFAULT_GRAPH_VERSION, date(2026, 11, 30)) is None


def test_a_warning_starts_60_days_before_the_end_date():
    assert end_date("v21.0") == date(2027, 1, 21)
    assert notice("v21.0", date(2026, 11, 21)) is None
    found = notice("v21.0", date(2026, 11, 22))
    assert found is not None and not found.expired
    assert found.text() == "Graph API v21.0 ends on 2027-01-21"


def test_an_ended_version_says_meta_serves_another():
    found = notice("v20.0", date(2026, 11, 30))
    assert found is not None and found.expired and "oldest live version" in found.text()
    old = notice("v2.0", date(2026, 11, 30))
    assert old is not None and old.expired
