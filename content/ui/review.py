"""Posts waiting for approval: read one, then approve it or send it back with a comment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static

from content.models import PostState
from content.ui import actions, data
from content.ui.base import ActionFinished, PollingScreen, report_error
from content.ui.fmt import first_line, when, when_long
from content.ui.i18n import N_, _
from content.ui.queue_columns import channels_cell


class ReviewScreen(PollingScreen[data.QueuePage]):
    """The review queue of the office."""

    HELP_TEXT = N_(
        "Posts that their authors submitted for review. Move through the list to read each "
        "one on the right. Approve it (it is then published at its time) or send it back "
        "with a comment saying what should change. Where the office requires a second "
        "approver, nobody can approve their own post."
    )

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("a", "approve", "Approve"),
        Binding("b", "send_back", "Send back"),
        Binding("enter", "open", "Open", show=False),
        Binding("o", "open", "Details"),
        Binding("r,f5", "refresh", "Refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, data.QueueRow] = {}
        self.title = _("Review")

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="review-body"):
            table: DataTable[Any] = DataTable(id="review-list", cursor_type="row")
            table.add_column(_("No."), key="id", width=5)
            table.add_column(_("Time"), key="time", width=16)
            table.add_column(_("Author"), key="author", width=10)
            table.add_column(_("Text"), key="text", width=22)
            yield table
            with VerticalScroll(id="review-preview"):
                yield Static(_("Nothing waits for review."), id="review-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#review-list", DataTable).focus()

    def fetch(self) -> Callable[[], data.QueuePage]:
        """The posts in review."""
        query = data.QueueQuery(state=PostState.IN_REVIEW)
        engine, visible = self.ctx.engine, self.ctx.visible
        return lambda: data.load_queue(engine, query, visible=visible)

    def show(self, result: data.QueuePage) -> None:
        """The list (kept with its cursor when the same posts wait) and the preview."""
        table = self.query_one("#review-list", DataTable)
        rows = result.rows
        keys = [str(r.id) for r in rows]
        if keys != list(self.rows):
            current = self.current_post_id()
            table.clear()
            tz = self.ctx.tz
            for row in rows:
                table.add_row(
                    Text(str(row.id), justify="right"),
                    when(row.scheduled_at, tz),
                    row.author,
                    first_line(row.title or row.text, 22),
                    key=str(row.id),
                )
            if current is not None and str(current) in keys:
                table.move_cursor(row=keys.index(str(current)), animate=False)
        self.rows = {str(r.id): r for r in rows}
        self._preview()

    def current_post_id(self) -> int | None:
        """The post under the cursor."""
        table = self.query_one("#review-list", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return int(key.value) if key.value else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._preview()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def _preview(self) -> None:
        target = self.query_one("#review-text", Static)
        post_id = self.current_post_id()
        row = self.rows.get(str(post_id)) if post_id is not None else None
        if row is None:
            target.update(_("Nothing waits for review."))
            return
        text = Text()
        text.append(_("Post {id}").format(id=row.id) + "\n", "bold")
        text.append(_("Author") + f": {row.author}\n")
        text.append(_("Time") + f": {when_long(row.scheduled_at, self.ctx.tz)}\n")
        text.append(_("Channels") + ": ")
        text.append(channels_cell(row))
        text.append("\n")
        if row.campaign:
            text.append(_("Campaign") + f": {row.campaign}\n")
        text.append("\n")
        if row.title:
            text.append(row.title + "\n\n", "bold")
        text.append(row.text)
        target.update(text)

    def action_back(self) -> None:
        """Back to the queue."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read again now."""
        self.reload()

    def action_open(self) -> None:
        """All details of the post under the cursor."""
        from content.ui.detail import DetailScreen

        post_id = self.current_post_id()
        if post_id is not None:
            self.app.push_screen(DetailScreen(post_id))

    def action_approve(self) -> None:
        """Approve the post under the cursor."""
        post_id = self.current_post_id()
        if post_id is not None:
            actions.approve(self, post_id)

    def action_send_back(self) -> None:
        """Send the post under the cursor back to its author, with a comment."""
        post_id = self.current_post_id()
        if post_id is not None:
            actions.send_back(self, post_id)

    def on_action_finished(self, message: ActionFinished) -> None:
        if message.error is not None:
            report_error(self, message.error)
        else:
            actions.report_done(self, message.what, message.result)
        self.reload()
