"""The week at a glance: one column per day, the posts of that day in time order."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Footer, Header, Label

from content.ui import data
from content.ui.base import LoaScreen
from content.ui.fmt import POST_STATE_STYLES, WEEKDAYS, first_line
from content.ui.i18n import N_, _

DAY_WIDTH = 15


class WeekLoaded(Message):
    """The posts of one week have been read."""

    def __init__(self, start: datetime, rows: list[data.QueueRow]) -> None:
        super().__init__()
        self.start = start
        self.rows = rows


class CalendarScreen(LoaScreen):
    """A week of posts (office time); move between weeks, open a post with Enter."""

    HELP_TEXT = N_(
        "The week at a glance: each column is a day (office time) with its posts in time "
        "order. Move with the arrow keys; press Enter to open a post. [ and ] go to the "
        "previous and next week; T comes back to this week."
    )

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("left_square_bracket", "previous_week", "Previous week", key_display="["),
        Binding("right_square_bracket", "next_week", "Next week", key_display="]"),
        Binding("t", "this_week", "This week"),
        Binding("r,f5", "refresh", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        #: Midnight of the Monday shown (office time); set on mount, when the office is known.
        self.start = datetime.min.replace(tzinfo=UTC)
        self.cells: dict[tuple[int, int], int] = {}
        self.title = _("Week")

    def _monday(self, when: datetime | None) -> datetime:
        """Midnight (office time) of the Monday of ``when``'s week (default: now)."""
        tz = self.ctx.tz
        local = (when or self.ctx.clock()).astimezone(tz)
        day = local.date() - timedelta(days=local.weekday())
        return datetime.combine(day, time(0, 0), tzinfo=tz)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="week-nav"):
            yield Button("◀ " + _("Previous week"), id="previous")
            yield Label("", id="week-label")
            yield Button(_("This week"), id="this")
            yield Button(_("Next week") + " ▶", id="next")
        yield DataTable(id="week", cursor_type="cell", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.start = self._monday(None)
        self.set_interval(self.ctx.refresh_seconds, self._tick)
        self.reload()
        self.query_one("#week", DataTable).focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def _tick(self) -> None:
        if self.is_shown():
            self.reload()

    def reload(self) -> None:
        """Read the shown week again (in a thread)."""
        self._load(self.start)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self, start: datetime) -> None:
        # Aware arithmetic keeps the wall clock: midnight a week later, office time.
        end = start + timedelta(days=7)
        rows = self.read(
            lambda: data.week_posts(self.ctx.engine, start, end, visible=self.ctx.visible)
        )
        if rows is not None:
            self.post_message(WeekLoaded(start, rows))

    def on_week_loaded(self, message: WeekLoaded) -> None:
        if message.start != self.start:
            return
        tz = self.ctx.tz
        days = [(self.start + timedelta(days=i)).date() for i in range(7)]
        by_day: list[list[data.QueueRow]] = [[] for _ in days]
        for row in message.rows:
            if row.scheduled_at is None:
                continue
            local_day = row.scheduled_at.astimezone(tz).date()
            if local_day in days:
                by_day[days.index(local_day)].append(row)
        table = self.query_one("#week", DataTable)
        cursor = table.cursor_coordinate
        table.clear(columns=True)
        today = self.ctx.clock().astimezone(tz).date()
        for i, day in enumerate(days):
            label = f"{_(WEEKDAYS[i])} {day.strftime('%d/%m')}"
            table.add_column(
                Text(label, "bold reverse" if day == today else "bold"),
                key=str(i),
                width=DAY_WIDTH,
            )
        self.cells = {}
        height = max((len(d) for d in by_day), default=0)
        for r in range(height):
            cells: list[Any] = []
            for c, posts in enumerate(by_day):
                if r < len(posts):
                    post = posts[r]
                    self.cells[(r, c)] = post.id
                    clock_text = post.scheduled_at.astimezone(tz).strftime("%H:%M")  # type: ignore[union-attr]
                    cells.append(
                        Text(
                            f"{clock_text} {first_line(post.title or post.text, DAY_WIDTH)}",
                            POST_STATE_STYLES.get(post.state, ""),
                            no_wrap=True,
                            overflow="ellipsis",
                        )
                    )
                else:
                    cells.append("")
            table.add_row(*cells)
        if table.row_count:
            table.cursor_coordinate = cursor
        end_day = days[-1]
        self.query_one("#week-label", Label).update(
            _("{first} – {last}: {n} posts").format(
                first=days[0].strftime("%d/%m"),
                last=end_day.strftime("%d/%m/%Y"),
                n=sum(len(d) for d in by_day),
            )
        )

    def current_post_id(self) -> int | None:
        """The post in the cell under the cursor, if any."""
        table = self.query_one("#week", DataTable)
        if not table.row_count:
            return None
        coordinate = table.cursor_coordinate
        return self.cells.get((coordinate.row, coordinate.column))

    @on(DataTable.CellSelected)
    def _cell_selected(self) -> None:
        from content.ui.detail import DetailScreen

        post_id = self.current_post_id()
        if post_id is not None:
            self.app.push_screen(DetailScreen(post_id))

    @on(Button.Pressed, "#previous")
    def action_previous_week(self) -> None:
        """The week before."""
        self.start = self._monday(self.start - timedelta(days=3))
        self.reload()

    @on(Button.Pressed, "#next")
    def action_next_week(self) -> None:
        """The week after."""
        self.start = self._monday(self.start + timedelta(days=10))
        self.reload()

    @on(Button.Pressed, "#this")
    def action_this_week(self) -> None:
        """Back to the current week."""
        self.start = self._monday(None)
        self.reload()

    def action_back(self) -> None:
        """Back to the queue."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read again now."""
        self.reload()
