"""Queue cells: cut to their column with an ellipsis, lines kept, numbers to the right; the
table that draws them directly shows what DataTable would."""

import importlib
import logging
from itertools import product

import pytest
from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from content.ui import table_cell
from content.ui.table_cell import CellTable, TableCell, internals_problem


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


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table = CellTable(cursor_type="row", zebra_stripes=True)
        table.add_column("#", width=4)
        table.add_column("channels", width=10)
        table.add_column("title", width=12)
        table.add_column("plain", width=6)
        rows = [
            (TableCell("7", right=True), TableCell(Text("tinh-fb ✓", "green")), "Ấp 3", 1),
            (TableCell("12", right=True), TableCell("tinh-fb ✓\nxa-phuoc-long-zalo ○"), "x", 2),
            (TableCell("123", right=True), TableCell("a\nb"), "taller", 3),
        ]
        for number, channels, plain, height in rows:
            title = TableCell(Text("Cảnh giác lừa đảo qua mạng", "bold red"))
            table.add_row(number, channels, title, plain, height=height)
        yield table


def _drawn(render, table: CellTable, *args: object) -> list[list[Segment]]:
    table._clear_caches()
    return [list(Segment.simplify(line)) for line in render(table, *args)]


async def test_the_table_draws_its_cells_as_datatable_would_for_every_cursor_and_style():
    app = _TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        table = app.query_one(CellTable)
        table.hover_coordinate = table.cursor_coordinate
        cases = list(
            product(
                range(table.row_count),
                enumerate(table.ordered_columns),
                [(False, False), (True, False), (False, True)],
                ["table", "row"],
            )
        )
        for row, (column, spec), (cursor, hover), base_of in cases:
            base = table.rich_style
            if base_of == "row":
                base = table._get_row_style(row, base)
            args = (row, column, base, spec.get_render_width(table), cursor, hover)
            fast = _drawn(CellTable._render_cell, table, *args)
            assert fast == _drawn(DataTable._render_cell, table, *args), args
        assert len(cases) == 3 * 4 * 3 * 2


def test_the_textual_internals_the_table_relies_on_are_as_expected():
    assert internals_problem(CellTable()) is None


def _add_a_parameter(monkeypatch):
    original = DataTable._render_cell

    def reshaped(
        self, row_index, column_index, base_style, width, cursor=False, hover=False, *, x=0
    ):
        return original(self, row_index, column_index, base_style, width, cursor, hover)

    monkeypatch.setattr(DataTable, "_render_cell", reshaped)


def _drop_the_cache_key(monkeypatch):
    monkeypatch.delattr(importlib.import_module(DataTable.__module__), "CellCacheKey")


@pytest.mark.parametrize("change", [_add_a_parameter, _drop_the_cache_key])
async def test_a_table_draws_through_datatable_when_its_internals_changed(
    change, monkeypatch, caplog
):
    """A Textual whose internals are not as expected: one warning, and every table (the
    first and the next) draws what DataTable draws, through DataTable's own method."""
    change(monkeypatch)
    monkeypatch.setattr(table_cell, "_checked", False)
    monkeypatch.setattr(table_cell, "_problem", None)
    with caplog.at_level(logging.WARNING, logger=table_cell.__name__):
        for _ in range(2):
            app = _TableApp()
            async with app.run_test(size=(60, 10)) as pilot:
                await pilot.pause()
                table = app.query_one(CellTable)
                assert table._render_cell.__func__ is DataTable._render_cell
                column = table.ordered_columns[2]
                args = (0, 2, table.rich_style, column.get_render_width(table))
                drawn = ["".join(s.text for s in line) for line in table._render_cell(*args)]
                assert drawn == [" Cảnh giác l… "]
    warnings = [r.getMessage() for r in caplog.records if r.name == table_cell.__name__]
    assert len(warnings) == 1, warnings
    assert "DataTable's own path" in warnings[0]
