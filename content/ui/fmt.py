"""How values look in the UI: dates in the office's format, states and errors in plain words.

Numbers and date formats come from :mod:`content.formatting`, which the reports use too."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from content import formatting
from content.health import LATE_AFTER, is_late
from content.labels import (  # noqa: F401  (the screens know the labels from here too)
    DELIVERY_STATE_LABELS,
    LATE,
    POST_STATE_LABELS,
    delivery_state,
    post_state,
)
from content.listing import ATTENTION
from content.ui.i18n import N_, _, language

#: One symbol per delivery state, so a row of channels reads at a glance.
DELIVERY_SYMBOLS = {
    "pending": "○",
    "sending": "↻",
    "published": "✓",
    "failed": "✗",
    "needs_review": "!",
    "cancelled": "–",
}

#: Rich styles per state (colour is a hint; the symbol and word carry the meaning).
DELIVERY_STYLES = {
    "pending": "",
    "sending": "bold cyan",
    "published": "green",
    "failed": "bold red",
    "needs_review": "bold yellow",
    "cancelled": "dim",
}

POST_STATE_STYLES = {
    "draft": "",
    "in_review": "yellow",
    "approved": "cyan",
    "scheduled": "bold cyan",
    "done": "green",
    "cancelled": "dim",
    LATE: "bold red",
    ATTENTION: "bold yellow",
}

_ERROR_CLASS_TEXT = {
    "transient": N_("The platform was busy or unreachable; Loa will try again by itself."),
    "auth": N_(
        "The channel's login (token) is no longer valid: ask the administrator to renew it."
    ),
    "content": N_(
        "The platform refused this content; change the post (text, image or link) and reschedule."
    ),
    "error": N_("Publishing failed."),
}

WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))

#: Accepted as "as soon as approved" in the time field, in both languages.
NOW_WORDS = frozenset({"now", "bây giờ", "ngay", "ngay bây giờ"})


def shown_state(
    state: str, scheduled_at: datetime | None, delivery_states: Iterable[str], now: datetime
) -> str:
    """The state a queue row shows; "scheduled" only while the post's time is to come.

    Past its time, a scheduled post not yet settled is ``late`` while a delivery waits (the
    health bar's rule, :func:`content.health.is_late`, so the rows the bar counts are the
    rows that say so), else ``attention`` when one failed or must be checked ("!" lists
    it). A delivery being sent keeps "scheduled": it is on its way.
    """
    if state != "scheduled" or scheduled_at is None or scheduled_at > now - LATE_AFTER:
        return state
    states = list(delivery_states)
    if is_late(scheduled_at, states, now):
        return LATE
    if any(s in ("failed", "needs_review") for s in states):
        return ATTENTION
    return state


def date_format() -> str:
    """The office's date-and-time format: day first in Vietnamese, ISO in English."""
    return formatting.date_format(language())


def time_placeholder() -> str:
    """What to type in a time field."""
    return "DD/MM/YYYY HH:MM" if language() == "vi" else "YYYY-MM-DD HH:MM"


def when(value: datetime | None, tz: ZoneInfo) -> str:
    """An aware UTC datetime in the office time zone and format; "-" when there is none."""
    if value is None:
        return "-"
    return value.astimezone(tz).strftime(date_format())


def when_long(value: datetime | None, tz: ZoneInfo) -> str:
    """Like :func:`when`, with the weekday, for confirmations."""
    if value is None:
        return _("no time yet")
    local = value.astimezone(tz)
    weekday = _(WEEKDAYS[local.weekday()])
    return f"{weekday} {local.strftime(date_format())}"


def date_placeholder() -> str:
    """What to type in a date field."""
    return "DD/MM/YYYY" if language() == "vi" else "YYYY-MM-DD"


def error_in_words(error_class: str | None, code: str | None, message: str | None) -> str:
    """A delivery's last error as a sentence an officer can act on, with the platform's words."""
    if not (error_class or code or message):
        return ""
    advice = _(_ERROR_CLASS_TEXT.get(error_class or "error", _ERROR_CLASS_TEXT["error"]))
    detail = " ".join(p for p in (f"[{code}]" if code else "", message or "") if p)
    return f"{advice} {_('Platform said:')} {detail}" if detail else advice


def number(n: float) -> str:
    """A count with thousands separators as the language writes them (20.000 / 20,000)."""
    return formatting.number(n, language())


def first_line(text: str, width: int = 60) -> str:
    """The first non-empty line of ``text``, cut to ``width`` characters."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"
