"""Decree 30/2020/NĐ-CP's page for the periodic report (:mod:`scheduler.report_docx`): A4
portrait with its margins, Times New Roman, page numbers from the second page; and the
paragraph, table and picture primitives the report is written with.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 11
#: The text width of an A4 page with Decree 30's margins (21 - 3 - 1.5 cm).
TEXT_WIDTH_CM = 16.5


def page(document: Any) -> None:
    """A4 portrait with Decree 30's margins, page numbers centred at the top from page 2."""
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
    field(paragraph, "PAGE")


def styles(document: Any) -> None:
    """Times New Roman 13 pt, single-spaced, no space around paragraphs."""
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


def field(paragraph: Paragraph, code: str) -> None:
    """A field (``PAGE``) the word processor fills in."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), code)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def run(
    paragraph: Paragraph,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
    size: float | None = None,
) -> None:
    """A run of ``text`` at the end of ``paragraph``."""
    run = paragraph.add_run(text)
    run.bold, run.italic, run.underline = bold, italic, underline
    if size is not None:
        run.font.size = Pt(size)


def para(
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
    """A paragraph of ``text`` (a ``\\n`` breaks the line) added to ``container``."""
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
        run(paragraph, line, bold=bold, italic=italic, underline=underline, size=size)
    return paragraph


def body_para(document: Any, text: str = "", **kwargs: Any) -> Paragraph:
    """A paragraph of the body: justified, first line indented, 6 pt apart, 1.15 lines."""
    paragraph = para(document, text, indent=True, after=6, **kwargs)
    paragraph.paragraph_format.line_spacing = 1.15
    return paragraph


def title(document: Any, text: str, *, before: float = 0) -> Paragraph:
    """A part's or section's title: bold, never left alone at the foot of a page."""
    paragraph = body_para(document, text, bold=True, before=before)
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def rule(container: Any, width_cm: float, container_cm: float) -> None:
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


def no_borders(table: Table) -> None:
    """A table drawn without lines (the heading and the signature block)."""
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.append(borders)


def widths(table: Table, widths_cm: Sequence[float]) -> None:
    """Fixed column widths, in cm."""
    table.autofit = False
    # The grid's widths (LibreOffice reads these) and each cell's (Word reads those).
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)


def table(
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
    """A bordered table with a shaded header row that repeats on every page; the columns in
    ``numeric`` right-aligned, the first centred, the rows in ``bold_rows`` bold."""
    table = document.add_table(rows=1 + len(rows), cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths(table, widths_cm)
    for i, header in enumerate(headers):
        cell = table.cell(0, i)
        paragraph = cell.paragraphs[0]
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run(paragraph, header, bold=True, size=TABLE_PT)
        shade(cell, "E7E6E6")
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
            run(paragraph, value, bold=(r - 1) in bold_rows, size=TABLE_PT)
    return table


def shade(cell: _Cell, colour: str) -> None:
    """Fill ``cell`` with ``colour`` (hex RGB)."""
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour)
    cell._tc.get_or_add_tcPr().append(shading)


def picture(document: Any, png: bytes, width_cm: float) -> None:
    """A centred picture ``width_cm`` wide."""
    paragraph = para(document, align="center", before=6)
    paragraph.add_run().add_picture(io.BytesIO(png), width=Cm(width_cm))


def caption(document: Any, text: str) -> None:
    """A picture's caption: centred, italic, 11 pt."""
    para(document, text, align="center", italic=True, size=11, after=6)
