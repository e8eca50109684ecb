"""One parser of typed times for every face: DD/MM/YYYY HH:MM, DD/MM HH:MM and ISO, in
office time; a date without a time and an impossible date are refused with one line."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from content.errors import ValidationError
from content.times import TimeRefused, parse_date, parse_when
from tests.helpers import HCM, local

#: Monday 23/11/2026 08:00 office time.
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def when(text: str) -> datetime:
    return parse_when(text, HCM, now=NOW)


@pytest.mark.parametrize(
    "typed",
    [
        "20/12/2026 09:00",
        "20/12/2026 9:00",
        "20/12/2026 9h00",
        "20/12/2026 9h",
        "  20/12/2026   09:00 ",
        "20-12-2026 09:00",
        "20.12.2026 09:00",
        "09:00 20/12/2026",
        "20/12 09:00",
        "2026-12-20 09:00",
        "2026-12-20T09:00",
        "2026-12-20T09:00:00+07:00",
        "2026-12-20T02:00:00Z",
    ],
)
def test_every_accepted_form_is_the_same_office_time(typed):
    assert when(typed) == local("2026-12-20 09:00").astimezone(UTC)


def test_day_and_month_alone_mean_this_year_or_next():
    assert when("23/11 07:00") == local("2026-11-23 07:00")  # today counts (the queue says past)
    assert when("31/12 20:00") == local("2026-12-31 20:00")
    assert when("01/01 07:30") == local("2027-01-01 07:30")
    assert when("22/11 07:30") == local("2027-11-22 07:30")


@pytest.mark.parametrize("typed", ["20/12/2026", "2026-12-20", "20/12"])
def test_a_date_without_a_time_is_refused_with_a_hint(typed):
    with pytest.raises(TimeRefused) as refused:
        when(typed)
    assert refused.value.code == "time_no_clock"
    assert f"add a time, e.g. {typed} 09:00" in str(refused.value)
    assert "\n" not in str(refused.value)


def test_an_impossible_date_is_one_clear_line():
    with pytest.raises(TimeRefused) as refused:
        when("31/02/2026 25:00")
    assert str(refused.value) == (
        "at: '31/02/2026 25:00' is not a real date and time: "
        "02/2026 has no day 31 and there is no hour 25 (00 to 23)"
    )
    assert refused.value.code == "time_impossible"
    for typed, problem in (
        ("29/02/2026 10:00", "02/2026 has no day 29"),
        ("10/13/2026 10:00", "there is no month 13"),
        ("10/12/2026 10:75", "there is no minute 75"),
    ):
        with pytest.raises(TimeRefused, match=problem):
            when(typed)


def test_words_are_not_times():
    with pytest.raises(TimeRefused) as refused:
        parse_when("mai", HCM, field="--at", now=NOW)
    assert str(refused.value).startswith("--at: 'mai' is not a time; expected DD/MM/YYYY HH:MM")
    assert refused.value.code == "time_format"
    assert isinstance(refused.value, ValidationError)


def test_dates_take_both_forms():
    assert parse_date("20/12/2026", field="--from") == date(2026, 12, 20)
    assert parse_date("2026-12-20", field="--from") == date(2026, 12, 20)
    with pytest.raises(ValidationError, match="expected DD/MM/YYYY or YYYY-MM-DD"):
        parse_date("31/02/2026", field="--from")
