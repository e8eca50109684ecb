"""How numbers, percentages, durations and dates are written, one way per language.

Every face uses these (the TUI and the CLI through :mod:`content.ui.fmt`, the weekly mail,
``loa report range`` and the periodic report directly), so a figure reads the same
everywhere: Vietnamese writes ``1.234,5`` and ``05/09/2026``, English ``1,234.5`` and
``2026-09-05``. The words (``giờ``, ``phút``) come from the gettext catalogue.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from content.i18n import language, translation

#: What a missing figure shows (no rate without views, no wait without an answer).
MISSING = "–"


def _lang(lang: str | None) -> str:
    return language() if lang is None else ("en" if lang == "en" else "vi")


def number(value: float, lang: str | None = None, decimals: int = 0) -> str:
    """``1.234`` (vi) / ``1,234`` (en); ``decimals`` digits after the decimal mark.

    ``lang`` defaults to the process's language (the TUI, the CLI); a report passes its own.
    """
    thousands, mark = (",", ".") if _lang(lang) == "en" else (".", ",")
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", mark).replace("\0", thousands)


def percent(ratio: float | None, lang: str | None = None) -> str:
    """A ratio as a percentage with one decimal (``5,2%``); ``–`` when undefined."""
    if ratio is None:
        return MISSING
    return number(ratio * 100, lang, 1) + "%"


def change(current: float, previous: float, lang: str | None = None) -> str:
    """``+12 (+15,0%)``: the change from the period before; ``new`` when there was nothing."""
    diff = current - previous
    sign = "+" if diff > 0 else ("−" if diff < 0 else "±")
    absolute = f"{sign}{number(abs(diff), lang)}"
    if previous == 0:
        if current == 0:
            return absolute
        new = translation(_lang(lang)).pgettext("report", "new")
        return f"{absolute} ({new})"
    return f"{absolute} ({sign}{number(abs(diff) / previous * 100, lang, 1)}%)"


def duration(value: timedelta | float | None, lang: str | None = None, *, days: bool = True) -> str:
    """A wait in whole minutes (a timedelta, or minutes): ``1 giờ 45 phút``, ``2 giờ``,
    ``45 phút``, ``1 ngày 3 giờ`` (vi) / ``1 h 45 min``, ``2 h``, ``45 min``, ``1 d 3 h``;
    ``–`` for none. ``days=False`` counts in hours however long (``61 giờ 1 phút``), as the
    periodic report states waits against a target in hours."""
    if value is None:
        return MISSING
    seconds = value.total_seconds() if isinstance(value, timedelta) else value * 60
    t = translation(_lang(lang))
    whole_days, rest = divmod(round(seconds / 60), 24 * 60) if days else (0, round(seconds / 60))
    hours, minutes = divmod(rest, 60)
    if whole_days:
        text = t.pgettext("report", "{days} d {hours} h")
        return text.format(days=whole_days, hours=hours)
    if hours and minutes:
        text = t.pgettext("report", "{hours} h {minutes} min")
        return text.format(hours=hours, minutes=minutes)
    if hours:
        return t.pgettext("report", "{hours} h").format(hours=hours)
    return t.pgettext("report", "{minutes} min").format(minutes=minutes)


def date_format(lang: str | None = None) -> str:
    """The office's date-and-time format: day first in Vietnamese, ISO in English."""
    return "%Y-%m-%d %H:%M" if _lang(lang) == "en" else "%d/%m/%Y %H:%M"


def day_format(lang: str | None = None) -> str:
    """The office's date format (no time)."""
    return "%Y-%m-%d" if _lang(lang) == "en" else "%d/%m/%Y"


def day(value: date, lang: str | None = None) -> str:
    """A date as the office writes it: ``05/09/2026`` (vi) / ``2026-09-05`` (en)."""
    return value.strftime(day_format(lang))


def moment(value: datetime, lang: str | None = None) -> str:
    """A local date and time as the office writes it (convert to its zone first)."""
    return value.strftime(date_format(lang))
