"""The home screen: every post, filtered, sorted and paged, kept fresh from the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Footer, Header, Input, Select, Static

from content import bulk
from content.errors import ValidationError
from content.health import LATE_AFTER
from content.heap import freeze_startup_objects
from content.models import PostState
from content.times import parse_when
from content.ui import data
from content.ui.base import ActionFinished, PollingScreen, report_error
from content.ui.dialogs import ConfirmDialog, PromptDialog
from content.ui.fmt import (
    DELIVERY_STYLES,
    DELIVERY_SYMBOLS,
    LATE,
    NOW_WORDS,
    POST_STATE_STYLES,
    delivery_state,
    first_line,
    number,
    post_state,
    shown_state,
    time_placeholder,
    when,
)
from content.ui.i18n import N_, _, ngettext
from content.ui.messages import error_in_words, in_words
from content.ui.table_cell import CellTable, TableCell

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


#: Scheduled posts past their time read for the "late" filter at most (late or stuck posts:
#: a handful in a working office; a thousand means the daemon has been down for days).
LATE_SCAN = 1000


def _id_list(ids: list[int]) -> str:
    """``3, 4, 9`` (the first twenty, then how many more)."""
    shown = ", ".join(str(i) for i in ids[:20])
    return shown + (f" (+{len(ids) - 20})" if len(ids) > 20 else "")


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


class QueueScreen(PollingScreen[data.QueuePage]):
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

    #: Actions that need a selection, and the keys the footer gives way for meanwhile.
    BULK_ACTIONS = ("approve_selected", "reschedule_selected", "cancel_selected")
    BULK_HIDES = ("edit", "week", "channels", "engagement", "inbox")

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
        # Cut with an ellipsis, never wrapped: only the channel cell has several lines, and
        # it breaks them itself (between channels).
        widths = dict(self.columns_shown)
        channels = widths.get("channels", 0)
        cells: dict[str, TableCell] = {}
        for key, width in self.columns_shown:
            if key == "id":
                # A selected post is marked where the eye starts reading the row.
                mark = "● " if row.id in self.selected else ""
                cells[key] = TableCell(Text(f"{mark}{row.id}", "bold" if mark else ""), right=True)
            elif key == "time":
                cells[key] = TableCell(when(row.scheduled_at, self.ctx.tz))
            elif key == "state":
                state = self._shown_state(row)
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.BULK_ACTIONS:
            return bool(self.selected)
        if action in self.BULK_HIDES and self.selected:
            # While posts are selected the footer shows the selection's keys instead; Esc
            # lets go of the selection and brings these back.
            return False
        return True

    def action_toggle_select(self) -> None:
        """Choose the post under the cursor for a change to several (or leave it out)."""
        post_id = self.current_post_id()
        if post_id is None:
            return
        if post_id in self.selected:
            del self.selected[post_id]
        else:
            self.selected[post_id] = None
        row = self.rows.get(str(post_id))
        if row is not None:
            cell = self._cells(row)["id"]
            self.query_one("#posts", DataTable).update_cell(str(post_id), "id", cell)
        table = self.query_one("#posts", DataTable)
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        self._selection_changed()

    def _selection_changed(self) -> None:
        self._show_status()
        self.refresh_bindings()

    def _clear_selection(self) -> None:
        table = self.query_one("#posts", DataTable)
        chosen, self.selected = list(self.selected), {}
        for post_id in chosen:
            row = self.rows.get(str(post_id))
            if row is not None:
                table.update_cell(str(post_id), "id", self._cells(row)["id"])
        self._selection_changed()

    def action_approve_selected(self) -> None:
        """Approve every selected post (each one that the rules allow)."""
        ids = list(self.selected)

        def confirmed(yes: bool | None) -> None:
            if yes:
                queue = self.ctx.queue()
                self.run_change("bulk_approve", lambda: bulk.apply_each(ids, queue.approve))

        self.app.push_screen(
            ConfirmDialog(
                ngettext("Approve {n} post?", "Approve {n} posts?", len(ids)).format(n=len(ids)),
                _("Posts: {ids}. Each is published at its time.").format(ids=_id_list(ids)),
                _("Yes, approve"),
            ),
            confirmed,
        )

    def action_cancel_selected(self) -> None:
        """Cancel every selected post, with one optional reason kept in each history."""
        ids = list(self.selected)

        def answer(reason: str | None) -> None:
            if reason is None:
                return
            queue = self.ctx.queue()
            why = reason.strip() or None
            self.run_change(
                "bulk_cancel", lambda: bulk.apply_each(ids, lambda i: queue.cancel(i, why))
            )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(
                    PromptDialog(
                        ngettext("Cancel {n} post", "Cancel {n} posts", len(ids)).format(
                            n=len(ids)
                        ),
                        _("Reason (optional, kept in the history):"),
                        ok_label=_("Cancel the posts"),
                    ),
                    answer,
                )

        self.app.push_screen(
            ConfirmDialog(
                ngettext("Cancel {n} post?", "Cancel {n} posts?", len(ids)).format(n=len(ids)),
                _(
                    "Posts: {ids}. Channels that have not published them yet will not. What "
                    "is already published stays online. This cannot be undone."
                ).format(ids=_id_list(ids)),
                _("Yes, cancel them"),
            ),
            confirmed,
        )

    def action_reschedule_selected(self) -> None:
        """Move every selected post: to one time, or each to the next free posting slot."""
        ids = list(self.selected)
        tz = self.ctx.tz
        next_words = {"next", "tiếp", "tiep", "kế tiếp"}

        def check(value: str) -> str | None:
            if value.strip().lower() in NOW_WORDS | next_words:
                return None
            try:
                parse_when(value, tz, now=self.ctx.clock())
            except ValidationError as exc:
                return error_in_words(exc)
            return None

        def answer(value: str | None) -> None:
            if value is None:
                return
            word = value.strip().lower()
            now = self.ctx.clock()
            at = (
                None
                if word in next_words
                else now
                if word in NOW_WORDS
                else parse_when(value, tz, now=now)
            )
            queue = self.ctx.queue()
            move = bulk.mover(queue, self.ctx.engine, self.ctx.directory, at)
            self.run_change("bulk_schedule", lambda: bulk.apply_each(ids, move))

        self.app.push_screen(
            PromptDialog(
                ngettext("New time for {n} post", "New time for {n} posts", len(ids)).format(
                    n=len(ids)
                ),
                _(
                    'Office time ({zone}), {format}; "next": each post to the next free '
                    'posting slot; or "now":'
                ).format(zone=tz.key, format=time_placeholder()),
                ok_label=_("Reschedule"),
                value="next" if self.ctx.directory.office.posting_slots else "",
                placeholder=time_placeholder(),
                check=check,
            ),
            answer,
        )

    def on_action_finished(self, message: ActionFinished) -> None:
        if message.error is not None:
            report_error(self, message.error)
            return
        result: bulk.BulkOutcome = message.result
        done = len(result.done)
        if done:
            text = {
                "bulk_approve": N_("{n} approved: {ids}."),
                "bulk_cancel": N_("{n} cancelled: {ids}."),
                "bulk_schedule": N_("{n} moved: {ids}."),
            }[message.what]
            ids = [p.id for p in result.posts if p.id is not None]
            self.notify(_(text).format(n=done, ids=_id_list(ids)), title=_("Done"))
        for warning in result.warnings:
            self.notify(
                in_words(warning), title=_("Worth a second look"), severity="warning", timeout=15
            )
        for post_id, error in result.refused:
            reason = error_in_words(error)
            params = getattr(error, "params", {}) or {}
            if post_id not in (params.get("id"), params.get("post")):
                # Most refusals name their post; the others are told which one.
                reason = _("Post {id}: {reason}").format(id=post_id, reason=reason)
            self.notify(
                reason,
                title=_("Not done"),
                severity="error",
                timeout=15,
            )
        # Refused posts stay selected, so the officer can look at them and try again.
        refused = {post_id for post_id, _error in result.refused}
        for post_id in [i for i in self.selected if i not in refused]:
            del self.selected[post_id]
        self.keys = []  # redraw the marks
        self._selection_changed()
        self.reload()

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
