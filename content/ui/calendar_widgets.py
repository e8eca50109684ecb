"""The calendar's widgets: its grid, whose arrow keys ask the screen first, and the list
of one day's posts. The screen is content.ui.calendar.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Label, Static

from content.ui import data
from content.ui.base import LoaModal
from content.ui.fmt import POST_STATE_STYLES, WEEKDAYS, first_line, post_state, shown_state
from content.ui.i18n import _


class CalendarTable(DataTable[Any]):
    """The grid; arrow keys ask the screen first, so the cursor can leave the days shown."""

    def __init__(
        self, step: Callable[[int, bool], bool], resized: Callable[[], None], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        #: ``step(days, vertical)`` moves the day cursor; False leaves it to the table.
        self.step = step
        #: Called when the table's size changes: its rows are sized to fit it.
        self.resized = resized

    def on_resize(self, event: events.Resize) -> None:
        self.resized()

    def action_cursor_left(self) -> None:
        if not self.step(-1, False):
            super().action_cursor_left()

    def action_cursor_right(self) -> None:
        if not self.step(1, False):
            super().action_cursor_right()

    def action_cursor_up(self) -> None:
        if not self.step(-7, True):
            super().action_cursor_up()

    def action_cursor_down(self) -> None:
        if not self.step(7, True):
            super().action_cursor_down()


class DayDialog(LoaModal[tuple[str, int] | None]):
    """One day's posts: Enter opens one (or, when picking, moves it); D moves it."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("enter", "choose", "Choose", show=False, priority=True),
        Binding("d", "move", "Move to another day"),
    ]

    def __init__(self, day: date, posts: list[data.QueueRow], *, move_only: bool) -> None:
        super().__init__()
        self.day = day
        self.posts = posts
        self.move_only = move_only

    def compose(self) -> ComposeResult:
        heading = (
            _("Which post of {day} to move?") if self.move_only else _("Posts of {day}")
        ).format(day=f"{_(WEEKDAYS[self.day.weekday()])} {self.day.strftime('%d/%m/%Y')}")
        hint = (
            _("Enter: move this post · Escape: close")
            if self.move_only
            else _("Enter: open · D: move to another day · Escape: close")
        )
        with Vertical(classes="dialog day-dialog"):
            yield Label(heading, classes="dialog-title")
            yield DataTable(id="day-posts", cursor_type="row", zebra_stripes=True)
            yield Static(hint, classes="dialog-hint")

    def on_mount(self) -> None:
        table: DataTable[Any] = self.query_one("#day-posts", DataTable)
        tz = self.ctx.tz
        now = self.ctx.clock()
        table.add_column(_("Time"), key="time", width=5)
        table.add_column(_("State"), key="state", width=12)
        table.add_column(_("Text"), key="text")
        for row in self.posts:
            state = shown_state(row.state, row.scheduled_at, (d.state for d in row.deliveries), now)
            table.add_row(
                row.scheduled_at.astimezone(tz).strftime("%H:%M") if row.scheduled_at else "",
                Text(post_state(state), POST_STATE_STYLES.get(state, "")),
                Text(first_line(row.title or row.text, 200), no_wrap=True, overflow="ellipsis"),
                key=str(row.id),
            )
        table.focus()

    def _current(self) -> int | None:
        table = self.query_one("#day-posts", DataTable)
        if not table.row_count:
            return None
        return self.posts[table.cursor_row].id

    def action_choose(self) -> None:
        post_id = self._current()
        if post_id is not None:
            self.dismiss(("move" if self.move_only else "open", post_id))

    def action_move(self) -> None:
        post_id = self._current()
        if post_id is not None:
            self.dismiss(("move", post_id))

    @on(DataTable.RowSelected, "#day-posts")
    def _clicked(self) -> None:
        self.action_choose()

    def action_close(self) -> None:
        self.dismiss(None)
