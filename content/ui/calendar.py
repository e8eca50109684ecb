"""The calendar: a week or a month of posts (office time), and moving a post to another day.

The screen is here; what its cells say and its days are in content.ui.calendar_days, its
grid and the day's list in content.ui.calendar_widgets.

Both views read the same posts (:func:`content.ui.data.week_posts`) and share one cursor,
a day. Moving a post is three steps, all by keys: pick it (D on a post in the week view,
on a day of the month or in a day's list), move the cursor to another day, press Enter and
confirm the time. The change itself is :meth:`content.queue.Queue.schedule`, which keeps the
rules (the past, approvals, what is already being sent); its refusals are said as every
screen says them, and the post stays where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Footer, Header, Label, Static

from content.times import parse_when
from content.ui import data
from content.ui.actions import report_done, time_check
from content.ui.base import ActionFinished, PollingScreen, report_error
from content.ui.calendar_days import (
    CHROME_LINES,
    MONTH,
    ONE_LINE_FROM,
    WEEK,
    WEEK_LINES,
    Cells,
    DaysRead,
    Moving,
    add_months,
    cell_width,
    monday_of,
    month_days,
    month_title,
    weekday_name,
)
from content.ui.calendar_widgets import CalendarTable, DayDialog
from content.ui.dialogs import PromptDialog
from content.ui.fmt import (
    WEEKDAYS,
    first_line,
)
from content.ui.i18n import N_, _, ngettext


class CalendarScreen(PollingScreen[DaysRead]):
    """A week or a month of posts; move between them, list a day, move a post by keys."""

    CSS_PATH = "calendar.tcss"

    HELP_TEXT = N_(
        "The calendar, in office time. The week view has a column per day with its posts; "
        "the month view shows each day with how many posts it has and the first titles "
        "(colour: the post's state). W and M switch between them; the arrow keys move "
        "from day to day, [ and ] go to the previous and next week or month, T comes back "
        "to today. Enter opens a post (week) or lists a day's posts (month).\n\n"
        "To move a post to another day: press D on it (in the week view, on a day of the "
        "month, or in a day's list), move to the new day with the arrow keys, press Enter, "
        "check or change the time and press Enter again. Escape stops moving. Loa refuses "
        "a time in the past or a post already being sent, and says why."
    )

    BINDINGS = [
        # Enter is the screen's, not the table's: what it does depends on the view.
        Binding("enter", "put_here", "Put it here", priority=True),
        Binding("enter", "open_day", "Day's posts", priority=True),
        Binding("enter", "open_post", "Open", priority=True),
        Binding("escape", "stop_moving", "Stop moving"),
        Binding("escape", "back", "Back"),
        Binding("d", "move", "Move to another day"),
        Binding("m", "show_month", "Month"),
        Binding("w", "show_week", "Week"),
        Binding(
            "left_square_bracket", "previous_month", "Previous month", key_display="[", show=False
        ),
        Binding(
            "left_square_bracket", "previous_week", "Previous week", key_display="[", show=False
        ),
        Binding("right_square_bracket", "next_month", "Next month", key_display="]", show=False),
        Binding("right_square_bracket", "next_week", "Next week", key_display="]", show=False),
        Binding("t", "today", "Today", show=False),
        Binding("r,f5", "refresh", "Refresh", show=False),
    ]

    def __init__(self, mode: str = WEEK) -> None:
        super().__init__()
        self.mode = mode
        #: The day under the cursor (office time); set on mount, when the clock is known.
        self.day = date.min
        #: The days read and shown: [start, end).
        self.start = self.end = date.min
        self.by_day: dict[date, list[data.QueueRow]] = {}
        #: Week view: the post in each cell, by (row, column).
        self.cells: dict[tuple[int, int], int] = {}
        self.moving: Moving | None = None
        #: The table size the rows were last drawn for.
        self.drawn_for = (0, 0)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="week-nav"):
            # The keys are on the buttons: the footer at 80 columns has no room for them.
            yield Button("◀ [", id="previous", compact=True)
            yield Label("", id="week-label")
            yield Button("] ▶", id="next", compact=True)
            yield Button(_("Today") + " (T)", id="this", compact=True)
        yield Static("", id="calendar-hint")
        yield CalendarTable(
            self._step, self._table_resized, id="week", cursor_type="cell", zebra_stripes=False
        )
        yield Footer()

    def on_mount(self) -> None:
        self.day = self.ctx.clock().astimezone(self.ctx.tz).date()
        self._show_title()
        self.query_one("#week", DataTable).focus()

    def _table_resized(self) -> None:
        # Column widths and row heights follow the table: a resized terminal, or the hint
        # line that comes and goes while a post is being moved.
        if self.loaded and self._table_size() != self.drawn_for:
            self._draw()

    def _table_size(self) -> tuple[int, int]:
        """The table's width and height; estimated from the screen before the first layout."""
        table = self.query_one("#week", DataTable)
        if table.size.height:
            return table.size.width, table.size.height
        return self.size.width or 80, (self.size.height or 24) - CHROME_LINES

    def _show_title(self) -> None:
        self.title = _("Month") if self.mode == MONTH else _("Week")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer the keys of the current view (others are hidden from the footer)."""
        moving = self.moving is not None
        month = self.mode == MONTH
        shown = {
            "put_here": moving,
            "open_day": month and not moving,
            "open_post": not month and not moving,
            "stop_moving": moving,
            "back": not moving,
            "move": not moving,
            "show_month": not month and not moving,
            "show_week": month and not moving,
            "previous_month": month,
            "next_month": month,
            "previous_week": not month,
            "next_week": not month,
        }
        return shown.get(action, True)

    # ------------------------------------------------------------------ reading

    def _range(self) -> tuple[date, date]:
        """The first day shown and the day after the last."""
        if self.mode == MONTH:
            days = month_days(self.day)
            return days[0], days[-1] + timedelta(days=1)
        start = monday_of(self.day)
        return start, start + timedelta(days=7)

    def fetch(self) -> Callable[[], DaysRead]:
        """The posts of the days shown."""
        start, end = self._range()
        engine, tz, visible = self.ctx.engine, self.ctx.tz, self.ctx.visible
        # Midnight office time at both ends: a post at 23:30 belongs to its own day.
        first = datetime.combine(start, time(0, 0), tzinfo=tz)
        after = datetime.combine(end, time(0, 0), tzinfo=tz)
        return lambda: DaysRead(start, end, data.week_posts(engine, first, after, visible=visible))

    def show(self, result: DaysRead) -> None:
        """Sort the posts read into their days and draw them."""
        if (result.start, result.end) != self._range():
            return  # the officer has moved on since
        tz = self.ctx.tz
        self.start, self.end = result.start, result.end
        self.by_day = {}
        for row in result.rows:
            if row.scheduled_at is not None:
                day = row.scheduled_at.astimezone(tz).date()
                self.by_day.setdefault(day, []).append(row)
        self.loaded = True
        self._draw()

    # ------------------------------------------------------------------ drawing

    def _draw(self) -> None:
        """Draw the view from the posts read, then put the cursor on the day."""
        self.drawn_for = self._table_size()
        width = cell_width(self.drawn_for[0])
        if self.mode == MONTH:
            self._render_month(width)
        else:
            self._render_week(width)
        self._show_label()
        self._show_hint()

    def _cells(self) -> Cells:
        """What the cells say, for the posts read and the size drawn for."""
        return Cells(self.by_day, self.ctx.tz, self.ctx.clock, self.moving, self.drawn_for[1])

    def _render_week(self, width: int) -> None:
        table = self.query_one("#week", DataTable)
        cursor_row = table.cursor_coordinate.row
        table.clear(columns=True)
        today = self.ctx.clock().astimezone(self.ctx.tz).date()
        days = [self.start + timedelta(days=i) for i in range(7)]
        paint = self._cells()
        for i, day in enumerate(days):
            table.add_column(paint.header(day, width, today), key=str(i), width=width)
        self.cells = {}
        columns = [self.by_day.get(day, []) for day in days]
        rows = max(1, *(len(c) for c in columns))
        # A post's title wraps over as many lines as the busiest day leaves (up to
        # WEEK_LINES): a quiet week reads whole titles, a busy one still fits the screen.
        height = self.drawn_for[1]
        lines = max(1 if width >= ONE_LINE_FROM else 2, min(WEEK_LINES, (height - 1) // rows))
        # One row at least: the cursor shows the day even in an empty week.
        for r in range(rows):
            cells: list[Any] = []
            for c, posts in enumerate(columns):
                if r < len(posts):
                    self.cells[(r, c)] = posts[r].id
                    parts = paint.post_lines(posts[r], width, with_time=True, lines=lines)
                    cells.append(Text("\n").join(parts))
                else:
                    cells.append(Text(""))
            table.add_row(*cells, height=max(len(str(cell).split("\n")) for cell in cells))
        column = (self.day - self.start).days
        table.move_cursor(row=min(cursor_row, table.row_count - 1), column=column, animate=False)

    def _render_month(self, width: int) -> None:
        table = self.query_one("#week", DataTable)
        table.clear(columns=True)
        for i, name in enumerate(WEEKDAYS):
            table.add_column(Text(_(name), "bold"), key=str(i), width=width)
        days = month_days(self.day)
        paint = self._cells()
        heights = paint.week_heights(days)
        today = self.ctx.clock().astimezone(self.ctx.tz).date()
        for w, lines in enumerate(heights):
            week = days[w * 7 : w * 7 + 7]
            table.add_row(
                *[
                    paint.month_cell(d, width, lines, today, self.day.month, d == self.day)
                    for d in week
                ],
                height=lines,
            )
        index = days.index(self.day)
        table.move_cursor(row=index // 7, column=index % 7, animate=False)

    def _show_label(self) -> None:
        shown = sum(
            len(posts) for day, posts in self.by_day.items() if self.start <= day < self.end
        )
        if self.mode == MONTH:
            in_month = sum(
                len(posts)
                for day, posts in self.by_day.items()
                if (day.year, day.month) == (self.day.year, self.day.month)
            )
            text = ngettext("{month}: {n} post", "{month}: {n} posts", in_month).format(
                month=month_title(self.day), n=in_month
            )
        else:
            last = self.start + timedelta(days=6)
            text = _("{first} – {last}: {n} posts").format(
                first=self.start.strftime("%d/%m"), last=last.strftime("%d/%m/%Y"), n=shown
            )
        self.query_one("#week-label", Label).update(text)

    def _show_hint(self) -> None:
        hint = self.query_one("#calendar-hint", Static)
        hint.set_class(self.moving is not None, "-shown")
        if self.moving is None:
            hint.update("")
            return
        moving = self.moving
        text = _("Moving post {id} «{title}» ({when}) to {day}")

        def said(title: str) -> str:
            return text.format(
                id=moving.post_id,
                title=title,
                when=self._local(moving.at),
                day=weekday_name(self.day),
            )

        # One line, so the month keeps its rows: the title gives way, the days do not.
        room = (self.size.width or 80) - 2 - len(said(""))
        hint.update(said(first_line(moving.title, max(room, 6))))

    def _local(self, value: datetime) -> str:
        local = value.astimezone(self.ctx.tz)
        return f"{_(WEEKDAYS[local.weekday()])} {local.strftime('%d/%m %H:%M')}"

    # ------------------------------------------------------------------ the cursor

    def _go_to(self, day: date) -> None:
        """Put the cursor on ``day``; read other days first when it is not shown."""
        before = self._range()
        self.day = day
        if self._range() != before or not self.start <= day < self.end:
            self.reload()
        else:
            self._render_cursor()
        self._show_hint()

    def _render_cursor(self) -> None:
        table = self.query_one("#week", DataTable)
        if self.mode == MONTH:
            # The target cell previews the post being moved: redraw the grid.
            if self.moving is not None:
                self._draw()
                return
            days = month_days(self.day)
            index = days.index(self.day)
            table.move_cursor(row=index // 7, column=index % 7, animate=False)
        else:
            table.move_cursor(column=(self.day - self.start).days, animate=False)

    def _step(self, days: int, vertical: bool) -> bool:
        """An arrow key: in the month every arrow moves the day; in the week, left and right.

        Returns False to let the table move its cursor (up and down among a day's posts).
        """
        if not self.loaded:
            return True
        if self.mode == WEEK and vertical:
            return False
        self._go_to(self.day + timedelta(days=days))
        return True

    @on(DataTable.CellHighlighted, "#week")
    def _highlighted(self, event: DataTable.CellHighlighted) -> None:
        # A click moves the cursor too: the day follows it.
        table = self.query_one("#week", DataTable)
        if not self.loaded or event.coordinate != table.cursor_coordinate:
            # Stale: sent while the table was being redrawn (clearing puts the cursor at the
            # top left), and the cursor has been put back on the day since.
            return
        coordinate = event.coordinate
        if self.mode == MONTH:
            days = month_days(self.day)
            index = coordinate.row * 7 + coordinate.column
            if 0 <= index < len(days) and days[index] != self.day:
                self._go_to(days[index])
        else:
            day = self.start + timedelta(days=coordinate.column)
            if day != self.day:
                self.day = day
                self._show_hint()

    @on(DataTable.CellSelected, "#week")
    def _selected(self) -> None:
        # A click on the highlighted cell: what Enter does.
        if self.moving is not None:
            self.action_put_here()
        elif self.mode == MONTH:
            self.action_open_day()
        else:
            self.action_open_post()

    def current_post_id(self) -> int | None:
        """Week view: the post in the cell under the cursor, if any."""
        table = self.query_one("#week", DataTable)
        if self.mode != WEEK or not table.row_count:
            return None
        coordinate = table.cursor_coordinate
        return self.cells.get((coordinate.row, coordinate.column))

    # ------------------------------------------------------------------ actions

    def action_show_month(self) -> None:
        """The month of the day under the cursor."""
        self._switch(MONTH)

    def action_show_week(self) -> None:
        """The week of the day under the cursor."""
        self._switch(WEEK)

    def _switch(self, mode: str) -> None:
        self.mode = mode
        self._show_title()
        self.refresh_bindings()
        self.loaded = False
        self.reload()

    def action_previous_week(self) -> None:
        """The week before."""
        self._go_to(self.day - timedelta(days=7))

    def action_next_week(self) -> None:
        """The week after."""
        self._go_to(self.day + timedelta(days=7))

    def action_previous_month(self) -> None:
        """The month before."""
        self._go_to(add_months(self.day, -1))

    def action_next_month(self) -> None:
        """The month after."""
        self._go_to(add_months(self.day, 1))

    @on(Button.Pressed, "#previous")
    def _previous_pressed(self) -> None:
        if self.mode == MONTH:
            self.action_previous_month()
        else:
            self.action_previous_week()

    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        if self.mode == MONTH:
            self.action_next_month()
        else:
            self.action_next_week()

    @on(Button.Pressed, "#this")
    def action_today(self) -> None:
        """Back to today."""
        self._go_to(self.ctx.clock().astimezone(self.ctx.tz).date())
        self.query_one("#week", DataTable).focus()

    def action_open_post(self) -> None:
        """Week view: open the post under the cursor."""
        from content.ui.detail import DetailScreen

        post_id = self.current_post_id()
        if post_id is not None:
            self.app.push_screen(DetailScreen(post_id))

    def action_open_day(self) -> None:
        """Month view: list the day's posts (open one, or pick one to move)."""
        posts = self.by_day.get(self.day, [])
        if not posts:
            self.notify(_("No posts on {day}.").format(day=weekday_name(self.day)))
            return
        self.app.push_screen(DayDialog(self.day, posts, move_only=False), self._day_chosen)

    def action_move(self) -> None:
        """Pick a post to move: the one under the cursor (week) or one of the day's (month)."""
        if self.mode == WEEK:
            post_id = self.current_post_id()
            row = next((r for r in self.by_day.get(self.day, []) if r.id == post_id), None)
            if row is None:
                self.notify(_("Put the cursor on a post first."), severity="warning")
                return
            self._start_moving(row)
            return
        posts = self.by_day.get(self.day, [])
        if not posts:
            self.notify(_("No posts on {day}.").format(day=weekday_name(self.day)))
        elif len(posts) == 1:
            self._start_moving(posts[0])
        else:
            self.app.push_screen(DayDialog(self.day, posts, move_only=True), self._day_chosen)

    def _day_chosen(self, choice: tuple[str, int] | None) -> None:
        if choice is None:
            return
        what, post_id = choice
        if what == "open":
            from content.ui.detail import DetailScreen

            self.app.push_screen(DetailScreen(post_id))
            return
        row = next((r for r in self.by_day.get(self.day, []) if r.id == post_id), None)
        if row is not None:
            self._start_moving(row)

    def _start_moving(self, row: data.QueueRow) -> None:
        assert row.scheduled_at is not None  # the calendar shows timed posts only
        self.moving = Moving(row.id, first_line(row.title or row.text, 60), row.scheduled_at)
        self.refresh_bindings()
        self._draw()

    def action_stop_moving(self) -> None:
        """Leave the post where it is, and the cursor with it."""
        moving = self.moving
        self.moving = None
        self.refresh_bindings()
        if moving is not None:
            self._go_to(moving.at.astimezone(self.ctx.tz).date())
        self._draw()

    def action_put_here(self) -> None:
        """Ask for the time on the day under the cursor (the old time offered), then move."""
        moving = self.moving
        if moving is None:
            return
        tz = self.ctx.tz
        day = self.day

        def at(value: str) -> datetime:
            # The CLI's parser, on the chosen day: the same forms (9h30 too) and refusals.
            return parse_when(
                f"{day.strftime('%d/%m/%Y')} {value.strip()}", tz, now=self.ctx.clock()
            )

        def answer(value: str | None) -> None:
            if value is None:
                return
            when = at(value)
            self.run_change("schedule", lambda: self.ctx.queue().schedule(moving.post_id, when))

        self.app.push_screen(
            PromptDialog(
                _("Move post {id} to {day}").format(
                    id=moving.post_id,
                    day=f"{_(WEEKDAYS[day.weekday()])} {day.strftime('%d/%m/%Y')}",
                ),
                _("At what time (office time, HH:MM)?"),
                ok_label=_("Move"),
                value=moving.at.astimezone(tz).strftime("%H:%M"),
                placeholder="HH:MM",
                check=time_check(at),
            ),
            answer,
        )

    def on_action_finished(self, message: ActionFinished) -> None:
        if message.error is not None:
            # Refused: the post stays where it was, and the officer may pick another day.
            report_error(self, message.error)
            self.reload()
            return
        report_done(self, message.what, message.result)
        self.moving = None
        self.refresh_bindings()
        self.reload()

    def action_back(self) -> None:
        """Back to the queue."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read again now."""
        self.reload()
