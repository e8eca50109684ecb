"""A DataTable cell that is laid out once for its column, for tables that redraw often.

Textual's DataTable renders every visible cell through Rich's text layout (wrapping,
justifying) each time the table changes, and measures every cell of every new row to size
its columns. The queue's columns have fixed widths and its cells never wrap (the channel
cell breaks its own lines), so that work bought nothing: it was most of a filter
keystroke's redraw over a full page. :class:`TableCell` cuts its lines to the column once,
keeps the segments per width, and offers no measurement (the table then takes one cell,
which fixed-width columns ignore).
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.text import Text


class TableCell:
    """``text`` shown line by line, each line cut with an ellipsis at the column's width.

    Only for columns with a fixed width and rows with a known height.
    """

    __slots__ = ("_right", "_segments", "text")

    def __init__(self, text: Text | str, *, right: bool = False) -> None:
        self.text = text if isinstance(text, Text) else Text(text)
        self._right = right
        self._segments: dict[int, list[Segment]] = {}

    @property
    def plain(self) -> str:
        """The cell's text without styles."""
        return self.text.plain

    def __str__(self) -> str:
        return self.text.plain

    def __repr__(self) -> str:
        return f"TableCell({self.text.plain!r})"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        width = options.max_width
        segments = self._segments.get(width)
        if segments is None:
            segments = self._segments[width] = self._layout(console, width)
        return segments

    def _layout(self, console: Console, width: int) -> list[Segment]:
        segments: list[Segment] = []
        for n, line in enumerate(self.text.split("\n", allow_blank=True)):
            if n:
                segments.append(Segment.line())
            if line.cell_len > width:
                line.truncate(width, overflow="ellipsis")
            elif self._right:
                line.pad_left(width - line.cell_len)
            rendered = line.render(console)
            # Text.render leaves the line's own style to its caller (spans only).
            if line.style:
                rendered = Segment.apply_style(rendered, console.get_style(line.style))
            segments.extend(rendered)
        return segments
