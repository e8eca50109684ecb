"""The periodic report's tables in the Word document (:mod:`scheduler.report_docx`): the units,
the campaigns with a quota, the ranking, the authors."""

from __future__ import annotations

from typing import Any

from content.evaluation import CAMPAIGN, PER_FOLLOWER, Target
from content.formatting import number as fmt_number
from content.formatting import percent
from scheduler import report_docx_layout as layout
from scheduler.report_period import (
    UNIT_LINE_HEADERS,
    WORDS,
    PeriodReport,
    rates,
    short_date,
    unit_lines,
)

#: Authors listed in the document (the workbook lists every one).
AUTHORS_SHOWN = 10


def units_table(document: Any, report: PeriodReport) -> None:
    """The units table of :func:`scheduler.report_period.unit_lines` ("Cộng" lines bold)."""
    lines = unit_lines(report)
    rows = [
        [
            "" if x.number is None else str(x.number),
            x.name,
            vi_number(x.publications),
            vi_number(x.required),
            vi_number(x.on_time),
            vi_number(x.audience),
            vi_number(x.engagement),
            x.result,
        ]
        for x in lines
    ]
    headers = list(UNIT_LINE_HEADERS)
    layout.table(
        document,
        headers,
        rows,
        [1.2, 4.5, 1.5, 1.5, 1.5, 2.1, 1.9, 2.3],
        numeric={2, 3, 4, 5, 6},
        bold_rows={i for i, x in enumerate(lines) if x.rolled},
        indents=[x.depth for x in lines],
    )


def campaign_table(document: Any, report: PeriodReport) -> None:
    """Per campaign with a quota: a line saying it, then each unit held to it."""
    campaigns: dict[str, list[tuple[str, Target]]] = {}
    for u in report.status.units:
        for t in u.targets:
            if t.kind == CAMPAIGN:
                campaigns.setdefault(t.subject, []).append((u.unit.name, t))
    for campaign, held in campaigns.items():
        first = held[0][1]
        layout.body_para(
            document,
            WORDS["campaign_line"].format(
                campaign=campaign,
                first=short_date(first.first_day),
                last=short_date(first.last_day),
                posts=first.required,
            ),
        ).paragraph_format.keep_with_next = True
        rows = [
            [
                str(i),
                name,
                vi_number(t.done or 0),
                vi_number(t.required),
                vi_number(t.scheduled),
                WORDS[f"status_{t.status}"],
            ]
            for i, (name, t) in enumerate(held, start=1)
        ]
        headers = [
            WORDS["col_no"],
            WORDS["col_unit"],
            WORDS["col_done"],
            WORDS["col_target"],
            WORDS["col_scheduled"],
            WORDS["col_result"],
        ]
        layout.table(document, headers, rows, [1.2, 6.3, 2.2, 2.2, 2.3, 2.3], numeric={2, 3, 4})
        layout.para(document, after=6)


def ranking_table(document: Any, report: PeriodReport) -> None:
    """The ranking: each unit's score and the figures behind it, its followers among them;
    audience and engagement per follower (as a share of them) or per publication, as the
    ranking was computed."""
    by_follower = report.ranking.basis == PER_FOLLOWER
    rows = []
    for u in report.ranking.units:
        f = u.figures
        change = "–" if u.change is None else fmt_number(u.change, "vi", 1)
        if u.change is not None and u.change > 0:
            change = "+" + change
        audience, engagement = rates(report, u)
        rows.append(
            [
                str(u.rank),
                u.unit.name,
                fmt_number(u.score.value, "vi", 1),
                f"{vi_number(f.on_time)}/{vi_number(u.required)}",
                "–" if u.followers is None else vi_number(u.followers),
                percent(audience, "vi") if by_follower else vi_number(audience),
                percent(engagement, "vi") if by_follower else fmt_number(engagement, "vi", 1),
                f"{vi_number(u.replies.answered)}/{vi_number(u.replies.received)}"
                if u.replies.received
                else "–",
                change,
            ]
        )
    headers = [
        WORDS["col_rank"],
        WORDS["col_unit"],
        WORDS["col_score"],
        WORDS["col_on_time_required"],
        WORDS["col_followers"],
        WORDS["col_audience_per_follower" if by_follower else "col_audience_per"],
        WORDS["col_engagement_per_follower" if by_follower else "col_engagement_per"],
        WORDS["col_answered"],
        WORDS["col_change"],
    ]
    # "Hạng" and "Điểm" in bold need 1.4 cm with the cells' margins (1.2 broke "Hạn/g").
    widths = [1.4, 3.6, 1.4, 1.8, 1.7, 1.7, 1.7, 1.6, 1.6]
    layout.table(document, headers, rows, widths, numeric={2, 3, 4, 5, 6, 7, 8})


def authors_table(document: Any, report: PeriodReport) -> None:
    names = {u.id: u.name for u in report.tree}
    rows = [
        [
            str(i),
            a.author,
            vi_number(a.figures.publications),
            vi_number(a.figures.on_time),
            vi_number(a.figures.engagement),
            ", ".join(names.get(u, u) for u in a.units),
        ]
        for i, a in enumerate(report.ranking.authors[:AUTHORS_SHOWN], start=1)
    ]
    headers = [
        WORDS["col_no"],
        WORDS["col_author"],
        WORDS["col_publications"],
        WORDS["col_on_time"],
        WORDS["col_engagement"],
        WORDS["col_unit"],
    ]
    layout.table(document, headers, rows, [1.2, 3.3, 1.8, 1.8, 2.0, 6.4], numeric={2, 3, 4})


def vi_number(value: float) -> str:
    """``value`` written the Vietnamese way (``1.234``)."""
    return fmt_number(value, "vi")
