"""Aware datetimes only: parse what people type in the office's time zone, store UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from content.errors import ValidationError

#: How far in the past a time typed as "now" may be by the time it is checked.
NOW_TOLERANCE_SECONDS = 60


def utcnow() -> datetime:
    """The current time, aware, in UTC. The default clock; tests inject their own."""
    return datetime.now(UTC)


def parse_when(text: str, tz: ZoneInfo, *, field: str = "at") -> datetime:
    """Parse ``YYYY-MM-DD HH:MM`` (office time) or ISO 8601 (with or without offset) to UTC."""
    value = text.strip()
    if not value:
        raise ValidationError("empty time; expected YYYY-MM-DD HH:MM", field=field)
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1) if "T" not in value else value)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a time; expected YYYY-MM-DD HH:MM (office time) or ISO 8601",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def parse_date(text: str, *, field: str) -> date:
    """Parse ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{text!r} is not a date; expected YYYY-MM-DD", field=field) from None


def local_iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    """ISO 8601 in the office time zone, with its offset (the stable JSON format)."""
    if value is None:
        return None
    return value.astimezone(tz).isoformat(timespec="seconds")


def local_text(value: datetime | None, tz: ZoneInfo) -> str:
    """``YYYY-MM-DD HH:MM`` in the office time zone, for tables."""
    if value is None:
        return "-"
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def local_start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of ``day`` in the office time zone, as UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def parse_slot(text: str, *, field: str) -> time:
    """Parse a posting slot ``HH:MM``."""
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a time of day; expected HH:MM", field=field
        ) from None
