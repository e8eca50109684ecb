"""The periodic report as a Word document in the layout of Decree 30/2020/NĐ-CP.

The layout (Decree 30, Appendix I): A4 portrait, margins top and bottom 2 cm, left 3 cm,
right 1.5 cm; Times New Roman; page numbers centred at the top from the second page.
At the top, side by side: the superior body and the issuing body (bold) over a short line
and "Số: .../BC-...", left; the national title (bold capitals) and the motto (bold,
underlined), then the place and date (italic), right. Then the kind "BÁO CÁO" and the
subject (bold, centred), the body (13 pt, justified, first lines indented), and the
signature block: "Nơi nhận:" (bold italic) and its list, left; the signer's title (bold
capitals), room to sign, and his name, right.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from content.evaluation import (
    BEHIND,
    CAMPAIGN,
    ON_TIME_GRACE,
    PER_FOLLOWER,
    RESPONSE,
    WEIGHTS,
    Target,
)
from content.formatting import number as fmt_number
from content.formatting import percent
from content.inbox import ResponseFigures
from scheduler.report_charts import overview_chart, unit_charts
from scheduler.report_period import (
    WORDS,
    PeriodReport,
    basis_sentence,
    channel_word,
    improved_sentence,
    rates,
    short_date,
    unit_lines,
    vn_date,
    vn_minutes,
)

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 11
#: The text width of an A4 page with Decree 30's margins (21 - 3 - 1.5 cm).
TEXT_WIDTH_CM = 16.5
#: Authors listed in the document (the workbook lists every one).
AUTHORS_SHOWN = 10


def period_docx(report: PeriodReport) -> bytes:
    """The .docx bytes of ``report``."""
    document = Document()
    _page(document)
    _styles(document)
    _heading(document, report)
    _body(document, report)
    _signature(document, report)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------- page and styles


def _page(document: Any) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)
    section.header_distance = Cm(1)
    # Page numbers from the second page, centred at the top (the first has none).
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _field(paragraph, "PAGE")


def _styles(document: Any) -> None:
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    # East Asian and complex-script slots too, or Word picks another font for them.
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0


def _field(paragraph: Paragraph, code: str) -> None:
    """A field (``PAGE``) the word processor fills in."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), code)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _run(
    paragraph: Paragraph,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float | None = None,
) -> None:
    run = paragraph.add_run(text)
    run.bold, run.italic, run.underline = bold, italic, underline
    if size is not None:
        run.font.size = Pt(size)


def _para(
    container: Any,
    text: str = "",
    *,
    align: str = "justify",
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float | None = None,
    indent: bool = False,
    before: float = 0,
    after: float = 0,
) -> Paragraph:
    paragraph = container.add_paragraph()
    paragraph.alignment = {
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    }[align]
    fmt = paragraph.paragraph_format
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if indent:
        fmt.first_line_indent = Cm(1.0)
    for i, line in enumerate(text.split("\n") if text else []):
        if i:
            paragraph.add_run().add_break(WD_BREAK.LINE)
        _run(paragraph, line, bold=bold, italic=italic, underline=underline, size=size)
    return paragraph


def _body_para(document: Any, text: str = "", **kwargs: Any) -> Paragraph:
    """A paragraph of the body: justified, first line indented, 6 pt apart, 1.15 lines."""
    paragraph = _para(document, text, indent=True, after=6, **kwargs)
    paragraph.paragraph_format.line_spacing = 1.15
    return paragraph


def _title(document: Any, text: str, *, before: float = 0) -> Paragraph:
    """A part's or section's title: bold, never left alone at the foot of a page."""
    paragraph = _body_para(document, text, bold=True, before=before)
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def _rule(container: Any, width_cm: float, container_cm: float) -> None:
    """A short centred line (under the issuer, and under the subject)."""
    paragraph = container.add_paragraph()
    cell_cm = container_cm
    side = Cm(max(0.0, (cell_cm - width_cm) / 2))
    paragraph.paragraph_format.left_indent = side
    paragraph.paragraph_format.right_indent = side
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)
    paragraph.paragraph_format.space_after = Pt(4)
    # An empty line takes the height of the default size: keep it thin.
    paragraph.add_run("").font.size = Pt(2)


def _no_borders(table: Table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def _widths(table: Table, widths_cm: Sequence[float]) -> None:
    table.autofit = False
    # The grid's widths (LibreOffice reads these) and each cell's (Word reads those).
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)


# ---------------------------------------------------------------------- the top


def _heading(document: Any, report: PeriodReport) -> None:
    h = report.heading
    # The national title must fit on one line at 12 pt bold: the right column gets the room.
    left_cm, right_cm = 5.8, TEXT_WIDTH_CM - 5.8
    table = document.add_table(rows=2, cols=2)
    _no_borders(table)
    _widths(table, [left_cm, right_cm])
    issuer, nation = table.cell(0, 0), table.cell(0, 1)
    first = issuer.paragraphs[0]
    first.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if h.superior:
        _run(first, h.superior.upper(), size=12)
        _para(issuer, h.issuer.upper(), align="center", bold=True, size=12)
    else:
        _run(first, h.issuer.upper(), bold=True, size=12)
    _rule(issuer, 2.2, left_cm)
    title = nation.paragraphs[0]
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, WORDS["national"], bold=True, size=12)
    _para(nation, WORDS["motto"], align="center", bold=True, underline=True, size=13)
    number, where = table.cell(1, 0), table.cell(1, 1)
    number.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(number.paragraphs[0], WORDS["number"].format(symbol=h.symbol), size=13)
    where.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(where.paragraphs[0], f"{h.place}, {vn_date(h.signed_on)}", italic=True, size=13)
    for cell in (number, where):
        cell.paragraphs[0].paragraph_format.space_before = Pt(4)

    _para(document, WORDS["kind"], align="center", bold=True, size=14, before=18)
    _para(document, WORDS["subject"], align="center", bold=True, size=14)
    period = WORDS["span"].format(
        first=short_date(report.span.first_day), last=short_date(report.span.last_day)
    )
    _para(document, period, align="center", bold=True, size=14)
    _rule(document, 4.0, TEXT_WIDTH_CM)


# ---------------------------------------------------------------------- the body


def _body(document: Any, report: PeriodReport) -> None:
    h = report.heading
    first, last = short_date(report.span.first_day), short_date(report.span.last_day)
    _body_para(
        document,
        WORDS["intro"].format(issuer=_sentence_case(h.issuer), first=first, last=last),
        before=12,
    )

    _title(document, WORDS["part_results"])
    _title(document, WORDS["results_general"])
    _body_para(document, _summary(report))
    _title(document, WORDS["results_units"])
    _units_table(document, report)
    _para(document, WORDS["note_figures"], italic=True, size=11, before=4, after=6)

    _title(document, WORDS["results_charts"])
    _picture(document, overview_chart(report), TEXT_WIDTH_CM)
    _caption(document, WORDS["chart_overview"])
    _unit_charts(document, report)

    if any(t.kind == CAMPAIGN for u in report.status.units for t in u.targets):
        _title(document, WORDS["results_campaigns"])
        _campaign_table(document, report)

    _title(document, WORDS["part_ranking"], before=6)
    _body_para(
        document,
        WORDS["score_rule"].format(
            delivery=_n(WEIGHTS["delivery"]),
            audience=_n(WEIGHTS["audience"]),
            engagement=_n(WEIGHTS["engagement"]),
            response=_n(WEIGHTS["response"]),
            grace=int(ON_TIME_GRACE.total_seconds() // 60),
            per=WORDS["per_" + report.ranking.basis],
        )
        + " "
        + basis_sentence(report),
        italic=True,
    )
    _ranking_table(document, report)
    _body_para(document, improved_sentence(report), before=6)
    if report.ranking.authors:
        _body_para(document, WORDS["authors"]).paragraph_format.keep_with_next = True
        _authors_table(document, report)

    _title(document, WORDS["part_shortcomings"], before=6)
    for line in _shortcomings(report):
        _body_para(document, f"- {line}")
    _body_para(document, WORDS["placeholder_causes"], italic=True)

    _title(document, WORDS["part_proposals"], before=6)
    _body_para(document, f"1. {_reward(report)}")
    _body_para(document, f"2. {WORDS['placeholder_proposals']}", italic=True)
    closing = _body_para(
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


def _n(value: float) -> str:
    return fmt_number(value, "vi")


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
        publications=_n(publications),
        on_time=_n(on_time),
        on_time_share=_pct(on_time, publications),
        audience=_n(sum(u.total.audience for u in roots)),
        engagement=_n(sum(u.total.engagement for u in roots)),
        required=_n(required),
        done=_n(done),
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
        received=_n(replies.received),
        answered=_n(replies.answered),
        share=_pct(replies.answered, replies.received),
        median=vn_minutes(None if median is None else median.total_seconds() / 60),
    )


def _table(
    document: Any,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths_cm: Sequence[float],
    *,
    numeric: set[int],
    bold_rows: set[int] = frozenset(),  # type: ignore[assignment]
    indents: Sequence[int] | None = None,
    indent_column: int = 1,
) -> Table:
    table = document.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, widths_cm)
    for i, header in enumerate(headers):
        cell = table.cell(0, i)
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(paragraph, header, bold=True, size=TABLE_PT)
        _shade(cell, "E7E6E6")
    # The header row repeats on every page the table runs over.
    header_props = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_props.append(repeat)
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            paragraph = table.cell(r, c).paragraphs[0]
            paragraph.alignment = (
                WD_ALIGN_PARAGRAPH.RIGHT if c in numeric else WD_ALIGN_PARAGRAPH.LEFT
            )
            if c == 0:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            if indents is not None and c == indent_column:
                paragraph.paragraph_format.left_indent = Cm(0.3 * indents[r - 1])
            _run(paragraph, value, bold=(r - 1) in bold_rows, size=TABLE_PT)
    return table


def _shade(cell: _Cell, colour: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour)
    cell._tc.get_or_add_tcPr().append(shading)


def _units_table(document: Any, report: PeriodReport) -> None:
    """The units table of :func:`scheduler.report_period.unit_lines` ("Cộng" lines bold)."""
    lines = unit_lines(report)
    rows = [
        [
            "" if x.number is None else str(x.number),
            x.name,
            _n(x.publications),
            _n(x.required),
            _n(x.on_time),
            _n(x.audience),
            _n(x.engagement),
            x.result,
        ]
        for x in lines
    ]
    headers = [
        WORDS["col_no"],
        WORDS["col_unit"],
        WORDS["col_publications"],
        WORDS["col_required"],
        WORDS["col_on_time"],
        WORDS["col_audience"],
        WORDS["col_engagement"],
        WORDS["col_result"],
    ]
    _table(
        document,
        headers,
        rows,
        [1.2, 4.5, 1.5, 1.5, 1.5, 2.1, 1.9, 2.3],
        numeric={2, 3, 4, 5, 6},
        bold_rows={i for i, x in enumerate(lines) if x.rolled},
        indents=[x.depth for x in lines],
    )


def _campaign_table(document: Any, report: PeriodReport) -> None:
    """Per campaign with a quota: a line saying it, then each unit held to it."""
    campaigns: dict[str, list[tuple[str, Target]]] = {}
    for u in report.status.units:
        for t in u.targets:
            if t.kind == CAMPAIGN:
                campaigns.setdefault(t.subject, []).append((u.unit.name, t))
    for campaign, held in campaigns.items():
        first = held[0][1]
        _body_para(
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
                _n(t.done or 0),
                _n(t.required),
                _n(t.scheduled),
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
        _table(document, headers, rows, [1.2, 6.3, 2.2, 2.2, 2.3, 2.3], numeric={2, 3, 4})
        _para(document, after=6)


def _ranking_table(document: Any, report: PeriodReport) -> None:
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
                f"{_n(f.on_time)}/{_n(u.required)}",
                "–" if u.followers is None else _n(u.followers),
                percent(audience, "vi") if by_follower else _n(audience),
                percent(engagement, "vi") if by_follower else fmt_number(engagement, "vi", 1),
                f"{_n(u.replies.answered)}/{_n(u.replies.received)}" if u.replies.received else "–",
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
    _table(document, headers, rows, widths, numeric={2, 3, 4, 5, 6, 7, 8})


def _authors_table(document: Any, report: PeriodReport) -> None:
    names = {u.id: u.name for u in report.tree}
    rows = [
        [
            str(i),
            a.author,
            _n(a.figures.publications),
            _n(a.figures.on_time),
            _n(a.figures.engagement),
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
    _table(document, headers, rows, [1.2, 3.3, 1.8, 1.8, 2.0, 6.4], numeric={2, 3, 4})


def _picture(document: Any, png: bytes, width_cm: float) -> None:
    paragraph = _para(document, align="center", before=6)
    paragraph.add_run().add_picture(io.BytesIO(png), width=Cm(width_cm))


def _caption(document: Any, text: str) -> None:
    _para(document, text, align="center", italic=True, size=11, after=6)


def _unit_charts(document: Any, report: PeriodReport) -> None:
    """A small chart per unit, four to an image (two rows of two)."""
    piece = "piece_week" if report.span.days <= 62 else "piece_month"
    for png in unit_charts(report):
        _picture(document, png, TEXT_WIDTH_CM)
    _caption(document, WORDS["chart_units"].format(piece=WORDS[piece]))


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
                answered=_n(t.answered or 0),
                received=_n(t.received or 0),
            )
            if t.kind == RESPONSE
            else WORDS["shortcoming_channel"].format(
                channel=channel_word(report, u.unit, t.subject),
                done=_n(t.done or 0),
                required=_n(t.required),
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
                late=_n(report.late), grace=int(ON_TIME_GRACE.total_seconds() // 60)
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
            author=top.author, publications=_n(top.figures.publications)
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
    spacer = _para(document, after=6)
    spacer.paragraph_format.keep_with_next = True
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    _widths(table, [7.5, TEXT_WIDTH_CM - 7.5])
    # The block stays on one page.
    row_props = table.rows[0]._tr.get_or_add_trPr()
    cant = OxmlElement("w:cantSplit")
    cant.set(qn("w:val"), "true")
    row_props.append(cant)
    left, right = table.cell(0, 0), table.cell(0, 1)
    title = left.paragraphs[0]
    _run(title, WORDS["recipients"], bold=True, italic=True, size=12)
    recipients = list(h.recipients)
    if not any(r.lower().startswith("lưu") for r in recipients):
        recipients.append(WORDS["keep"])
    for i, name in enumerate(recipients):
        end = "." if i == len(recipients) - 1 else ";"
        text = name if name.endswith((".", ";")) else name + end
        _para(left, f"- {text}", align="left", size=11)
    signer = right.paragraphs[0]
    signer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(signer, h.signer_title.upper(), bold=True, size=13)
    for _ in range(4):
        _para(right, align="center")
    name = h.signer_name or WORDS["signer_placeholder"]
    _para(right, name, align="center", bold=bool(h.signer_name), italic=not h.signer_name, size=13)
