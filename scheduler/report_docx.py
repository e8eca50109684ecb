"""The periodic report as a Word document in the layout of Decree 30/2020/NĐ-CP.

The layout (Decree 30, Appendix I): A4 portrait, margins top and bottom 2 cm, left 3 cm,
right 1.5 cm; Times New Roman; page numbers centred at the top from the second page.
At the top, side by side: the superior body and the issuing body (bold) over a short line
and "Số: .../BC-...", left; the national title (bold capitals) and the motto (bold,
underlined), then the place and date (italic), right. Then the kind "BÁO CÁO" and the
subject (bold, centred), the body (13 pt, justified, first lines indented), and the
signature block: "Nơi nhận:" (bold italic) and its list, left; the signer's title (bold
capitals), room to sign, and his name, right.

The page and the paragraph, table and picture primitives of that layout are in
:mod:`scheduler.report_docx_layout`, the report's tables in :mod:`scheduler.report_docx_tables`.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from content.evaluation import BEHIND, CAMPAIGN, ON_TIME_GRACE, RESPONSE, WEIGHTS
from content.formatting import number as fmt_number
from content.formatting import percent
from content.inbox import ResponseFigures
from scheduler import report_docx_layout as layout
from scheduler.report_charts import overview_chart, unit_charts
from scheduler.report_docx_layout import TEXT_WIDTH_CM
from scheduler.report_docx_tables import (
    authors_table,
    campaign_table,
    ranking_table,
    units_table,
    vi_number,
)
from scheduler.report_period import (
    WORDS,
    PeriodReport,
    basis_sentence,
    channel_word,
    improved_sentence,
    short_date,
    vn_date,
    vn_minutes,
)


def period_docx(report: PeriodReport) -> bytes:
    """The .docx bytes of ``report``."""
    document = Document()
    layout.page(document)
    layout.styles(document)
    _heading(document, report)
    _body(document, report)
    _signature(document, report)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------- the top


def _heading(document: Any, report: PeriodReport) -> None:
    h = report.heading
    # The national title must fit on one line at 12 pt bold: the right column gets the room.
    left_cm, right_cm = 5.8, TEXT_WIDTH_CM - 5.8
    table = document.add_table(rows=2, cols=2)
    layout.no_borders(table)
    layout.widths(table, [left_cm, right_cm])
    issuer, nation = table.cell(0, 0), table.cell(0, 1)
    first = issuer.paragraphs[0]
    first.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if h.superior:
        layout.run(first, h.superior.upper(), size=12)
        layout.para(issuer, h.issuer.upper(), align="center", bold=True, size=12)
    else:
        layout.run(first, h.issuer.upper(), bold=True, size=12)
    layout.rule(issuer, 2.2, left_cm)
    title = nation.paragraphs[0]
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    layout.run(title, WORDS["national"], bold=True, size=12)
    layout.para(nation, WORDS["motto"], align="center", bold=True, underline=True, size=13)
    number, where = table.cell(1, 0), table.cell(1, 1)
    number.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    layout.run(number.paragraphs[0], WORDS["number"].format(symbol=h.symbol), size=13)
    where.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    layout.run(where.paragraphs[0], f"{h.place}, {vn_date(h.signed_on)}", italic=True, size=13)
    for cell in (number, where):
        cell.paragraphs[0].paragraph_format.space_before = Pt(4)

    layout.para(document, WORDS["kind"], align="center", bold=True, size=14, before=18)
    layout.para(document, WORDS["subject"], align="center", bold=True, size=14)
    period = WORDS["span"].format(
        first=short_date(report.span.first_day), last=short_date(report.span.last_day)
    )
    layout.para(document, period, align="center", bold=True, size=14)
    layout.rule(document, 4.0, TEXT_WIDTH_CM)


# ---------------------------------------------------------------------- the body


def _body(document: Any, report: PeriodReport) -> None:
    h = report.heading
    first, last = short_date(report.span.first_day), short_date(report.span.last_day)
    layout.body_para(
        document,
        WORDS["intro"].format(issuer=_sentence_case(h.issuer), first=first, last=last),
        before=12,
    )

    layout.title(document, WORDS["part_results"])
    layout.title(document, WORDS["results_general"])
    layout.body_para(document, _summary(report))
    layout.title(document, WORDS["results_units"])
    units_table(document, report)
    layout.para(document, WORDS["note_figures"], italic=True, size=11, before=4, after=6)

    layout.title(document, WORDS["results_charts"])
    layout.picture(document, overview_chart(report), TEXT_WIDTH_CM)
    layout.caption(document, WORDS["chart_overview"])
    _unit_charts(document, report)

    if any(t.kind == CAMPAIGN for u in report.status.units for t in u.targets):
        layout.title(document, WORDS["results_campaigns"])
        campaign_table(document, report)

    layout.title(document, WORDS["part_ranking"], before=6)
    layout.body_para(
        document,
        WORDS["score_rule"].format(
            delivery=vi_number(WEIGHTS["delivery"]),
            audience=vi_number(WEIGHTS["audience"]),
            engagement=vi_number(WEIGHTS["engagement"]),
            response=vi_number(WEIGHTS["response"]),
            grace=int(ON_TIME_GRACE.total_seconds() // 60),
            per=WORDS["per_" + report.ranking.basis],
        )
        + " "
        + basis_sentence(report),
        italic=True,
    )
    ranking_table(document, report)
    layout.body_para(document, improved_sentence(report), before=6)
    if report.ranking.authors:
        layout.body_para(document, WORDS["authors"]).paragraph_format.keep_with_next = True
        authors_table(document, report)

    layout.title(document, WORDS["part_shortcomings"], before=6)
    for line in _shortcomings(report):
        layout.body_para(document, f"- {line}")
    layout.body_para(document, WORDS["placeholder_causes"], italic=True)

    layout.title(document, WORDS["part_proposals"], before=6)
    layout.body_para(document, f"1. {_reward(report)}")
    layout.body_para(document, f"2. {WORDS['placeholder_proposals']}", italic=True)
    closing = layout.body_para(
        document,
        WORDS["closing"].format(first=first, last=last, issuer=_sentence_case(h.issuer)),
    )
    # The signature block follows the last words, on the same page.
    closing.paragraph_format.keep_with_next = True


def _sentence_case(issuer: str) -> str:
    """``CÔNG AN TỈNH DEMO`` -> ``Công an tỉnh Demo``: the body names the body normally."""
    words = issuer.split()
    if not words or not issuer.isupper():
        return issuer
    # The last word is the place's name; the others are common nouns.
    return " ".join(
        [words[0].capitalize(), *(w.lower() for w in words[1:-1]), words[-1].capitalize()]
    )


def _pct(part: float, whole: float) -> str:
    return percent(part / whole if whole else None, "vi")


def _summary(report: PeriodReport) -> str:
    roots = [u for u in report.status.units if u.unit.parent is None]
    publications = sum(u.total.publications for u in roots)
    on_time = sum(u.total.on_time for u in roots)
    required = sum(u.required for u in roots)
    done = sum(u.done for u in roots)
    judged = [u for u in report.status.units if u.targets]
    return WORDS["summary"].format(
        units=len(report.status.units),
        channels=sum(len(u.unit.channels) for u in report.status.units),
        publications=vi_number(publications),
        on_time=vi_number(on_time),
        on_time_share=_pct(on_time, publications),
        audience=vi_number(sum(u.total.audience for u in roots)),
        engagement=vi_number(sum(u.total.engagement for u in roots)),
        required=vi_number(required),
        done=vi_number(done),
        done_share=_pct(done, required),
        met=sum(u.status != BEHIND for u in judged),
        behind=sum(u.status == BEHIND for u in judged),
    ) + _citizens(report)


def _citizens(report: PeriodReport) -> str:
    """A sentence on the citizens' messages, when there were any."""
    replies = ResponseFigures()
    for u in report.ranking.units:
        replies.add(u.replies)
    if not replies.received:
        return ""
    median = replies.median_first_response
    return " " + WORDS["summary_citizens"].format(
        received=vi_number(replies.received),
        answered=vi_number(replies.answered),
        share=_pct(replies.answered, replies.received),
        median=vn_minutes(None if median is None else median.total_seconds() / 60),
    )


def _unit_charts(document: Any, report: PeriodReport) -> None:
    """A small chart per unit, four to an image (two rows of two)."""
    piece = "piece_week" if report.span.days <= 62 else "piece_month"
    for png in unit_charts(report):
        layout.picture(document, png, TEXT_WIDTH_CM)
    layout.caption(document, WORDS["chart_units"].format(piece=WORDS[piece]))


def _shortcomings(report: PeriodReport) -> list[str]:
    lines = []
    for u in report.status.behind():
        missed = [
            WORDS["shortcoming_campaign"].format(
                campaign=t.subject, done=t.done, required=t.required
            )
            if t.kind == CAMPAIGN
            else WORDS["shortcoming_response"].format(
                median=vn_minutes(t.done),
                target=vn_minutes(t.required),
                answered=vi_number(t.answered or 0),
                received=vi_number(t.received or 0),
            )
            if t.kind == RESPONSE
            else WORDS["shortcoming_channel"].format(
                channel=channel_word(report, u.unit, t.subject),
                done=vi_number(t.done or 0),
                required=vi_number(t.required),
            )
            for t in u.targets
            if t.status == BEHIND
        ]
        lines.append(WORDS["shortcoming_unit"].format(name=u.unit.name, missed="; ".join(missed)))
    if not lines:
        lines.append(WORDS["shortcoming_none"])
    if report.late:
        lines.append(
            WORDS["shortcoming_late"].format(
                late=vi_number(report.late), grace=int(ON_TIME_GRACE.total_seconds() // 60)
            )
        )
    return lines


def _reward(report: PeriodReport) -> str:
    ranked = report.ranking.units
    if not ranked:
        return WORDS["placeholder_proposals"]
    best = ranked[0]
    improved = report.ranking.most_improved
    improved_text = ""
    if improved is not None and improved.unit.id != best.unit.id and improved.change is not None:
        improved_text = WORDS["proposal_improved"].format(
            name=improved.unit.name, change=fmt_number(improved.change, "vi", 1)
        )
    author_text = ""
    if report.ranking.authors:
        top = report.ranking.authors[0]
        author_text = WORDS["proposal_author"].format(
            author=top.author, publications=vi_number(top.figures.publications)
        )
    return WORDS["proposal_reward"].format(
        best=best.unit.name,
        score=fmt_number(best.score.value, "vi", 1),
        improved=improved_text,
        author=author_text,
    )


# ---------------------------------------------------------------------- the bottom


def _signature(document: Any, report: PeriodReport) -> None:
    h = report.heading
    spacer = layout.para(document, after=6)
    spacer.paragraph_format.keep_with_next = True
    table = document.add_table(rows=1, cols=2)
    layout.no_borders(table)
    layout.widths(table, [7.5, TEXT_WIDTH_CM - 7.5])
    # The block stays on one page.
    row_props = table.rows[0]._tr.get_or_add_trPr()
    cant = OxmlElement("w:cantSplit")
    cant.set(qn("w:val"), "true")
    row_props.append(cant)
    left, right = table.cell(0, 0), table.cell(0, 1)
    title = left.paragraphs[0]
    layout.run(title, WORDS["recipients"], bold=True, italic=True, size=12)
    recipients = list(h.recipients)
    if not any(r.lower().startswith("lưu") for r in recipients):
        recipients.append(WORDS["keep"])
    for i, name in enumerate(recipients):
        end = "." if i == len(recipients) - 1 else ";"
        text = name if name.endswith((".", ";")) else name + end
        layout.para(left, f"- {text}", align="left", size=11)
    signer = right.paragraphs[0]
    signer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    layout.run(signer, h.signer_title.upper(), bold=True, size=13)
    for _ in range(4):
        layout.para(right, align="center")
    name = h.signer_name or WORDS["signer_placeholder"]
    layout.para(
        right, name, align="center", bold=bool(h.signer_name), italic=not h.signer_name, size=13
    )
