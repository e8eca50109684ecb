"""Queue cells: cut to their column with an ellipsis, lines kept, numbers to the right."""

from rich.console import Console
from rich.text import Text

from content.ui.table_cell import TableCell


def shown(cell: TableCell, width: int) -> list[str]:
    console = Console(width=width, color_system=None, legacy_windows=False)
    options = console.options.update_width(width)
    return [
        "".join(s.text for s in line) for line in console.render_lines(cell, options, pad=False)
    ]


def test_a_long_vietnamese_title_is_cut_with_an_ellipsis_at_the_column_width():
    cell = TableCell("Cảnh giác lừa đảo qua mạng xã hội")
    assert shown(cell, 12) == ["Cảnh giác l…"]


def test_a_cell_that_fits_is_shown_whole():
    assert shown(TableCell("Ấp 3"), 10) == ["Ấp 3"]


def test_each_line_of_a_channel_cell_is_kept_and_cut_on_its_own():
    cell = TableCell(Text("tinh-fb ✓\nxa-phuoc-long-zalo ○"))
    assert shown(cell, 12) == ["tinh-fb ✓", "xa-phuoc-lo…"]


def test_a_number_sits_at_the_right_of_its_column():
    assert shown(TableCell("42", right=True), 5) == ["   42"]


def test_the_styles_of_the_text_reach_the_screen():
    console = Console(width=10, color_system="standard", legacy_windows=False)
    segments = list(console.render(TableCell(Text("lỗi", "bold red")), console.options))
    assert any(s.text == "lỗi" and s.style is not None and s.style.bold for s in segments)


def test_the_cell_reads_as_its_plain_text():
    assert str(TableCell(Text("đã đăng", "green"))) == "đã đăng"
