"""Every Page and OA: how many posts wait, failed or need a check, and whether the daemon
paused it (a token stopped working). Resuming needs the daemon's function, injected by the
App; without it the screen only shows."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from content.ui import data
from content.ui.base import ActionFinished, LoaScreen, report_error
from content.ui.composer import KIND_LABELS
from content.ui.fmt import when
from content.ui.i18n import N_, _


class ChannelsLoaded(Message):
    """The channels' figures have been read."""

    def __init__(self, rows: list[data.ChannelRow]) -> None:
        super().__init__()
        self.rows = rows


class ChannelsScreen(LoaScreen):
    """The office's channels and their health."""

    HELP_TEXT = N_(
        "Each Page and Official Account of the office: how many posts wait, how many "
        "failed or must be checked, and whether publishing is paused because the channel's "
        "login stopped working. After the administrator renews the login, press U to resume "
        "the channel. Press Enter to see the channel's posts in the queue."
    )

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter", "show_posts", "Show posts", show=False),
        Binding("u", "resume", "Resume channel"),
        Binding("r,f5", "refresh", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, data.ChannelRow] = {}
        self.title = _("Channels")

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable[Any] = DataTable(id="channels", cursor_type="row", zebra_stripes=True)
        for key, label in (
            ("channel", N_("Channel")),
            ("kind", N_("Platform")),
            ("name", N_("Name")),
            ("waiting", N_("Waiting")),
            ("failed", N_("Failed")),
            ("check", N_("To check")),
            ("published", N_("Posted")),
            ("status", N_("Status")),
            ("success", N_("Last success")),
        ):
            table.add_column(_(label), key=key)
        yield table
        yield Static("", id="channel-note")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.ctx.refresh_seconds, self._tick)
        self.reload()
        self.query_one("#channels", DataTable).focus()

    def _tick(self) -> None:
        if self.is_shown():
            self.reload()

    def reload(self) -> None:
        """Read the figures again (in a thread)."""
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load(self) -> None:
        channels = self.ctx.channel_ids()
        rows = self.read(lambda: data.channel_overview(self.ctx.engine, channels))
        if rows is not None:
            self.post_message(ChannelsLoaded(rows))

    def on_channels_loaded(self, message: ChannelsLoaded) -> None:
        table = self.query_one("#channels", DataTable)
        cursor = table.cursor_row
        table.clear()
        tz = self.ctx.tz
        directory = self.ctx.directory
        self.rows = {}
        for row in message.rows:
            info = directory.channels[row.channel]
            self.rows[row.channel] = row
            status = (
                Text("⏸ " + _("paused"), "bold red")
                if row.paused
                else Text("✓ " + _("working"), "green")
            )
            table.add_row(
                row.channel,
                KIND_LABELS.get(info.kind, info.kind),
                Text(info.name, no_wrap=True, overflow="ellipsis"),
                str(row.waiting),
                Text(str(row.failed), "bold red" if row.failed else ""),
                Text(str(row.needs_review), "bold yellow" if row.needs_review else ""),
                str(row.published),
                status,
                when(row.last_success_at, tz),
                key=row.channel,
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        self._note()
        self.refresh_bindings()

    def current_channel(self) -> str | None:
        """The channel under the cursor."""
        table = self.query_one("#channels", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key.value else None

    @on(DataTable.RowHighlighted)
    def _note(self) -> None:
        channel = self.current_channel()
        row = self.rows.get(channel or "")
        note = self.query_one("#channel-note", Static)
        if row is None or not row.paused:
            note.update("")
            return
        note.update(
            _("{channel} is paused: {reason}").format(
                channel=row.channel, reason=row.paused_reason or "-"
            )
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Resume only where the daemon's function is available and the channel is paused."""
        if action == "resume":
            if self.ctx.resume_channel is None:
                return False
            row = self.rows.get(self.current_channel() or "")
            return None if row is None or not row.paused else True
        return True

    @on(DataTable.RowSelected)
    def action_show_posts(self) -> None:
        """The queue, showing only this channel's posts."""
        from textual.widgets import Select

        from content.ui.queue_screen import QueueScreen

        channel = self.current_channel()
        if channel is None:
            return
        self.app.pop_screen()
        screen = self.app.screen
        if isinstance(screen, QueueScreen):
            screen.query_one("#channel", Select).value = channel

    def action_resume(self) -> None:
        """Let the daemon publish to this channel again."""
        channel = self.current_channel()
        resume = self.ctx.resume_channel
        if channel is None or resume is None:
            return
        self.run_change("resume", lambda: resume(channel))

    def on_action_finished(self, message: ActionFinished) -> None:
        if message.error is not None:
            report_error(self, message.error)
        elif message.result:
            self.notify(_("Channel resumed: the daemon publishes to it again."), title=_("Done"))
        self.reload()

    def action_back(self) -> None:
        """Back to the queue."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read again now."""
        self.reload()
