"""What published posts achieved: the newest figure of each metric, per channel."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header

from content.ui import data
from content.ui.base import LoaScreen
from content.ui.fmt import first_line, when
from content.ui.i18n import N_, _

#: Metrics shown first when present, as officers name them (others follow, by name).
KNOWN_METRICS = {
    "views": N_("Views"),
    "reach": N_("Reach"),
    "impressions": N_("Impressions"),
    "reactions": N_("Reactions"),
    "comments": N_("Comments"),
    "shares": N_("Shares"),
    "clicks": N_("Clicks"),
}
MAX_METRIC_COLUMNS = 5


class EngagementLoaded(Message):
    """The figures have been read."""

    def __init__(self, rows: list[data.EngagementRow]) -> None:
        super().__init__()
        self.rows = rows


class EngagementScreen(LoaScreen):
    """The most recent publications and their engagement figures."""

    HELP_TEXT = N_(
        "The most recently published posts, one line per channel, with the newest "
        "figures the daemon collected from the platform (views, reactions, comments...). "
        "Press Enter to open a post."
    )

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r,f5", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.post_ids: list[int] = []
        self.title = _("Engagement")

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="engagement", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.ctx.refresh_seconds * 10, self._tick)
        self.reload()
        self.query_one("#engagement", DataTable).focus()

    def _tick(self) -> None:
        if self.is_shown():
            self.reload()

    def reload(self) -> None:
        """Read the figures again (in a thread)."""
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        rows = self.read(lambda: data.engagement(self.ctx.engine, visible=self.ctx.visible))
        if rows is not None:
            self.post_message(EngagementLoaded(rows))

    def on_engagement_loaded(self, message: EngagementLoaded) -> None:
        names = sorted({n for row in message.rows for n in row.metrics})
        names = [n for n in KNOWN_METRICS if n in names] + [
            n for n in names if n not in KNOWN_METRICS
        ]
        names = names[:MAX_METRIC_COLUMNS]
        table: DataTable[Any] = self.query_one("#engagement", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_column(_("No."), key="id", width=5)
        table.add_column(_("Published"), key="published", width=16)
        table.add_column(_("Channel"), key="channel", width=13)
        table.add_column(_("Text"), key="text", width=30)
        for name in names:
            label = KNOWN_METRICS.get(name)
            table.add_column(_(label) if label else name, key=f"m:{name}")
        tz = self.ctx.tz
        self.post_ids = []
        for row in message.rows:
            self.post_ids.append(row.post_id)
            table.add_row(
                Text(str(row.post_id), justify="right"),
                when(row.published_at, tz),
                row.channel,
                Text(first_line(row.title, 30), no_wrap=True, overflow="ellipsis"),
                *[
                    Text(f"{row.metrics[n]:,.0f}" if n in row.metrics else "-", justify="right")
                    for n in names
                ],
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        from content.ui.detail import DetailScreen

        if 0 <= event.cursor_row < len(self.post_ids):
            self.app.push_screen(DetailScreen(self.post_ids[event.cursor_row]))

    def action_back(self) -> None:
        """Back to the queue."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read again now."""
        self.reload()
