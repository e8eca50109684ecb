"""One way per language to write a figure, shared by the TUI, the CLI and the reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from content import formatting
from content.i18n import language, set_language
from content.ui import fmt


@pytest.fixture
def restore_language():
    before = language()
    yield
    set_language(before)


@pytest.mark.parametrize(
    ("lang", "count", "decimal", "rate"),
    [("vi", "1.234.567", "1.234,5", "5,2%"), ("en", "1,234,567", "1,234.5", "5.2%")],
)
def test_numbers_read_as_the_language_writes_them(lang, count, decimal, rate, restore_language):
    assert formatting.number(1234567, lang) == count
    assert formatting.number(1234.5, lang, 1) == decimal
    assert formatting.percent(0.052, lang) == rate
    assert formatting.percent(None, lang) == "–"
    # The TUI and the CLI say the same as the reports.
    set_language(lang)
    assert fmt.number(1234567) == count


def test_a_change_from_the_week_before():
    assert formatting.change(115, 100, "vi") == "+15 (+15,0%)"
    assert formatting.change(80, 100, "en") == "−20 (−20.0%)"
    assert formatting.change(5, 0, "vi") == "+5 (mới)"
    assert formatting.change(0, 0, "en") == "±0"


@pytest.mark.parametrize(
    ("wait", "vi", "en"),
    [
        (timedelta(minutes=45), "45 phút", "45 min"),
        (timedelta(hours=1, minutes=20), "1 giờ 20 phút", "1 h 20 min"),
        (timedelta(hours=2), "2 giờ", "2 h"),
        (timedelta(hours=27, seconds=20), "1 ngày 3 giờ", "1 d 3 h"),
        (None, "–", "–"),
    ],
)
def test_a_wait_in_words(wait, vi, en):
    assert formatting.duration(wait, "vi") == vi
    assert formatting.duration(wait, "en") == en


def test_the_periodic_report_counts_a_wait_in_hours():
    """Against a target of 24 hours, '61 giờ 1 phút' reads better than '2 ngày 13 giờ'."""
    assert formatting.duration(3661, "vi", days=False) == "61 giờ 1 phút"
    assert formatting.duration(24 * 60, "vi", days=False) == "24 giờ"
