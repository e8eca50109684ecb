"""Aware datetimes only: parse what people type in the office's time zone, store UTC."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from content.errors import ValidationError
from content.formatting import moment
from content.messages import Notice

#: How far in the past a time typed as "now" may be by the time it is checked.
NOW_TOLERANCE_SECONDS = 60


def utcnow() -> datetime:
    """The current time, aware, in UTC. The default clock; tests inject their own."""
    return datetime.now(UTC)


class TimeRefused(ValidationError):
    """A typed time Loa will not guess at.

    Codes: ``time_no_clock`` (a date without a time of day), ``time_impossible`` (no such
    day, hour or minute), ``time_format`` (not a time at all), ``time_empty``.
    """


#: What to type, as the refusals say it.
TIME_FORMATS = "DD/MM/YYYY HH:MM, DD/MM HH:MM or YYYY-MM-DD HH:MM"

_CLOCK = r"(?P<hour>\d{1,2})(?:[:hH](?P<minute>\d{2})?)"
_DAY_FIRST = r"(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})(?:[/.-](?P<year>\d{4}))?"
_ISO_DAY = r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
#: Day first (20/12/2026 09:00, 20/12 9h30) or ISO; the time may also come first
#: ("09:00 20/12/2026"), as offices write it. No seconds, no offset: ISO 8601 covers those.
_TYPED = tuple(
    re.compile(rf"^\s*{pattern}\s*$")
    for pattern in (
        rf"{_DAY_FIRST}(?:\s+|\s*[,T]\s*){_CLOCK}",
        rf"{_CLOCK}\s*,?\s+{_DAY_FIRST}",
        rf"{_ISO_DAY}(?:\s+|T){_CLOCK}",
    )
)
_DATE_ONLY = tuple(re.compile(rf"^\s*{p}\s*$") for p in (_DAY_FIRST, _ISO_DAY))


def parse_when(
    text: str, tz: ZoneInfo, *, field: str = "at", now: datetime | None = None
) -> datetime:
    """What a person typed as a time, in the office's zone, to aware UTC.

    The one parser of typed times for every face (CLI, TUI, CSV import). Accepts
    ``DD/MM/YYYY HH:MM`` (how Vietnamese offices write dates; ``9h30`` too), ``DD/MM HH:MM``
    (this year, or next year once that day has passed: ``now`` decides, the current time
    when not given) and ISO 8601 with or without an offset. A date without a time of day is
    refused rather than taken as midnight, and an impossible one (31/02, 25:00) is refused
    with one line; both as :class:`TimeRefused`.
    """
    value = text.strip()
    if not value:
        raise TimeRefused("time_empty", field=field, formats=TIME_FORMATS)
    for pattern in _TYPED:
        match = pattern.match(value)
        if match:
            return _from_parts(match.groupdict(), value, tz, field=field, now=now)
    for pattern in _DATE_ONLY:
        if pattern.match(value):
            example = f"{value} 09:00"
            raise TimeRefused(
                "time_no_clock",
                field=field,
                text=value,
                example=example,
            )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TimeRefused("time_format", field=field, text=value, formats=TIME_FORMATS) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _from_parts(
    parts: dict[str, str | None], value: str, tz: ZoneInfo, *, field: str, now: datetime | None
) -> datetime:
    """The office-time moment of matched day, month, (year), hour and minute, as UTC."""
    day, month = int(parts["day"] or 0), int(parts["month"] or 0)
    hour, minute = int(parts["hour"] or 0), int(parts["minute"] or 0)
    if parts["year"]:
        year = int(parts["year"])
    else:
        # No year: the next time this day comes round (today counts: a past hour today is
        # then refused as past by the queue, which says so, rather than moved a year on).
        today = (now or utcnow()).astimezone(tz).date()
        year = today.year
        try:
            if date(year, month, day) < today:
                year += 1
        except ValueError:
            pass  # reported below, with the year it was read in
    problems: list[Notice] = []
    if not 1 <= month <= 12:
        problems.append(Notice("no_month", month=month))
    elif not 1 <= day <= calendar.monthrange(year, month)[1]:
        problems.append(Notice("no_day", month=month, year=year, day=day))
    if hour > 23:
        problems.append(Notice("no_hour", hour=hour))
    if minute > 59:
        problems.append(Notice("no_minute", minute=minute))
    if problems:
        said = problems[0]
        for problem in problems[1:]:
            said = Notice("and", first=said, then=problem)
        raise TimeRefused("time_impossible", field=field, text=value, problems=said)
    return datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(UTC)


def parse_date(text: str, *, field: str) -> date:
    """Parse a day as typed: ``DD/MM/YYYY`` or ``YYYY-MM-DD``."""
    value = text.strip()
    match = _DATE_ONLY[0].match(value)
    try:
        if match and match["year"]:
            return date(int(match["year"]), int(match["month"]), int(match["day"]))
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError("date_format", field=field, text=text) from None


def local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 in the office time zone, with its offset (the stable JSON format)."""
    if value is None:
        return None
    return value.astimezone(tz).isoformat(timespec="seconds")


def local_text(value: datetime | None, tz: ZoneInfo) -> str:
    """``YYYY-MM-DD HH:MM`` in the office time zone, for files programs read (CSV)."""
    if value is None:
        return "-"
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def office_text(value: datetime | None, tz: ZoneInfo, lang: str | None = None) -> str:
    """A time in the office's zone as a person there reads it in ``lang`` (the current
    language by default): ``02/12/2026 07:30`` in Vietnamese (what :func:`parse_when` takes
    back), ISO in English; ``-`` for none."""
    if value is None:
        return "-"
    return moment(value.astimezone(tz), lang)


def local_start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of ``day`` in the office time zone, as UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def parse_slot(text: str, *, field: str) -> time:
    """Parse a posting slot ``HH:MM``."""
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError("slot_format", field=field, text=text) from None
