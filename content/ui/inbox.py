"""The citizens' inbox: threads with their two clocks, one thread's messages, and answering.
The list is here, one thread (its messages, answering it) in content.ui.inbox_thread.

Everything here goes through :class:`content.inbox.Inbox`, the rules the CLI's ``loa inbox``
uses: who sees which thread (an officer his units' channels once accounts exist), every
change and its audit row. The list shows no personal data; opening a thread reads the
citizen's words and is audited by the library (who read which tip), so the thread view is
read when it opens and after a change, never on a timer. A reply goes out through the
channel's client by the CLI's own path (:class:`~content.ui.context.InboxWiring`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Select, Static

from content.inbox import (
    TAGS,
    InboxSettings,
    ThreadFilter,
    ThreadSummary,
    units_holding,
)
from content.models import ThreadState
from content.ui.base import ActionFinished, LoaScreen, PollingScreen, report_error
from content.ui.context import LoaContext
from content.ui.dialogs import ConfirmDialog
from content.ui.fmt import when
from content.ui.i18n import N_, _, ngettext
from content.ui.inbox_dialogs import AssignDialog, TagDialog
from content.ui.inbox_fmt import (
    STATE_STYLES,
    kind_short,
    tag_label,
    tags_text,
    target_clock,
    thread_state,
    window_clock,
)

#: Pseudo states of the state filter: a citizen waits for an answer; past the target.
WAITING, OVERDUE = "waiting", "overdue"

#: Column keys and their English headers (translated when the table is built).
HEADERS = {
    "id": N_("No."),
    "channel": N_("Channel"),
    "kind": N_("Type"),
    "state": N_("State"),
    "target": N_("Target"),
    "window": N_("Window"),
    "tags": N_("Tags"),
    "messages": N_("In/out"),
    "last": N_("Last message"),
    "owner": N_("Assigned to"),
}
#: The last message's time, the counts and the owner get columns from this table width on
#: (with a channel id of 12 characters and the tags' minimum beside them).
WIDE_FROM = 130
PADDING = 2
MIN_TAGS = 8


def thread_columns(width: int, channel: int) -> tuple[tuple[str, int], ...]:
    """The columns that fit a table ``width`` cells wide; the tags take what is left.

    ``channel`` is the longest channel id shown; at 80 columns it gives way before the
    tags go below :data:`MIN_TAGS` (the id is cut with an ellipsis, never the clocks).
    """
    wide = width >= WIDE_FROM
    fixed = [("kind", 9), ("state", 10), ("target", 10), ("window", 11)]
    if wide:
        fixed += [("last", 16), ("messages", 8), ("owner", 18)]
    # Every column has its padding; the tags' minimum is kept for them.
    used = sum(w + PADDING for _key, w in [("id", 4), *fixed]) + MIN_TAGS + 2 * PADDING
    columns = [("id", 4), ("channel", max(5, min(channel, 20, width - used))), *fixed]
    used = sum(w + PADDING for _key, w in columns)
    columns.append(("tags", max(MIN_TAGS, width - used - PADDING)))
    return tuple(columns)


class InboxBase(LoaScreen):
    """Assign, tag and close: the same on the list (the thread under the cursor) and in the
    thread view; each screen says what changed in :meth:`thread_done`."""

    CSS_PATH = "inbox.tcss"

    def thread_done(self, what: str, summary: ThreadSummary | None) -> None:
        """A dialog or a confirmed step changed a thread (None: nothing was changed): say
        what was done and read again."""
        if summary is not None:
            self.notify(_done_text(what, summary), title=_("Done"))
            self.reload()

    def reload(self) -> None:
        """Read what the screen shows again."""

    def assign_thread(self, summary: ThreadSummary) -> None:
        """Ask to whom, then give ``summary``'s thread to that officer and/or unit."""
        ctx = self.ctx
        units = units_holding(ctx.directory, summary.channel)

        def assign(officer: str | None, unit: str | None) -> ThreadSummary:
            return ctx.inbox().assign(summary.id, officer=officer, unit=unit)

        self.app.push_screen(
            AssignDialog(summary, units, ctx.actor, assign),
            lambda done: self.thread_done("assign", done),
        )

    def tag_thread(self, summary: ThreadSummary) -> None:
        """Tick the tags of ``summary``'s thread."""
        ctx = self.ctx

        def tag(add: list[str], remove: list[str]) -> ThreadSummary:
            return ctx.inbox().tag(summary.id, add=add, remove=remove)

        self.app.push_screen(TagDialog(summary, tag), lambda done: self.thread_done("tag", done))

    def close_thread(self, summary: ThreadSummary) -> None:
        """Close ``summary``'s thread, after saying it opens again when the citizen writes."""
        ctx = self.ctx

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_change("close", lambda: ctx.inbox().close(summary.id))

        self.app.push_screen(
            ConfirmDialog(
                _("Close thread {id}?").format(id=summary.id),
                _(
                    "Nobody needs to answer it any more. It opens again by itself when the "
                    "citizen writes again."
                ),
                _("Yes, close it"),
            ),
            confirmed,
        )


class InboxScreen(PollingScreen[list[ThreadSummary]], InboxBase):
    """Every thread the officer may see, those waiting longest first."""

    HELP_TEXT = N_(
        "Messages and comments from citizens on the office's Zalo OAs and Facebook Pages, "
        "one line per citizen and channel, those waiting longest for an answer first. Two "
        "clocks run on each: Target is the time left to answer within the office's own "
        "promise (red and 'late' once it has passed); Window is the time the platform still "
        "lets the Page or OA write to the citizen (Zalo: 7 days after his last interaction; "
        "Messenger: 24 hours after his last message; a comment: one private reply within 7 "
        "days, a public one at any time). Press Enter to read a thread (each opening is "
        "recorded), R to answer it, A to assign it to an officer or unit, T to tag it and C "
        "to close it. Choose a state, tag or channel above to narrow the list."
    )

    BINDINGS = [
        Binding("enter", "open", "Open", show=False),
        Binding("r", "reply", "Reply"),
        Binding("a", "assign", "Assign"),
        Binding("t", "tag", "Tags"),
        Binding("c", "close_thread", "Close"),
        Binding("escape", "back", "Back"),
        Binding("f5", "refresh", "Refresh", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.wanted = ThreadFilter()
        self.threads: dict[str, ThreadSummary] = {}
        self.columns_shown: tuple[tuple[str, int], ...] = ()
        self.title = _("Inbox")

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="inbox-filters"):
            yield Select(
                [(_("Waiting for an answer"), WAITING), (_("Past the target"), OVERDUE)]
                + [(thread_state(s.value), s.value) for s in ThreadState],
                prompt=_("State"),
                id="inbox-state",
            )
            yield Select([(tag_label(t), t) for t in TAGS], prompt=_("Tag"), id="inbox-tag")
            yield Select(
                [(c, c) for c in self.ctx.channel_ids()], prompt=_("Channel"), id="inbox-channel"
            )
        yield DataTable(id="threads", cursor_type="row", zebra_stripes=True)
        yield Static("", id="inbox-status")
        yield Footer()

    def on_mount(self) -> None:
        self._lay_out(self.app.size.width)
        self.query_one("#threads", DataTable).focus()

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out(event.size.width)

    def _lay_out(self, width: int) -> None:
        channel = max([len(c) for c in self.ctx.channel_ids()] + [5])
        layout = thread_columns(width - 2, channel)  # the table's scrollbar takes two
        if layout == self.columns_shown:
            return
        self.columns_shown = layout
        table = self.query_one("#threads", DataTable)
        table.clear(columns=True)
        for key, column_width in layout:
            table.add_column(_(HEADERS[key]), key=key, width=column_width)
        if self.threads:
            self._fill(list(self.threads.values()))

    # ------------------------------------------------------------------ loading

    def fetch(self) -> Callable[[], list[ThreadSummary]]:
        """The threads the filters ask for."""
        inbox, wanted = self.ctx.inbox, self.wanted
        return lambda: inbox().threads(wanted)

    def show(self, result: list[ThreadSummary]) -> None:
        """The threads, in the table."""
        self._fill(result)

    def _fill(self, threads: list[ThreadSummary]) -> None:
        table = self.query_one("#threads", DataTable)
        current = self.current()
        table.clear()
        now = self.ctx.clock()
        target = response_target(self.ctx)
        widths = dict(self.columns_shown)
        for t in threads:
            cells: list[Text] = []
            for key, width in self.columns_shown:
                if key == "id":
                    cells.append(Text(str(t.id), justify="right"))
                elif key == "channel":
                    cells.append(Text(t.channel, no_wrap=True, overflow="ellipsis"))
                elif key == "kind":
                    cells.append(Text(kind_short(t.kind)))
                elif key == "state":
                    cells.append(Text(thread_state(t.state), STATE_STYLES.get(t.state, "")))
                elif key == "target":
                    cells.append(target_clock(t, now, target))
                elif key == "window":
                    cells.append(window_clock(t, now))
                elif key == "tags":
                    # A minor is the first thing a triage glance needs
                    # (docs/personal-data.md#minors).
                    shown = tags_text(t.tags)
                    if t.minor:
                        shown = "<18" + ("" if shown == "-" else ", " + shown)
                    cells.append(_cut(shown, width))
                elif key == "last":
                    cells.append(Text(when(t.last_inbound_at, self.ctx.tz)))
                elif key == "messages":
                    cells.append(Text(f"↓{t.messages_in} ↑{t.messages_out}"))
                elif key == "owner":
                    owner = " · ".join(p for p in (t.assignee, t.unit) if p) or "-"
                    cells.append(_cut(owner, widths["owner"]))
            table.add_row(*cells, key=str(t.id))
        self.threads = {str(t.id): t for t in threads}
        if current is not None and str(current.id) in self.threads:
            table.move_cursor(row=list(self.threads).index(str(current.id)), animate=False)
        self._show_status(threads)

    def _show_status(self, threads: list[ThreadSummary]) -> None:
        status = self.query_one("#inbox-status", Static)
        if not threads:
            filtered = self.wanted != ThreadFilter()
            status.update(
                _("No thread matches these filters.")
                if filtered
                else _("No message from citizens yet.")
            )
            return
        now = self.ctx.clock()
        waiting = sum(1 for t in threads if t.waiting_since is not None)
        late = sum(1 for t in threads if t.overdue(now))
        parts = [
            ngettext("{n} thread", "{n} threads", len(threads)).format(n=len(threads)),
            ngettext("{n} waits for an answer", "{n} wait for an answer", waiting).format(
                n=waiting
            ),
        ]
        if late:
            parts.append(ngettext("{n} late", "{n} late", late).format(n=late))
        parts.append(_("Enter: read"))
        status.update(" · ".join(parts))

    def current(self) -> ThreadSummary | None:
        """The thread under the cursor."""
        table = self.query_one("#threads", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.threads.get(str(key.value))

    # ------------------------------------------------------------------ filters

    @on(Select.Changed)
    def _filter_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else str(event.value)
        name = event.select.id
        if name == "inbox-state":
            states = () if value in (None, WAITING, OVERDUE) else (str(value),)
            self.wanted = ThreadFilter(
                states=states,
                tag=self.wanted.tag,
                channels=self.wanted.channels,
                waiting=value == WAITING,
                overdue=value == OVERDUE,
            )
        elif name == "inbox-tag":
            self.wanted = replace(self.wanted, tag=value)
        elif name == "inbox-channel":
            self.wanted = replace(self.wanted, channels=(value,) if value else ())
        else:
            return
        self.reload()

    # ------------------------------------------------------------------ actions

    @on(DataTable.RowSelected, "#threads")
    def _row_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        """Read the thread under the cursor (the reading is recorded)."""
        summary = self.current()
        if summary is not None:
            from content.ui.inbox_thread import ThreadScreen

            self.app.push_screen(ThreadScreen(summary.id))

    def action_reply(self) -> None:
        """Open the thread under the cursor and answer it."""
        summary = self.current()
        if summary is not None:
            from content.ui.inbox_thread import ThreadScreen

            self.app.push_screen(ThreadScreen(summary.id, reply=True))

    def action_assign(self) -> None:
        """Give the thread under the cursor to an officer or unit."""
        summary = self.current()
        if summary is not None:
            self.assign_thread(summary)

    def action_tag(self) -> None:
        """Tag the thread under the cursor."""
        summary = self.current()
        if summary is not None:
            self.tag_thread(summary)

    def action_close_thread(self) -> None:
        """Close the thread under the cursor."""
        summary = self.current()
        if summary is not None:
            self.close_thread(summary)

    def on_action_finished(self, message: ActionFinished) -> None:
        if message.error is not None:
            report_error(self, message.error)
            self.reload()  # someone else may have changed it meanwhile
            return
        self.thread_done(message.what, message.result)

    def action_back(self) -> None:
        """Back to the queue."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read again now."""
        self.reload()


def _done_text(what: str, summary: ThreadSummary) -> str:
    words = {
        "reply": N_("Thread {id}: the answer was sent."),
        "assign": N_("Thread {id} is assigned: {owner}."),
        "tag": N_("Thread {id}: tags saved ({tags})."),
        "close": N_("Thread {id} is closed."),
    }
    owner = " · ".join(p for p in (summary.assignee, summary.unit) if p) or "-"
    return _(words[what]).format(id=summary.id, owner=owner, tags=tags_text(summary.tags))


def _cut(text: str, width: int) -> Text:
    return Text(text, no_wrap=True, overflow="ellipsis") if width else Text(text)


def response_target(ctx: LoaContext) -> timedelta:
    """The office's response target (the first clock)."""
    wiring = ctx.inbox_wiring
    return (wiring.settings if wiring else InboxSettings()).response_target
