"""Every Page and OA: how many posts wait, failed or need a check, and whether the daemon
paused it (a token stopped working). Resuming needs the daemon's function, injected by the
App; without it the screen only shows.

Where channels.toml has units, the channels are listed unit by unit in tree order, the unit's
name (indented under its parent, as ``loa units list`` shows the tree) in a first column in
place of the channel's display name, and whether it works comes right after its platform:
at 80 columns the unit, the channel, its state and its posts waiting and failed are in
view. Once the daemon has counted them, each channel's followers stand beside its posts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from content.engagement import latest_followers
from content.office import ChannelDirectory
from content.ui import data
from content.ui.base import ActionFinished, PollingScreen, report_error
from content.ui.composer import KIND_LABELS
from content.ui.fmt import number, when
from content.ui.i18n import N_, _

#: The unit column is at most this wide (a name cut with an ellipsis), and each level of
#: the tree indents a name this much: the table stays readable at 80 columns.
UNIT_WIDTH = 18
INDENT = 1
#: The columns in order, without units and with them (the unit's name replaces the
#: channel's display name, and the state moves forward to stay in view at 80 columns).
COLUMNS = ("channel", "kind", "name", "waiting", "failed", "check", "published", "followers")
COLUMNS_END = ("status", "success")
UNIT_COLUMNS = ("unit", "channel", "kind", "status", "waiting", "failed", "check", "published")
UNIT_COLUMNS_END = ("followers", "success")
LABELS = {
    "unit": N_("Unit"),
    "channel": N_("Channel"),
    "kind": N_("Platform"),
    "name": N_("Name"),
    "waiting": N_("Waiting"),
    "failed": N_("Failed"),
    "check": N_("To check"),
    "published": N_("Posted"),
    "followers": N_("Followers"),
    "status": N_("Status"),
    "success": N_("Last success"),
}


@dataclass(frozen=True)
class ChannelsRead:
    """What the screen shows, read in one go (plain values, safe to pass between threads)."""

    rows: list[data.ChannelRow]
    #: Each channel's latest follower count (absent: never counted).
    followers: dict[str, int]


def unit_label(name: str, depth: int, width: int = UNIT_WIDTH) -> str:
    """A unit's name indented by its depth, in ``width`` cells. A name too long loses its
    first words, not its last: units share their opening words ("Công an xã ...") and
    differ in the place they end with, so "…xã Hòa An" is told apart where "Công an xã
    Hòa …" and "Công an xã Hòa …" would not be."""
    indent = " " * (INDENT * depth)
    if cell_len(indent + name) <= width:
        return indent + name
    words = name.split(" ")
    while len(words) > 1 and cell_len(f"{indent}…{' '.join(words)}") > width:
        words.pop(0)
    tail = " ".join(words)
    while tail and cell_len(f"{indent}…{tail}") > width:
        tail = tail[1:]  # one word longer than the column: its end, as for the others
    return f"{indent}…{tail}"


def tree_order(
    directory: ChannelDirectory, channels: list[str]
) -> list[tuple[str, str | None, int]]:
    """``channels`` as (channel, unit id or None, depth) in the unit tree's order, each
    unit's own channels under it; channels of no unit last, in their given order. The unit
    is named on its first channel only (None after it)."""
    order: list[tuple[str, str | None, int]] = []
    placed: set[str] = set()
    for unit in directory.units:
        first = True
        for channel in unit.channels:
            if channel in channels and channel not in placed:
                order.append((channel, unit.id if first else None, directory.units.depth(unit.id)))
                placed.add(channel)
                first = False
    order.extend((c, None, 0) for c in channels if c not in placed)
    return order


class ChannelsScreen(PollingScreen[ChannelsRead]):
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
        # The unit and channel (or the channel alone) stay in view when the officer scrolls
        # right to the followers and the last success: 80 columns do not show them all.
        fixed = 2 if self.ctx.directory.units else 1
        table: DataTable[Any] = DataTable(
            id="channels", cursor_type="row", zebra_stripes=True, fixed_columns=fixed
        )
        self._columns(table, followers=False)
        yield table
        yield Static("", id="channel-note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#channels", DataTable).focus()

    def _keys(self, *, followers: bool) -> list[str]:
        """The columns shown, in order: see :data:`COLUMNS`; the followers only once any
        channel was counted."""
        if self.ctx.directory.units:
            keys = [*UNIT_COLUMNS, *UNIT_COLUMNS_END]
        else:
            keys = [*COLUMNS, *COLUMNS_END]
        return [k for k in keys if k != "followers" or followers]

    def _columns(self, table: DataTable[Any], *, followers: bool) -> None:
        for key in self._keys(followers=followers):
            table.add_column(_(LABELS[key]), key=key, width=UNIT_WIDTH if key == "unit" else None)

    def fetch(self) -> Callable[[], ChannelsRead]:
        """Each channel's posts by state and its latest follower count."""
        channels = self.ctx.channel_ids()
        engine = self.ctx.engine
        return lambda: ChannelsRead(
            data.channel_overview(engine, channels),
            latest_followers(engine, channels=channels),
        )

    def show(self, result: ChannelsRead) -> None:
        """The channels in the unit tree's order, the cursor kept on its line."""
        table = self.query_one("#channels", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        followers = bool(result.followers)
        self._columns(table, followers=followers)
        tz = self.ctx.tz
        directory = self.ctx.directory
        by_channel = {row.channel: row for row in result.rows}
        self.rows = {}
        for channel, unit, depth in tree_order(directory, list(by_channel)):
            row = by_channel[channel]
            info = directory.channels[row.channel]
            self.rows[row.channel] = row
            status = (
                Text("⏸ " + _("paused"), "bold red")
                if row.paused
                else Text("✓ " + _("working"), "green")
            )
            unit_name = "" if unit is None else unit_label(directory.units[unit].name, depth)
            count = result.followers.get(row.channel)
            cells: dict[str, str | Text] = {
                "unit": Text(unit_name, "bold", no_wrap=True, overflow="ellipsis"),
                "channel": row.channel,
                "kind": KIND_LABELS.get(info.kind, info.kind),
                "name": Text(info.name, no_wrap=True, overflow="ellipsis"),
                "waiting": str(row.waiting),
                "failed": Text(str(row.failed), "bold red" if row.failed else ""),
                "check": Text(str(row.needs_review), "bold yellow" if row.needs_review else ""),
                "published": str(row.published),
                "followers": Text(number(count) if count is not None else "-", justify="right"),
                "status": status,
                "success": when(row.last_success_at, tz),
            }
            table.add_row(*[cells[k] for k in self._keys(followers=followers)], key=row.channel)
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
