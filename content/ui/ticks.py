"""A SelectionList that shows a tick in the box of a chosen row and leaves the others empty.

Textual's SelectionList draws ``▐X▌`` on every row, chosen or not, and tells them apart by
colour only: an officer at a dim screen (or colour-blind) cannot see which channels are
ticked. The box here holds ``✓`` when chosen and a space when not; colours stay as they are.
"""

from __future__ import annotations

from typing import TypeVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import SelectionList
from textual.widgets.option_list import OptionDoesNotExist

T = TypeVar("T")

#: What the box holds for a chosen and for an unchosen row.
TICK, EMPTY = "✓", " "


class TickList(SelectionList[T]):
    """A SelectionList whose box holds ``✓`` when the row is chosen and nothing when not."""

    def render_line(self, y: int) -> Strip:
        """The stock line, with the box's inner character telling chosen from not."""
        strip = super().render_line(y)
        try:
            option = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return strip  # below the last row: no box on this line
        segments = list(strip)
        if len(segments) < 2:
            return strip
        # The stock line starts with the box: left edge, inner character, right edge.
        inner = segments[1]
        segments[1] = Segment(TICK if option.value in self._selected else EMPTY, inner.style)
        return Strip(segments, strip.cell_length)
