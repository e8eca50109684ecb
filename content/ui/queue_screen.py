"""The home screen: every post, filtered, sorted and paged, kept fresh from the database.

The screen is here; its columns and cells are in content.ui.queue_columns, the changes to
several posts at once in content.ui.queue_bulk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Footer, Header, Input, Select, Static

from content.health import LATE_AFTER
from content.heap import freeze_startup_objects
from content.models import PostState
from content.ui import data
from content.ui.fmt import (
    DELIVERY_SYMBOLS,
    LATE,
    delivery_state,
    number,
    post_state,
    shown_state,
)
from content.ui.i18n import N_, _, ngettext
from content.ui.queue_bulk import QueueSelection
from content.ui.queue_columns import (
    COLUMN_SORTS,
    HEADERS,
    SORT_LABELS,
    WIDE_CHANNELS_FROM,
    column_layout,
    row_cells,
)
from content.ui.table_cell import CellTable, TableCell

#: Scheduled posts past their time read for the "late" filter at most (late or stuck posts:
#: a handful in a working office; a thousand means the daemon has been down for days).
LATE_SCAN = 1000


class QueueScreen(QueueSelection):
    """Posts in a table; the daemon's changes appear by themselves every few seconds."""

    HELP_TEXT = N_(
        "This is the queue: every post of the office, one per row, with its time (office "
        "time), its state and the state of each channel. Type in the search box or choose a "
        "state, channel or campaign to narrow the list. Press Enter on a post to see its "
        "details and history. The list re-reads the database every few seconds."
    )

    BINDINGS = [
        Binding("n", "new_post", "New post"),
        Binding("enter", "open", "Open", show=False),
        Binding("e", "edit", "Edit"),
        Binding("v", "review", "Review"),
        Binding("exclamation_mark", "attention", "Attention", key_display="!"),
        Binding("l", "late", "Late", key_display="L", show=False),
        Binding("slash", "search", "Search", key_display="/", show=False),
        Binding("w", "week", "Week"),
        Binding("c", "channels", "Channels"),
        Binding("m", "engagement", "Engagement"),
        Binding("i", "inbox", "Inbox"),
        Binding("s", "next_sort", "Sort", show=False),
        Binding("right_square_bracket", "next_page", "Next page", key_display="]", show=False),
        Binding(
            "left_square_bracket", "previous_page", "Previous page", key_display="[", show=False
        ),
        Binding("r,f5", "refresh", "Refresh", show=False),
        Binding("space", "toggle_select", "Select", show=False),
        # Shown only while posts are selected (check_action): then they are what matters.
        Binding("a", "approve_selected", "Approve selected"),
        Binding("t", "reschedule_selected", "New time"),
        Binding("x", "cancel_selected", "Cancel selected"),
        Binding("escape", "clear_filters", "Clear filters", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_state = data.QueueQuery()
        self.keys: list[str] = []
        self.rows: dict[str, data.QueueRow] = {}
        self.total = 0
        self.campaigns: list[str] = []
        #: Whether the "late" pseudo-filter is on (the query's time bound follows the clock).
        self.late_only = False
        #: The state each row shows: a row turns late as time passes, unchanged itself.
        self.shown_states: dict[str, str] = {}
        #: Posts chosen with Space for a change to several at once, in the order chosen.
        self.selected: dict[int, None] = {}
        #: The columns shown and their widths (see column_layout); set on mount and resize.
        self.columns_shown: tuple[tuple[str, int], ...] = ()
        self.title = _("Queue")

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(placeholder=_("Search…"), id="search")
            yield Select(
                [(_("Needs attention"), data.ATTENTION), (post_state(LATE), LATE)]
                + [(post_state(s.value), s.value) for s in PostState],
                prompt=_("State"),
                id="state",
            )
            yield Select(
                [(c, c) for c in self.ctx.channel_ids()],
                prompt=_("Channels"),
                id="channel",
            )
            yield Select([], prompt=_("Campaign"), id="campaign")
            yield Button("", id="attention")
        yield CellTable(id="posts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._lay_out(self.app.size.width)
        self._show_attention(0)
        self.watch(self.query_one("#search", Input), "value", self._search_typed, init=False)
        self.query_one("#posts", DataTable).focus()

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out(event.size.width)

    def _lay_out(self, width: int) -> None:
        """Fit the columns, filters and footer to a terminal ``width`` columns wide."""
        narrow = width < WIDE_CHANNELS_FROM
        self.set_class(narrow, "-narrow")
        # At 80 columns the footer has room for the daily keys, help and quit; channels,
        # engagement and the inbox stay on their keys, in the help screen (F1) and Ctrl+P.
        for key in ("c", "m", "i"):
            for binding in self._bindings.key_to_bindings.get(key, []):
                self._bindings.key_to_bindings[key] = [replace(binding, show=not narrow)]
        self.refresh_bindings()
        # The table's own vertical scrollbar takes two cells.
        layout = column_layout(width - 2)
        if layout == self.columns_shown:
            return
        self.columns_shown = layout
        table = self.query_one("#posts", DataTable)
        table.clear(columns=True)
        for key, column_width in layout:
            table.add_column(_(HEADERS[key]), key=key, width=column_width)
        self.keys = []  # the rows are laid out again with the new cells
        if self.rows:
            self._fill(list(self.rows.values()))

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        """Read the current page again (in a thread); the table updates when it arrives."""
        if self.late_only:
            # Late is "scheduled, and its time LATE_AFTER past": the bound moves with the
            # clock, so a post turning late joins the list at the next refresh. A scheduled
            # post past its time has a delivery not yet settled (else it would be done).
            self.query_state = replace(
                self.query_state,
                state=PostState.SCHEDULED.value,
                scheduled_to=self.ctx.clock() - LATE_AFTER,
            )
        super().reload()

    def fetch(self) -> Callable[[], data.QueuePage]:
        """The page the filters, sort and offset ask for."""
        load, query = (self._late_page if self.late_only else self._page), self.query_state
        return lambda: load(query)

    def _page(self, query: data.QueueQuery) -> data.QueuePage:
        return data.load_queue(self.ctx.engine, query, visible=self.ctx.visible)

    def _late_page(self, query: data.QueueQuery) -> data.QueuePage:
        """The late posts: scheduled ones past their time (the query) with a delivery waiting.

        A scheduled post past its time whose deliveries all failed or need checking is not
        late (the "!" list shows it), and the shared filters cannot say "a delivery waits",
        so the rows are narrowed here, by the rule the row's state and the bar's count use.
        Such posts are a handful (each one is a problem), so one bounded read is enough.
        """
        found = self._page(replace(query, offset=0, limit=LATE_SCAN))
        late = [row for row in found.rows if self._is_late(row)]
        return replace(found, rows=late[query.offset : query.offset + query.limit], total=len(late))

    def show(self, result: data.QueuePage) -> None:
        """The page in the table, the attention button, the campaigns and the status line."""
        page = result
        if page.total and not page.rows and self.query_state.offset:
            # The page emptied under us (posts cancelled or filtered away): go back to page 1.
            self.query_state = replace(self.query_state, offset=0)
            self.reload()
            return
        self.total = page.total
        self._fill(page.rows)
        self._show_attention(page.attention)
        self._update_campaigns(page.campaigns)
        self._show_status()
        if not self.loaded:
            # Start-up ends with the first page on screen: what exists now lives as long as
            # the app, and full GC passes over it stalled keystrokes.
            self.call_after_refresh(freeze_startup_objects)

    def _shown_state(self, row: data.QueueRow) -> str:
        """The row's state as shown: late or needs attention once its time has passed."""
        return shown_state(
            row.state, row.scheduled_at, (d.state for d in row.deliveries), self.ctx.clock()
        )

    def _is_late(self, row: data.QueueRow) -> bool:
        return self._shown_state(row) == LATE

    def _cells(self, row: data.QueueRow) -> dict[str, TableCell]:
        """The row's cells for the columns shown, by column key."""
        return row_cells(
            row,
            self.columns_shown,
            selected=row.id in self.selected,
            state=self._shown_state(row),
            tz=self.ctx.tz,
        )

    def _fill(self, rows: list[data.QueueRow]) -> None:
        """Update changed cells in place; rebuild only when the set of rows changed.

        Rebuilding clears the table, which would lose the cursor and scroll position the
        officer is working at; a state change from the daemon must not do that.
        """
        table = self.query_one("#posts", DataTable)
        # A row's height follows its channel count (the channel cell wraps), and update_cell
        # keeps the height: a changed channel count rebuilds too.
        keys = [f"{r.id}:{len(r.deliveries)}" for r in rows]
        shown = {str(r.id): self._shown_state(r) for r in rows}
        if keys == self.keys:
            for row in rows:
                key = str(row.id)
                if self.rows.get(key) != row or self.shown_states.get(key) != shown[key]:
                    for column, value in self._cells(row).items():
                        table.update_cell(key, column, value)
            self.rows = {str(r.id): r for r in rows}
            self.shown_states = shown
            return
        current = self.current_post_id()
        scroll_y = table.scroll_y
        table.clear()
        for row in rows:
            cells = self._cells(row)
            # The channel cell breaks its own lines (between channels), so the height is known:
            # letting the table measure every cell (height=None) made each rebuild ~80 ms.
            height = cells["channels"].plain.count("\n") + 1
            table.add_row(*cells.values(), key=str(row.id), height=height)
        self.keys = keys
        self.rows = {str(r.id): r for r in rows}
        self.shown_states = shown
        if current is not None and str(current) in self.rows:
            table.move_cursor(row=table.get_row_index(str(current)), animate=False, scroll=False)
            table.scroll_y = scroll_y
        if table.row_count and table.cursor_row >= table.row_count:
            table.move_cursor(row=table.row_count - 1)

    def current_post_id(self) -> int | None:
        """The id of the post under the cursor, if any."""
        table = self.query_one("#posts", DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # cursor outside the rows while the table is being rebuilt
            return None
        return int(key.value) if key.value else None

    def _show_attention(self, count: int) -> None:
        button = self.query_one("#attention", Button)
        if count:
            button.label = "⚠ " + ngettext(
                "{n} needs attention", "{n} need attention", count
            ).format(n=count)
            button.variant = "error"
        else:
            button.label = "✓ " + _("all good")
            button.variant = "success"
        set_attention = getattr(self.app, "set_attention", None)
        if set_attention is not None:
            set_attention(count)

    def _update_campaigns(self, campaigns: list[str]) -> None:
        if campaigns == self.campaigns:
            return
        self.campaigns = campaigns
        select = self.query_one("#campaign", Select)
        value = select.value
        with self.prevent(Select.Changed):
            select.set_options([(c, c) for c in campaigns])
            if value in campaigns:
                select.value = value

    def _show_status(self) -> None:
        q = self.query_state
        status = self.query_one("#status", Static)
        if self.selected:
            status.update(
                ngettext(
                    "{n} post selected: A approve, T new time, X cancel, Space select, Esc clear",
                    "{n} posts selected: A approve, T new time, X cancel, Space select, Esc clear",
                    len(self.selected),
                ).format(n=len(self.selected))
            )
            return
        if not self.total:
            filtered = any((q.state, q.channel, q.campaign, q.text))
            status.update(
                _("No post matches these filters. Press Escape to clear them.")
                if filtered
                else _("No posts yet. Press N to write the first one.")
            )
            return
        first, last = q.offset + 1, min(q.offset + q.limit, self.total)
        legend = "  ".join(
            f"{symbol} {delivery_state(state)}"
            for state, symbol in DELIVERY_SYMBOLS.items()
            if state != "cancelled"
        )
        sort = "" if self.has_class("-narrow") and q.sort == "time" else _(SORT_LABELS[q.sort])
        status.update(
            "   ".join(
                part
                for part in (
                    _("Posts {first}–{last} of {total}").format(
                        first=number(first), last=number(last), total=number(self.total)
                    ),
                    sort,
                    legend,
                )
                if part
            )
        )

    # ------------------------------------------------------------------ filters

    def _set_query(self, **changes: Any) -> None:
        self.query_state = replace(self.query_state, offset=0, **changes)
        self.reload()

    def _search_typed(self, value: str) -> None:
        # Watched, not an Input.Changed handler: the query starts at the keystroke instead
        # of after the screen's next layout pass (about 10 ms a key).
        text = value.strip() or None
        if text != self.query_state.text:
            self._set_query(text=text)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.query_one("#posts", DataTable).focus()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        name = event.select.id
        if name == "state" and (value == LATE or self.late_only):
            # The pseudo-filter is a state and a time bound (see reload); leaving it drops both.
            self.late_only = value == LATE
            self._set_query(state=None if self.late_only else value, scheduled_to=None)
            return
        if name in ("state", "channel", "campaign"):
            if getattr(self.query_state, name) != value:
                self._set_query(**{name: value})

    @on(Button.Pressed, "#attention")
    def _attention_pressed(self) -> None:
        self.action_attention()

    @on(DataTable.RowSelected, "#posts")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self._open(int(event.row_key.value))

    # ------------------------------------------------------------------ actions

    def _open(self, post_id: int) -> None:
        from content.ui.detail import DetailScreen

        self.app.push_screen(DetailScreen(post_id))

    def action_open(self) -> None:
        """Open the post under the cursor."""
        post_id = self.current_post_id()
        if post_id is not None:
            self._open(post_id)

    def action_new_post(self) -> None:
        """Write a new post."""
        from content.ui.composer import ComposerScreen

        self.app.push_screen(ComposerScreen())

    def action_edit(self) -> None:
        """Edit the post under the cursor."""
        from content.ui.composer import ComposerScreen

        post_id = self.current_post_id()
        if post_id is not None:
            self.app.push_screen(ComposerScreen(post_id))

    def action_review(self) -> None:
        """Posts waiting for approval."""
        from content.ui.review import ReviewScreen

        self.app.push_screen(ReviewScreen())

    def action_week(self) -> None:
        """The week at a glance."""
        from content.ui.calendar import CalendarScreen

        self.app.push_screen(CalendarScreen())

    def action_channels(self) -> None:
        """The channels and their health."""
        from content.ui.channels import ChannelsScreen

        self.app.push_screen(ChannelsScreen())

    def action_engagement(self) -> None:
        """What published posts achieved."""
        from content.ui.engagement import EngagementScreen

        self.app.push_screen(EngagementScreen())

    def action_inbox(self) -> None:
        """Citizens' messages and comments."""
        from content.ui.inbox import InboxScreen

        self.app.push_screen(InboxScreen())

    def action_attention(self) -> None:
        """Show only posts with a failed delivery or one to check by hand."""
        self.query_one("#state", Select).value = data.ATTENTION
        self.query_one("#posts", DataTable).focus()

    def action_late(self) -> None:
        """Show only posts whose time has passed and that are not published yet."""
        self.query_one("#state", Select).value = LATE
        self.query_one("#posts", DataTable).focus()

    def action_search(self) -> None:
        """Jump to the search box."""
        self.query_one("#search", Input).focus()

    # ------------------------------------------------------------------ several posts

    def action_clear_filters(self) -> None:
        """Back to every post."""
        if self.selected:
            # Escape first lets go of the selection; the filters stay.
            self._clear_selection()
            return
        # One read for the whole change, not one per cleared filter.
        with self.prevent(Select.Changed):
            for name in ("state", "channel", "campaign"):
                self.query_one(f"#{name}", Select).clear()
        self.late_only = False
        self._set_query(text=None, state=None, channel=None, campaign=None, scheduled_to=None)
        self.query_one("#search", Input).value = ""
        self.query_one("#posts", DataTable).focus()

    def action_next_sort(self) -> None:
        """Cycle the order of the list."""
        keys = list(SORT_LABELS)
        current = keys.index(self.query_state.sort)
        self._set_query(sort=keys[(current + 1) % len(keys)])

    @on(DataTable.HeaderSelected, "#posts")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        # Clicking a column header sorts by it (the number column: newest first).
        sort = COLUMN_SORTS.get(str(event.column_key.value))
        if sort:
            self._set_query(sort=sort)

    def action_next_page(self) -> None:
        """The next page of posts."""
        q = self.query_state
        if q.offset + q.limit < self.total:
            self.query_state = replace(q, offset=q.offset + q.limit)
            self.reload()

    def action_previous_page(self) -> None:
        """The previous page of posts."""
        q = self.query_state
        if q.offset:
            self.query_state = replace(q, offset=max(0, q.offset - q.limit))
            self.reload()

    def action_refresh(self) -> None:
        """Read the database now."""
        self.reload()
