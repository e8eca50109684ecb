"""The periodic report as an Excel workbook: the same figures as the Word document, as raw
numbers a clerk can sort and sum, with a native chart.

Sheets: the report (heading, the units table with its "Cộng" lines, a bar chart), every
target with its state, the ranking with each part of the score, every author, and each
unit's publications per week or month.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from content.evaluation import (
    CAMPAIGN,
    PER_FOLLOWER,
    RESPONSE,
    WEIGHTS,
    RankedUnit,
    per_follower,
)
from scheduler.report_period import (
    UNIT_LINE_HEADERS,
    WORDS,
    PeriodReport,
    UnitLine,
    basis_sentence,
    improved_sentence,
    short_date,
    unit_lines,
    vn_date,
)

RED = "B71C1C"


def period_xlsx(report: PeriodReport) -> bytes:
    """The .xlsx bytes of ``report``."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    _report_sheet(sheet, report)
    _targets_sheet(workbook.create_sheet(), report)
    _ranking_sheet(workbook.create_sheet(), report)
    _authors_sheet(workbook.create_sheet(), report)
    _series_sheet(workbook.create_sheet(), report)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _title_lines(sheet: Any, report: PeriodReport) -> int:
    """The heading in the first rows; returns the next free row."""
    from openpyxl.styles import Font

    h = report.heading
    lines = [
        (h.superior or "", False),
        (h.issuer, True),
        (f"{h.place}, {vn_date(h.signed_on)}", False),
        (WORDS["kind"] + " " + WORDS["subject"].replace("\n", " ").upper(), True),
        (
            WORDS["span"].format(
                first=short_date(report.span.first_day), last=short_date(report.span.last_day)
            ),
            False,
        ),
    ]
    row = 1
    for text, bold in lines:
        if not text:
            continue
        sheet.cell(row=row, column=1, value=text).font = Font(bold=bold, size=12 if bold else 11)
        row += 1
    return row + 1


def _table(
    sheet: Any,
    top: int,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    widths: Sequence[int],
    bold_rows: set[int] = frozenset(),  # type: ignore[assignment]
    percent: set[int] = frozenset(),  # type: ignore[assignment]
    decimals: set[int] = frozenset(),  # type: ignore[assignment]
    left: int = 1,
) -> int:
    """Headers at row ``top`` (from column ``left``) and the rows under them; returns the row
    after the table."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="BBBBBB")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    for c, header in enumerate(headers, start=left):
        cell = sheet.cell(row=top, column=c, value=header)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor=RED)
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = border
    # Room for headers of two or three lines (a spreadsheet does not grow rows by itself).
    sheet.row_dimensions[top].height = 45
    for r, row in enumerate(rows, start=top + 1):
        for c, value in enumerate(row, start=left):
            cell = sheet.cell(row=r, column=c, value=value)
            cell.border = border
            if (r - top - 1) in bold_rows:
                cell.font = Font(bold=True)
            if c - left in percent:
                cell.number_format = "0.0%"
            elif c - left in decimals:
                cell.number_format = "#,##0.00"
            elif isinstance(value, int | float):
                cell.number_format = "#,##0"
    for c, width in enumerate(widths, start=1):  # the sheet's columns, from A
        sheet.column_dimensions[get_column_letter(c)].width = width
    # Printed: landscape, one page wide, the header row on every page.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{top}:{top}"
    return top + len(rows) + 1


def _report_sheet(sheet: Any, report: PeriodReport) -> None:
    sheet.title = WORDS["sheet_report"]
    top = _title_lines(sheet, report)
    lines = unit_lines(report)
    headers = list(UNIT_LINE_HEADERS)
    rows = [
        [
            x.number,
            ("    " * x.depth) + x.name,
            x.publications,
            x.required,
            x.on_time,
            x.audience,
            x.engagement,
            x.result,
        ]
        for x in lines
    ]
    end = _table(
        sheet,
        top,
        headers,
        rows,
        widths=[6, 42, 12, 12, 12, 14, 14, 16],
        bold_rows={i for i, x in enumerate(lines) if x.rolled},
    )
    sheet.freeze_panes = sheet.cell(row=top + 1, column=3)
    _overview_chart(sheet, lines, end + 2)
    sheet.print_title_rows = f"{top}:{top}"


def _overview_chart(sheet: Any, lines: Sequence[UnitLine], data_top: int) -> None:
    """Publications against the required per unit, as bars, from ``data_top`` down."""
    from openpyxl.chart import BarChart, Reference

    # The chart's own small table (units only, no "Cộng" lines), and the chart beside it.
    own = [x for x in lines if not x.rolled]
    _table(
        sheet,
        data_top,
        [WORDS["col_unit"], WORDS["legend_done"], WORDS["legend_required"]],
        [[x.name, x.publications, x.required] for x in own],
        widths=[6, 42, 12, 12, 12, 14, 14, 16],
        left=2,
    )
    chart = BarChart()
    chart.type = "bar"
    chart.title = WORDS["chart_overview"]
    chart.height = 3 + 0.6 * len(own)
    chart.width = 20
    data = Reference(sheet, min_col=3, max_col=4, min_row=data_top, max_row=data_top + len(own))
    names = Reference(sheet, min_col=2, min_row=data_top + 1, max_row=data_top + len(own))
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(names)
    chart.x_axis.scaling.orientation = "maxMin"  # the first unit on top, as in the table
    sheet.add_chart(chart, sheet.cell(row=data_top, column=6).coordinate)


def _targets_sheet(sheet: Any, report: PeriodReport) -> None:
    sheet.title = WORDS["sheet_targets"]
    rows = []
    for u in report.status.units:
        for t in u.targets:
            what = (
                WORDS["target_campaign"].format(campaign=t.subject)
                if t.kind == CAMPAIGN
                else WORDS["target_response"]
                if t.kind == RESPONSE
                else WORDS["target_channel"].format(
                    channel=report.channel_names.get(t.subject, t.subject)
                )
            )
            rows.append(
                [
                    u.unit.name,
                    what,
                    short_date(t.first_day),
                    short_date(t.last_day),
                    t.required,
                    t.done,
                    t.scheduled,
                    WORDS[f"status_{t.status}"],
                ]
            )
    headers = [
        WORDS["col_unit"],
        WORDS["col_target"],
        "Từ ngày",
        "Đến ngày",
        WORDS["col_required"],
        WORDS["col_done"],
        WORDS["col_scheduled"],
        WORDS["col_status"],
    ]
    _table(sheet, 1, headers, rows, widths=[30, 44, 12, 12, 10, 10, 12, 14])
    sheet.freeze_panes = "A2"


def _ranking_sheet(sheet: Any, report: PeriodReport) -> None:
    sheet.title = WORDS["sheet_ranking"]
    rows = [_ranking_row(u) for u in report.ranking.units]
    per = "người theo dõi" if report.ranking.basis == PER_FOLLOWER else "bài"
    headers = [
        WORDS["col_rank"],
        WORDS["col_unit"],
        WORDS["col_score"],
        f"Đúng giờ/chỉ tiêu (×{WEIGHTS['delivery']:g})",
        f"Tiếp cận/{per} so với cao nhất (×{WEIGHTS['audience']:g})",
        f"Tương tác/{per} so với cao nhất (×{WEIGHTS['engagement']:g})",
        f"Tỷ lệ trả lời người dân (×{WEIGHTS['response']:g})",
        WORDS["col_on_time"],
        WORDS["col_required"],
        WORDS["col_publications"],
        WORDS["col_audience_per"],
        WORDS["col_engagement_per"],
        WORDS["col_followers"],
        WORDS["col_audience_per_follower"],
        WORDS["col_engagement_per_follower"],
        "Tin của người dân",
        "Đã trả lời",
        "Trả lời lần đầu (phút, trung vị)",
        "Điểm kỳ trước",
        WORDS["col_change"],
    ]
    end = _table(
        sheet,
        1,
        headers,
        rows,
        widths=[7, 30, 9, 14, 14, 14, 14, 10, 10, 10, 12, 12, 12, 13, 13, 12, 12, 14, 12, 12],
        percent={3, 4, 5, 6, 13, 14},
        decimals={2, 10, 11, 17, 18, 19},
    )
    sheet.freeze_panes = "C2"
    sheet.cell(row=end + 1, column=1, value=improved_sentence(report))
    sheet.cell(row=end + 2, column=1, value=basis_sentence(report))


def _ranking_row(u: RankedUnit) -> list[Any]:
    """A unit's line of the ranking sheet: its score, the parts of it, the figures behind."""
    f = u.figures
    median = u.replies.median_first_response
    return [
        u.rank,
        u.unit.name,
        round(u.score.value, 2),
        u.score.delivery,
        u.score.audience,
        u.score.engagement,
        u.score.response,
        f.on_time,
        u.required,
        f.publications,
        f.per_publication(f.audience),
        f.per_publication(f.engagement),
        u.followers,
        per_follower(f.audience, u.followers),
        per_follower(f.engagement, u.followers),
        u.replies.received,
        u.replies.answered,
        None if median is None else round(median.total_seconds() / 60, 1),
        None if u.previous is None else round(u.previous, 2),
        None if u.change is None else round(u.change, 2),
    ]


def _authors_sheet(sheet: Any, report: PeriodReport) -> None:
    sheet.title = WORDS["sheet_authors"]
    names = {u.id: u.name for u in report.tree}
    rows = [
        [
            a.author,
            len(a.posts),
            a.figures.publications,
            a.figures.on_time,
            a.figures.audience,
            a.figures.engagement,
            ", ".join(names.get(u, u) for u in a.units),
        ]
        for a in report.ranking.authors
    ]
    headers = [
        WORDS["col_author"],
        WORDS["col_posts"],
        WORDS["col_publications"],
        WORDS["col_on_time"],
        WORDS["col_audience"],
        WORDS["col_engagement"],
        WORDS["col_unit"],
    ]
    _table(sheet, 1, headers, rows, widths=[22, 9, 11, 11, 12, 12, 60])
    sheet.freeze_panes = "B2"


def _series_sheet(sheet: Any, report: PeriodReport) -> None:
    sheet.title = WORDS["sheet_series"]
    units = list(report.tree)
    pieces = report.series[units[0].id] if units else []
    headers = [WORDS["col_period"], *(u.name for u in units)]
    rows = [
        [
            f"{short_date(p.span.first_day)} – {short_date(p.span.last_day)}",
            *(report.series[u.id][i].publications for u in units),
        ]
        for i, p in enumerate(pieces)
    ]
    _table(sheet, 1, headers, rows, widths=[24, *([16] * len(units))])
    sheet.freeze_panes = "B2"
