"""The citizens' messages in the reports: one table, said the same in the weekly mail (text
and HTML) and ``loa report range`` (HTML, Excel; CSV as columns beside each unit's figures).

The figures are :class:`scheduler.report_data.InboxLine` (from
:func:`content.inbox.response_figures`): messages received, answered before the period's
end, the median wait for a first answer, and replies the platform refused because its
window had closed. The table lists the units of the tree (indented under their parent)
or, without units, the groups of channels; then each channel; then the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from content.formatting import duration as fmt_duration
from content.formatting import number as fmt_number
from content.i18n import translation as words

# The module, not its names: report_render's weekly mail imports this module in turn.
from scheduler import report_render as render
from scheduler.report_data import CHANNEL, GROUP, TOTAL, UNIT, InboxLine, PeriodFigures
from scheduler.report_html import Table

#: The numeric columns of :func:`inbox_rows` (right-aligned).
NUMERIC = (2, 3, 4, 5)


def shown_lines(lines: Sequence[InboxLine]) -> list[InboxLine]:
    """The units (or, without a tree, the groups), then the channels, then the total."""
    units = [line for line in lines if line.kind == UNIT]
    groups = [line for line in lines if line.kind == GROUP]
    rest = [line for line in lines if line.kind in (CHANNEL, TOTAL)]
    return [*(units or groups), *rest]


def has_messages(lines: Sequence[InboxLine]) -> bool:
    """Whether citizens wrote in the period or a reply was refused in it."""
    total = next((line for line in lines if line.kind == TOTAL), None)
    return total is not None and bool(total.figures.received or total.figures.outside_window)


def inbox_note(language: str) -> str:
    """What each column of the table means."""
    return words(language).pgettext(
        "report",
        "Received: citizens' messages and comments in the period. Answered: those of them "
        "answered before the period ended. First response: the median wait from when a "
        "citizen started waiting to the first answer. Outside the window: replies the "
        "platform refused because its window had closed (Zalo 7 days, Messenger 24 hours, "
        "a private reply 7 days).",
    )


def inbox_headers(language: str) -> list[str]:
    """Unit, type, received, answered, first response, outside the window."""
    s = words(language)
    return [
        s.pgettext("report", "Unit"),
        s.pgettext("report", "Type"),
        s.pgettext("report", "Received"),
        s.pgettext("report", "Answered"),
        s.pgettext("report", "First response (median)"),
        s.pgettext("report", "Replies outside the window"),
    ]


def _kind(line: InboxLine, language: str) -> str:
    s = words(language)
    return {
        UNIT: s.pgettext("report", "unit"),
        GROUP: s.pgettext("report", "group"),
        CHANNEL: s.pgettext("report", "channel"),
    }.get(line.kind, "")


def _name(line: InboxLine, language: str) -> str:
    if line.kind == TOTAL:
        return words(language).pgettext("report", "Total")
    # Wards and communes under their province, as the tree goes.
    return "  " * line.depth + line.name


def inbox_rows(lines: Sequence[InboxLine], language: str) -> list[list[str]]:
    """The table's rows as text, the total last."""
    return [
        [
            _name(line, language),
            _kind(line, language),
            fmt_number(line.figures.received, language),
            fmt_number(line.figures.answered, language),
            fmt_duration(line.figures.median_first_response, language),
            fmt_number(line.figures.outside_window, language),
        ]
        for line in shown_lines(lines)
    ]


def inbox_text(fig: PeriodFigures, language: str) -> str:
    """The section's body in the plain-text mail."""
    s = words(language)
    if not has_messages(fig.inbox):
        return s.pgettext("report", "No message from citizens in this period.")
    rows = inbox_rows(fig.inbox, language)
    return "\n".join(
        [
            render.text_table(inbox_headers(language), rows, set(NUMERIC)),
            inbox_note(language),
        ]
    )


def inbox_context(fig: PeriodFigures, language: str) -> dict[str, object]:
    """What the ``inbox.html`` template draws: ``inbox`` (the table, no rows when nobody
    wrote) and ``inbox_words`` (the note under it, the sentence instead of it)."""
    rows: list[list[str]] = inbox_rows(fig.inbox, language) if has_messages(fig.inbox) else []
    table = Table(
        inbox_headers(language), rows[:-1], numeric=NUMERIC, total=rows[-1] if rows else None
    )
    none = words(language).pgettext("report", "No message from citizens in this period.")
    return {"inbox": table, "inbox_words": {"note": inbox_note(language), "none": none}}


def minutes(value: timedelta | None) -> float | None:
    """A wait in minutes (one decimal) for a spreadsheet; None for none."""
    return None if value is None else round(value.total_seconds() / 60, 1)


def inbox_value_headers(language: str) -> list[str]:
    """The raw-number columns of :func:`inbox_values` (CSV, Excel)."""
    s = words(language)
    return [
        s.pgettext("report", "Received"),
        s.pgettext("report", "Answered"),
        s.pgettext("report", "First response, median (minutes)"),
        s.pgettext("report", "Replies outside the window"),
    ]


def inbox_values(line: InboxLine | None) -> list[int | float | None]:
    """received, answered, median first response in minutes, outside the window."""
    if line is None:
        return [None, None, None, None]
    f = line.figures
    return [f.received, f.answered, minutes(f.median_first_response), f.outside_window]


def inbox_sheet_rows(fig: PeriodFigures, language: str) -> list[list[object]]:
    """The Excel sheet's rows: name, type, then the raw numbers (the total last)."""
    return [
        [_name(line, language), _kind(line, language), *inbox_values(line)]
        for line in shown_lines(fig.inbox)
    ]


def line_for(fig: PeriodFigures, kind: str, key: str) -> InboxLine | None:
    """The line of a channel, group or unit (``key``), or the total (``kind`` TOTAL)."""
    return next(
        (line for line in fig.inbox if line.kind == kind and (kind == TOTAL or line.key == key)),
        None,
    )
