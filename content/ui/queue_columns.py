"""The queue's table, as data: which columns fit a width, what they are called, and what
each cell of a post's row says. No widgets here: the queue screen
(content.ui.queue_screen) puts these cells in its table.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from rich.text import Text

from content.ui import data
from content.ui.fmt import (
    DELIVERY_STYLES,
    DELIVERY_SYMBOLS,
    POST_STATE_STYLES,
    first_line,
    post_state,
    when,
)
from content.ui.i18n import N_
from content.ui.table_cell import TableCell

#: Column keys and their English headers (translated when the table is built).
HEADERS = {
    "id": N_("No."),
    "time": N_("Time"),
    "state": N_("State"),
    "channels": N_("Channels"),
    "text": N_("Text"),
    "author": N_("Author"),
    "campaign": N_("Campaign"),
}
#: Columns that keep their width whatever the screen: number, time, state.
FIXED = (("id", 6), ("time", 16), ("state", 10))
#: Cells of padding DataTable puts around each column (one each side).
PADDING = 2
#: The channel cell as counts of symbols (``✓3 ✗1``) below this table width: at 80 columns
#: the text is what the officer reads, and the channels by name are one Enter away.
WIDE_CHANNELS_FROM = 110
#: Author and campaign columns from this table width on.
PEOPLE_FROM = 140
#: The text column never gets narrower than this.
MIN_TEXT = 20


def column_layout(width: int) -> tuple[tuple[str, int], ...]:
    """The columns that fit a table ``width`` cells wide, and the width of each.

    The text column takes whatever is left, so a wide terminal shows more of each post.
    """
    columns: list[tuple[str, int]] = list(FIXED)
    if width >= PEOPLE_FROM:
        columns.append(("channels", 32))
    elif width >= WIDE_CHANNELS_FROM:
        columns.append(("channels", 24))
    else:
        columns.append(("channels", COMPACT_CHANNELS))
    tail = [("author", 12), ("campaign", 16)] if width >= PEOPLE_FROM else []
    used = sum(w + PADDING for _key, w in columns + tail)
    columns.append(("text", max(MIN_TEXT, width - used - PADDING)))
    return tuple(columns + tail)


#: Width of the channel cell as counts (``○1↻1✓1✗1``, the worst case).
COMPACT_CHANNELS = 8

#: Which order a click on a column header asks for.
COLUMN_SORTS = {
    "id": "newest",
    "time": "time",
    "state": "state",
    "author": "author",
    "campaign": "campaign",
}


SORT_LABELS = {
    "time": N_("Sort: time"),
    "newest": N_("Sort: newest first"),
    "state": N_("Sort: state"),
    "author": N_("Sort: author"),
    "campaign": N_("Sort: campaign"),
}


def channels_count_cell(row: data.QueueRow) -> Text:
    """``✓3 ✗1``: how many of the post's channels are in each delivery state."""
    counts: dict[str, int] = {}
    for d in row.deliveries:
        counts[d.state] = counts.get(d.state, 0) + 1
    text = Text()
    for state, symbol in DELIVERY_SYMBOLS.items():
        if counts.get(state):
            text.append(f"{symbol}{counts[state]}", DELIVERY_STYLES.get(state, ""))
    return text


def channels_cell(row: data.QueueRow, width: int = 0) -> Text:
    """``tinh-fb ✓ tinh-zalo ○``: each channel with its delivery's state symbol.

    With ``width``, lines break between channels only, so a name never loses its symbol.
    """
    text = Text()
    used = 0
    for i, d in enumerate(row.deliveries):
        item = f"{d.channel} {DELIVERY_SYMBOLS.get(d.state, '?')}"
        if i:
            wrap = width and used + 1 + len(item) > width
            text.append("\n" if wrap else " ")
            used = 0 if wrap else used + 1
        text.append(item, DELIVERY_STYLES.get(d.state, ""))
        used += len(item)
    return text


def row_cells(
    row: data.QueueRow,
    columns: tuple[tuple[str, int], ...],
    *,
    selected: bool,
    state: str,
    tz: ZoneInfo,
) -> dict[str, TableCell]:
    """The cells of a post's row for ``columns`` (key, width), by column key; ``state`` is
    the state the row shows (late once its time has passed)."""
    # Cut with an ellipsis, never wrapped: only the channel cell has several lines, and
    # it breaks them itself (between channels).
    widths = dict(columns)
    channels = widths.get("channels", 0)
    cells: dict[str, TableCell] = {}
    for key, width in columns:
        if key == "id":
            # A selected post is marked where the eye starts reading the row.
            mark = "● " if selected else ""
            cells[key] = TableCell(Text(f"{mark}{row.id}", "bold" if mark else ""), right=True)
        elif key == "time":
            cells[key] = TableCell(when(row.scheduled_at, tz))
        elif key == "state":
            cells[key] = TableCell(Text(post_state(state), POST_STATE_STYLES.get(state, "")))
        elif key == "channels":
            cells[key] = TableCell(
                channels_count_cell(row)
                if channels <= COMPACT_CHANNELS
                else channels_cell(row, channels)
            )
        elif key == "text":
            cells[key] = TableCell(first_line(row.title or row.text, width))
        elif key == "author":
            cells[key] = TableCell(row.author)
        elif key == "campaign":
            cells[key] = TableCell(row.campaign or "")
    return cells
