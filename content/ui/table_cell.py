"""A DataTable cell that is laid out once for its column, for tables that redraw often.

Textual's DataTable renders every visible cell through Rich's text layout (wrapping,
justifying) each time the table changes, and measures every cell of every new row to size
its columns. The queue's columns have fixed widths and its cells never wrap (the channel
cell breaks its own lines), so that work bought nothing: it was most of a filter
keystroke's redraw over a full page. :class:`TableCell` cuts its lines to the column once,
keeps the segments per width, and offers no measurement (the table then takes one cell,
which fixed-width columns ignore). :class:`CellTable` goes one step further: it draws a
:class:`TableCell` straight into the row, without DataTable's general path (a Rich
padding and styling pipeline per cell), which was still half of a filter keystroke's
redraw; what it draws is the same, segment for segment (tests/tui/test_table_cell.py).

Why textual is pinned exactly (``textual==8.2.8`` in pyproject.toml points here)
--------------------------------------------------------------------------------

Three things read Textual as it is at that one version, not as its documented API:

* :class:`CellTable` overrides DataTable's private ``_render_cell`` and reads its private
  members (see :data:`_RENDER_CELL`, :data:`_STYLES` and :func:`internals_problem`): the
  cell cache it shares with DataTable, the row and column key maps, the update count, the
  hover and pseudo-class state that go into cache keys, the row renderables and the styles
  helper. A start-up check (the first table made in a process) compares them with what
  this module expects; where any is missing or shaped otherwise, every table draws
  through DataTable's own path (slower on a full page, the same picture) and one warning
  says why;
* content/ui/palette.py copies one private method of the command palette to translate
  its "No matches found" line;
* the snapshot tests (tests/tui/snapshots/) compare whole rendered screens, which move
  with any change in how Textual lays out or draws.

Moving the pin: install the new version, run tests/tui/test_table_cell.py (the direct
path against DataTable's, segment by segment, and the start-up check passing), the
palette's test in tests/tui/test_tui_i18n.py and the snapshot tests, then update the
shapes below, palette.py or the snapshots to match what was checked.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable

log = logging.getLogger(__name__)

#: The Textual version the shapes below were read from (pyproject.toml pins it).
TESTED_TEXTUAL = "8.2.8"
#: Parameters of ``DataTable._render_cell``, which :class:`CellTable` overrides.
_RENDER_CELL = ("self", "row_index", "column_index", "base_style", "width", "cursor", "hover")
#: Parameters of ``DataTable._get_styles_to_render_cell``, called as DataTable calls it.
_STYLES = (
    "self",
    "is_header_cell",
    "is_row_label_cell",
    "is_fixed_style_cell",
    "hover",
    "cursor",
    "show_cursor",
    "show_hover_cursor",
    "has_css_foreground_priority",
    "has_css_background_priority",
)
#: DataTable's cell cache key, which :class:`CellTable` builds alike to share the cache.
_CELL_CACHE_KEY = "tuple[RowKey, ColumnKey, Style, bool, bool, bool, int, PseudoClasses]"
#: Instance members read, with what each must offer.
_MEMBERS: dict[str, tuple[str, ...]] = {
    "_row_locations": ("get_key",),
    "_column_locations": ("get_key",),
    "_cell_render_cache": ("get", "__setitem__"),
    "_get_row_renderables": ("__call__",),
    "_update_count": ("__index__",),
    "_show_hover_cursor": ("__bool__",),
    "_pseudo_class_state": ("__hash__",),
}

#: The start-up check's verdict for this process: None until the first table is made.
_problem: str | None = None
_checked = False


class TableCell:
    """``text`` shown line by line, each line cut with an ellipsis at the column's width.

    Only for columns with a fixed width and rows with a known height.
    """

    __slots__ = ("_lines", "_right", "text")

    def __init__(self, text: Text | str, *, right: bool = False) -> None:
        self.text = text if isinstance(text, Text) else Text(text)
        self._right = right
        self._lines: dict[int, list[list[Segment]]] = {}

    @property
    def plain(self) -> str:
        """The cell's text without styles."""
        return self.text.plain

    def __str__(self) -> str:
        return self.text.plain

    def __repr__(self) -> str:
        return f"TableCell({self.text.plain!r})"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        segments: list[Segment] = []
        for n, line in enumerate(self.lines(console, options.max_width)):
            if n:
                segments.append(Segment.line())
            segments.extend(line)
        return segments

    def lines(self, console: Console, width: int) -> list[list[Segment]]:
        """The cell's lines at ``width`` cells, each cut (or right-aligned) to fit."""
        lines = self._lines.get(width)
        if lines is None:
            lines = self._lines[width] = self._layout(console, width)
        return lines

    def _layout(self, console: Console, width: int) -> list[list[Segment]]:
        text = self.text
        plain = text.plain
        if not text.spans and "\n" not in plain and cell_len(plain) <= width:
            # Most cells: one unstyled-span line that fits, which Text.render would yield
            # as one segment anyway.
            if self._right:
                plain = " " * (width - cell_len(plain)) + plain
            return [[Segment(plain, console.get_style(text.style) if text.style else None)]]
        lines: list[list[Segment]] = []
        for line in text.split("\n", allow_blank=True):
            if line.cell_len > width:
                line.truncate(width, overflow="ellipsis")
            elif self._right:
                line.pad_left(width - line.cell_len)
            rendered = list(line.render(console))
            # Text.render leaves the line's own style to its caller (spans only).
            if line.style:
                rendered = list(Segment.apply_style(rendered, console.get_style(line.style)))
            lines.append(rendered)
        return lines


def _parameters(function: object) -> tuple[str, ...] | None:
    try:
        return tuple(inspect.signature(function).parameters)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def internals_problem(table: DataTable[Any]) -> str | None:
    """What of DataTable's internals :class:`CellTable` relies on is missing or shaped
    otherwise in ``table`` (a DataTable already initialised); None when all is as expected.
    """
    for name, expected in (("_render_cell", _RENDER_CELL), ("_get_styles_to_render_cell", _STYLES)):
        found = _parameters(getattr(DataTable, name, None))
        if found != expected:
            return f"DataTable.{name} takes {found}, expected {expected}"
    try:
        module = importlib.import_module(DataTable.__module__)
    except ImportError as e:  # pragma: no cover - the module DataTable itself came from
        return f"{DataTable.__module__}: {e}"
    key = getattr(module, "CellCacheKey", None)
    if key != _CELL_CACHE_KEY:
        return f"DataTable's cell cache key is {key!r}, expected {_CELL_CACHE_KEY!r}"
    fields = getattr(getattr(module, "RowRenderables", None), "_fields", None)
    if fields != ("label", "cells"):
        return f"DataTable's row renderables have fields {fields}, expected ('label', 'cells')"
    for name, offers in _MEMBERS.items():
        member = getattr(table, name, None)
        lacking = [o for o in offers if member is None or not hasattr(member, o)]
        if lacking:
            return f"DataTable.{name} is {type(member).__name__}, without {', '.join(lacking)}"
    return None


def _check_once(table: DataTable[Any]) -> str | None:
    """The start-up check, run for the first table of the process and said once."""
    global _problem, _checked
    if not _checked:
        _problem, _checked = internals_problem(table), True
        if _problem is not None:
            log.warning(
                "CellTable: %s (textual %s, shapes read from %s); "
                "tables draw through DataTable's own path",
                _problem,
                importlib.metadata.version("textual"),
                TESTED_TEXTUAL,
            )
    return _problem


class CellTable(DataTable[Any]):
    """A DataTable that draws its :class:`TableCell` cells directly.

    Other cells, the header, row labels, fixed rows and columns and rows of automatic
    height take DataTable's own path. The cache key and styles are DataTable's; where the
    internals this relies on are not as expected (see "Why textual is pinned exactly"
    above), every cell takes DataTable's own path.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if _check_once(self) is not None:
            # DataTable's own method, bound here, is what its drawing calls: whatever its
            # signature now is, none of this class's assumptions are on the path.
            general = getattr(super(), "_render_cell", None)
            if general is not None:
                self._render_cell = general  # type: ignore[method-assign]

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        general = super()._render_cell
        # The header (row -1), row labels (column -1) and fixed rows or columns.
        if (
            row_index < 0
            or column_index < 0
            or row_index < self.fixed_rows
            or column_index < self.fixed_columns
        ):
            return general(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return general(row_index, column_index, base_style, width, cursor, hover)
        cache_key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        lines = self._cell_render_cache.get(cache_key)
        if lines is not None:
            return lines
        cell = self._get_row_renderables(row_index).cells[column_index]
        height = self.rows[row_key].height
        pad = self.cell_padding
        inner = width - 2 * pad
        if not isinstance(cell, TableCell) or not height or inner < 1:
            return general(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        style = base_style + Style.from_meta({"row": row_index, "column": column_index})
        style += component_style
        lines = []
        for line in cell.lines(self.app.console, inner)[:height]:
            fill = Segment(" " * (inner - Segment.get_line_length(line) + pad))
            segments = [Segment(" " * pad), *line, fill]
            lines.append(list(Segment.apply_style(segments, style, post_style)))
        blank = list(Segment.apply_style([Segment(" " * width)], style, post_style))
        lines.extend(list(blank) for _ in range(height - len(lines)))
        self._cell_render_cache[cache_key] = lines
        return lines
