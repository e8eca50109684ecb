"""Several posts at once on the queue: Space chooses posts, then one key approves, moves
or cancels them all (each one the rules allow; the others are named, and stay chosen).
The queue screen (content.ui.queue_screen) is built on this.
"""

from __future__ import annotations

from textual.widgets import DataTable

from content import bulk
from content.times import parse_when
from content.ui import data
from content.ui.actions import time_check
from content.ui.base import ActionFinished, PollingScreen, report_error
from content.ui.dialogs import ConfirmDialog, PromptDialog
from content.ui.fmt import NOW_WORDS, time_placeholder
from content.ui.i18n import N_, _, ngettext
from content.ui.messages import error_in_words, in_words
from content.ui.table_cell import TableCell


def _id_list(ids: list[int]) -> str:
    """``3, 4, 9`` (the first twenty, then how many more)."""
    shown = ", ".join(str(i) for i in ids[:20])
    return shown + (f" (+{len(ids) - 20})" if len(ids) > 20 else "")


class QueueSelection(PollingScreen[data.QueuePage]):
    """The several-posts half of the queue screen (see content.ui.queue_screen)."""

    #: Actions that need a selection, and the keys the footer gives way for meanwhile.
    BULK_ACTIONS = ("approve_selected", "reschedule_selected", "cancel_selected")
    BULK_HIDES = ("edit", "week", "channels", "engagement", "inbox")

    #: Posts chosen with Space for a change to several at once, in the order chosen.
    selected: dict[int, None]
    #: The rows shown, by post id, and the keys they were laid out for.
    rows: dict[str, data.QueueRow]
    keys: list[str]

    def _cells(self, row: data.QueueRow) -> dict[str, TableCell]:
        """The row's cells (the queue's)."""
        raise NotImplementedError

    def current_post_id(self) -> int | None:
        """The post under the cursor (the queue's)."""
        raise NotImplementedError

    def _show_status(self) -> None:
        """The status line (the queue's)."""
        raise NotImplementedError

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

        check = time_check(
            lambda value: parse_when(value, tz, now=self.ctx.clock()), NOW_WORDS | next_words
        )

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
