"""Figures for any period (``loa report range``) as CSV, an Excel workbook or HTML.

Superiors ask for reports on fixed dates each year: publications and engagement per
unit (each channel, and each group of channels in channels.toml) and per campaign, for a
span of days, and how citizens' messages were answered (:mod:`report_inbox`). The figures
follow :mod:`report_data` (latest samples before the period's end).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from content.files import private_file
from content.formatting import number as fmt_number
from content.i18n import LANGUAGES
from content.i18n import translation as words
from scheduler.report_data import CHANNEL, GROUP, TOTAL, PeriodFigures, Totals
from scheduler.report_html import Table, render
from scheduler.report_inbox import (
    inbox_context,
    inbox_sheet_rows,
    inbox_value_headers,
    inbox_values,
    line_for,
)
from scheduler.report_render import (
    csv_headers,
    local_time,
    metric_labels,
    rate_note,
    totals_cells,
    totals_headers,
)

FORMATS = ("csv", "xlsx", "html")
#: The figures columns of every summary row, in order.
FIGURE_KEYS = ("views", "reach", "reactions", "comments", "shares", "clicks")
#: The rate column's header in every language (formatted as a percentage in Excel).
_RATE_LABELS = {words(code).pgettext("report", "Engagement rate") for code in LANGUAGES}


def _summary_values(t: Totals) -> list[float | int | None]:
    """publications, views..clicks, engagement, rate, engagement per post (raw numbers)."""
    return [
        t.publications,
        *(t.value(k) for k in FIGURE_KEYS),
        t.engagement,
        None if t.rate is None else round(t.rate, 6),
        None if t.per_post is None else round(t.per_post, 4),
    ]


def _summary_headers(language: str) -> list[str]:
    s = words(language)
    return [
        s.pgettext("report", "Publications"),
        *(metric_labels(language)[k] for k in FIGURE_KEYS),
        s.pgettext("report", "Engagement"),
        s.pgettext("report", "Engagement rate"),
        s.pgettext("report", "Engagement/post"),
    ]


def summary_rows(fig: PeriodFigures, language: str) -> list[tuple[str, str, Totals, list[Any]]]:
    """(section, name, totals, citizens' messages): every channel, every group, every
    campaign (no messages: a campaign has no inbox), then the total."""
    s = words(language)
    rows = [
        (
            s.pgettext("report", "channel"),
            fig.channel_names.get(cid, cid),
            t,
            inbox_values(line_for(fig, CHANNEL, cid)),
        )
        for cid, t in fig.by_channel.items()
    ]
    rows += [
        (s.pgettext("report", "group"), name, t, inbox_values(line_for(fig, GROUP, name)))
        for name, t in fig.by_group.items()
    ]
    rows += [
        (
            s.pgettext("report", "Campaign"),
            name or s.pgettext("report", "(no campaign)"),
            t,
            inbox_values(None),
        )
        for name, t in fig.by_campaign.items()
    ]
    rows.append(
        (
            s.pgettext("report", "Total"),
            s.pgettext("report", "Total"),
            fig.total,
            inbox_values(line_for(fig, TOTAL, "")),
        )
    )
    return rows


# ---------------------------------------------------------------------- CSV


def range_csv(fig: PeriodFigures, language: str) -> str:
    """One table: section (channel/group/campaign/total), name and the figures."""
    s = words(language)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            s.pgettext("report", "Section"),
            s.pgettext("report", "Unit"),
            *_summary_headers(language),
            *inbox_value_headers(language),
        ]
    )
    for section, name, t, messages in summary_rows(fig, language):
        values = [*_summary_values(t), *messages]
        writer.writerow([section, name, *("" if v is None else _plain(v) for v in values)])
    return "\ufeff" + buffer.getvalue()


def _plain(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# ---------------------------------------------------------------------- HTML


def range_html(
    fig: PeriodFigures, office: str, language: str, templates: Path | None = None
) -> str:
    """A printable page: units, groups, campaigns, posts (template ``range.html``, from the
    office's ``templates`` folder when it has one)."""
    s = words(language)
    p = fig.period
    title = s.pgettext("report", "Engagement report from {start} to {end}").format(
        start=p.first_day.isoformat(), end=p.last_day.isoformat()
    )
    num = list(range(1, 10))
    channel_rows = [
        [fig.channel_names.get(cid, cid), *totals_cells(t, language)]
        for cid, t in fig.by_channel.items()
    ]
    total = [s.pgettext("report", "Total"), *totals_cells(fig.total, language)]
    group_rows = [[name, *totals_cells(t, language)] for name, t in fig.by_group.items()]
    campaign_rows = [
        [name or s.pgettext("report", "(no campaign)"), *totals_cells(t, language)]
        for name, t in fig.by_campaign.items()
    ]
    w = {
        "heading": title,
        "rate_note": rate_note(language),
        "section_channels": s.pgettext("report", "By channel"),
        "section_groups": s.pgettext("report", "By group of units"),
        "section_campaigns": s.pgettext("report", "By campaign"),
        "section_posts": s.pgettext("report", "Posts"),
        "section_inbox": s.pgettext("report", "Citizens' messages"),
        "none": s.pgettext("report", "None."),
        "no_posts": s.pgettext("report", "Nothing was published in this period."),
    }
    headers = totals_headers(language)
    return render(
        "range.html",
        templates,
        language=language,
        office=office,
        w=w,
        channels=Table(
            [s.pgettext("report", "Channel"), *headers], channel_rows, numeric=num, total=total
        ),
        groups=Table([s.pgettext("report", "Unit"), *headers], group_rows, numeric=num),
        campaigns=Table([s.pgettext("report", "Campaign"), *headers], campaign_rows, numeric=num),
        posts=_posts_table(fig, language),
        **inbox_context(fig, language),
    )


def _posts_table(fig: PeriodFigures, language: str) -> Table:
    """The page's table of publications: when, what, where, its views and engagement."""
    s = words(language)
    p = fig.period
    post_rows = [
        [
            local_time(r.published_at, p.tz, language),
            r.title,
            r.channel_name,
            r.campaign or "",
            fmt_number(r.value("views"), language),
            fmt_number(r.engagement, language),
        ]
        for r in fig.rows
    ]
    post_headers = [
        s.pgettext("report", "Published"),
        s.pgettext("report", "Post"),
        s.pgettext("report", "Channel"),
        s.pgettext("report", "Campaign"),
        s.pgettext("report", "Views"),
        s.pgettext("report", "Engagement"),
    ]
    return Table(post_headers, post_rows, numeric=[4, 5])


# ---------------------------------------------------------------------- Excel


def range_xlsx(fig: PeriodFigures, office: str, language: str, path: Path) -> None:
    """A workbook a clerk can print: one sheet per table, bold frozen headers, column
    widths, landscape, fitted to one page wide, headers repeated on every printed page."""
    from openpyxl import Workbook

    s = words(language)
    p = fig.period
    title = s.pgettext("report", "Engagement report from {start} to {end}").format(
        start=p.first_day.isoformat(), end=p.last_day.isoformat()
    )
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    heading = f"{office} — {title}"
    _summary_sheets(workbook, sheet, fig, language, heading)
    post_headers = csv_headers(language)[1:]  # the period is in the title, not a column
    post_rows = _post_rows(fig)
    _fill(
        workbook.create_sheet(),
        s.pgettext("report", "Posts"),
        post_headers,
        post_rows,
        title=heading,
    )
    inbox_rows = inbox_sheet_rows(fig, language)  # the total last
    _fill(
        workbook.create_sheet(),
        s.pgettext("report", "Citizens' messages"),
        [
            s.pgettext("report", "Unit"),
            s.pgettext("report", "Type"),
            *inbox_value_headers(language),
        ],
        inbox_rows[:-1],
        total=inbox_rows[-1],
        title=heading,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with private_file(path) as out:  # mode 600 (or the shared group's 660), not 644
        workbook.save(out)


def _summary_sheets(
    workbook: Any, sheet: Any, fig: PeriodFigures, language: str, heading: str
) -> None:
    """The sheets of totals: by channel (on ``sheet``, the first), by group, by campaign."""
    s = words(language)
    headers = _summary_headers(language)
    channel_rows = [
        [fig.channel_names.get(cid, cid), *_summary_values(t)] for cid, t in fig.by_channel.items()
    ]
    _fill(
        sheet,
        s.pgettext("report", "By channel"),
        [s.pgettext("report", "Channel"), *headers],
        channel_rows,
        total=[s.pgettext("report", "Total"), *_summary_values(fig.total)],
        title=heading,
    )
    _fill(
        workbook.create_sheet(),
        s.pgettext("report", "By group of units"),
        [s.pgettext("report", "Unit"), *headers],
        [[name, *_summary_values(t)] for name, t in fig.by_group.items()],
        title=heading,
    )
    _fill(
        workbook.create_sheet(),
        s.pgettext("report", "By campaign"),
        [s.pgettext("report", "Campaign"), *headers],
        [
            [name or s.pgettext("report", "(no campaign)"), *_summary_values(t)]
            for name, t in fig.by_campaign.items()
        ],
        total=[s.pgettext("report", "Total"), *_summary_values(fig.total)],
        title=heading,
    )


def _post_rows(fig: PeriodFigures) -> list[list[object]]:
    """One row per publication: the CSV's columns but the period (it is in the title)."""
    p = fig.period
    return [
        [
            r.post_id,
            r.channel,
            r.channel_name,
            local_time(r.published_at, p.tz),
            r.title,
            r.campaign or "",
            r.author,
            *(r.value(k) for k in FIGURE_KEYS),
            r.engagement,
            None if r.rate is None else round(r.rate, 6),
            r.permalink or "",
        ]
        for r in fig.rows
    ]


def _fill(
    sheet: Any,  # an openpyxl Worksheet (openpyxl is imported only when needed)
    name: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    title: str,
    total: Sequence[object] | None = None,
) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    sheet.title = _sheet_name(name)
    thin = Side(style="thin", color="BBBBBB")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="B71C1C")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.border = border
    for row in rows:
        sheet.append(list(row))
    if total is not None:
        sheet.append(list(total))
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    rate_column = _index(headers, _RATE_LABELS)
    for row_cells in sheet.iter_rows(min_row=2):
        for cell in row_cells:
            cell.border = border
            value = cell.value
            if isinstance(value, float | int) and not isinstance(value, bool):
                if cell.column == rate_column:
                    cell.number_format = "0.00%"
                else:
                    # "#,##0.##" would print "12." for whole numbers in Excel.
                    whole = float(value).is_integer()
                    cell.number_format = "#,##0" if whole else "#,##0.0"
    # Widths from the longest text in each column, within sensible limits.
    for index, header in enumerate(headers, start=1):
        values = [str(header)] + [
            "" if r[index - 1] is None else str(r[index - 1]) for r in [*rows, total or []] if r
        ]
        width = min(max(len(v) for v in values) + 2, 60)
        sheet.column_dimensions[get_column_letter(index)].width = max(width, 8)
    sheet.freeze_panes = "A2"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages tall as needed
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.oddHeader.center.text = title[:250]
    sheet.oddFooter.center.text = "&P / &N"


def _index(headers: Sequence[str], labels: set[str]) -> int | None:
    for i, header in enumerate(headers, start=1):
        if header in labels:
            return i
    return None


def _sheet_name(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("-" if c in "[]:*?/\\" else c for c in name)
    return cleaned[:31]
