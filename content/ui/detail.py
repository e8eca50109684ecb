"""One post: its content, each channel's delivery (state, attempts, next try, the platform's
error in plain words, permalink) and its history; cancel, reschedule, edit, review from here.

The delivery under the cursor can be settled by hand: a failed one sent again now, one
that must be checked (the daemon could not tell whether it was published) marked published
or sent again. These only change the delivery's row through the queue rules; the daemon's
dispatcher still does the sending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Label, Static

from content.labels import audit_action
from content.messages import Notice, os_reason
from content.models import AuditEvent, Delivery, DeliveryState, Post, PostState
from content.queue import EDITABLE_STATES, LIVE_STATES
from content.ui import actions, data
from content.ui.base import ActionFinished, PollingScreen, report_error
from content.ui.dialogs import ConfirmDialog, PromptDialog
from content.ui.fmt import (
    DELIVERY_STYLES,
    DELIVERY_SYMBOLS,
    POST_STATE_STYLES,
    delivery_state,
    error_in_words,
    post_state,
    when,
)
from content.ui.i18n import N_, _
from content.ui.messages import in_words
from content.ui.preview import ImagePreview, Thumbnail, make_thumbnail, open_full_image

#: What to tell the officer after a delivery was settled by hand.
DELIVERY_DONE_TEXT = {
    "retry": N_("{channel} will be sent again now."),
    "mark_published": N_("{channel} is marked published."),
    "mark_not_published": N_("{channel} will be sent again now."),
}


_ATTENTION = (DeliveryState.FAILED, DeliveryState.NEEDS_REVIEW)


@dataclass(frozen=True)
class PostFound:
    """The post, its deliveries and its history, as read together."""

    post: Post
    deliveries: list[Delivery]
    audit: list[AuditEvent]


class ThumbnailReady(Message):
    """The post's first image has been read and drawn small."""

    def __init__(self, media_id: int, thumbnail: Thumbnail | None) -> None:
        super().__init__()
        self.media_id = media_id
        self.thumbnail = thumbnail


class ImageWritten(Message):
    """The full image was written to a file the officer can open."""

    def __init__(self, path: str | None, error: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.error = error


class DetailScreen(PollingScreen[PostFound]):
    """Everything about one post, refreshed every few seconds while it is shown."""

    HELP_TEXT = N_(
        "One post and what happened to it. The table on the right shows each channel: "
        "its state, how many attempts were made, when the next try is, and what the "
        "platform answered. Below it is the history: who did what, and when. Move to a "
        "channel with the arrow keys: a failed one can be retried now (Y) once its cause is "
        "fixed; one that Loa could not confirm must be checked on the Page or OA, then marked "
        "published (P, with the post's address if you have it) or not published (U: it is "
        "sent again). I writes the post's image to a file you can open."
    )

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("e", "edit", "Edit"),
        Binding("s", "submit", "Submit"),
        Binding("a", "approve", "Approve"),
        Binding("b", "send_back", "Send back"),
        Binding("t", "reschedule", "Reschedule"),
        Binding("c", "cancel", "Cancel post"),
        # The delivery under the cursor (shown only when its state allows it).
        Binding("y", "retry_delivery", "Retry now"),
        Binding("p", "mark_published", "Mark published"),
        Binding("u", "mark_not_published", "Not published: send again"),
        Binding("i", "open_image", "Open full image"),
        Binding("r,f5", "refresh", "Refresh"),
    ]

    def __init__(self, post_id: int) -> None:
        super().__init__()
        self.post_id = post_id
        self.post: Post | None = None
        self.deliveries: list[Delivery] = []
        #: The image shown in the preview (read once: images never change after saving).
        self.preview_media_id: int | None = None
        #: The cursor starts on the first delivery needing a person, once.
        self._cursor_placed = False
        self.title = _("Post {id}").format(id=post_id)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="detail-top"):
            with VerticalScroll(id="detail-post"):
                yield Static(_("Loading…"), id="detail-summary")
                yield Label(_("Text"), classes="section-title")
                yield Static("", id="detail-text")
                yield ImagePreview(id="detail-preview")
            with Vertical(id="detail-side"):
                yield Label(_("Channels"), classes="section-title")
                deliveries: DataTable[Any] = DataTable(id="detail-deliveries", cursor_type="row")
                deliveries.add_column(_("Channel"), key="channel")
                deliveries.add_column(_("State"), key="state")
                deliveries.add_column(_("Attempts"), key="attempts")
                deliveries.add_column(_("Next try"), key="next")
                deliveries.add_column(_("Published"), key="published")
                yield deliveries
                yield Static("", id="detail-errors")
                yield Label(_("History"), classes="section-title")
                audit: DataTable[Any] = DataTable(id="detail-audit", cursor_type="row")
                audit.add_column(_("Time"), key="at")
                audit.add_column(_("Who"), key="actor")
                audit.add_column(_("What"), key="action")
                audit.add_column(_("Note"), key="detail")
                yield audit
        yield Footer()

    def on_mount(self) -> None:
        # The delivery keys act on this table's cursor: arrows pick the channel.
        self.query_one("#detail-deliveries", DataTable).focus()

    def fetch(self) -> Callable[[], PostFound]:
        """The post, its deliveries and its history."""
        queue, post_id = self.ctx.queue(), self.post_id
        return lambda: PostFound(*queue.get(post_id), queue.audit_trail(post_id))

    def show(self, result: PostFound) -> None:
        """The summary, text and image, the deliveries and the history."""
        post = result.post
        tz = self.ctx.tz
        changed = (
            self.post is None
            or self.post.state != post.state
            or [d.state for d in self.deliveries] != [d.state for d in result.deliveries]
        )
        self.post = post
        self.deliveries = result.deliveries
        summary = Text()
        rows = [
            (_("State"), Text(post_state(post.state), POST_STATE_STYLES.get(post.state, ""))),
            (_("Time"), Text(when(post.scheduled_at, tz))),
            (_("Author"), Text(post.author)),
            (_("Approved by"), Text(post.approved_by or "-")),
            (_("Campaign"), Text(post.campaign or "-")),
            (_("Tags"), Text(", ".join(post.tags) or "-")),
            (_("Link"), Text(post.link or "-")),
            (_("Images"), Text(str(len(post.image_ids)))),
        ]
        if post.review_comment:
            rows.append((_("Reviewer's comment"), Text(post.review_comment, "bold yellow")))
        width = max(len(label) for label, _value in rows) + 2
        for label, value in rows:
            summary.append(f"{label}:".ljust(width), "bold")
            summary.append(value)
            summary.append("\n")
        if post.title:
            summary.append("\n")
            summary.append(post.title, "bold")
        self.query_one("#detail-summary", Static).update(summary)
        self.query_one("#detail-text", Static).update(Text(post.text))
        self._fill_deliveries(result.deliveries)
        self._fill_audit(result.audit)
        first_image = post.image_ids[0] if post.image_ids else None
        if first_image is not None and first_image != self.preview_media_id:
            self.preview_media_id = first_image
            self._load_thumbnail(first_image, len(post.image_ids))
        if changed:
            self.refresh_bindings()

    def _fill_deliveries(self, deliveries: list[Delivery]) -> None:
        tz = self.ctx.tz
        table = self.query_one("#detail-deliveries", DataTable)
        cursor = table.cursor_row
        table.clear()
        notes = Text()
        for d in deliveries:
            style = DELIVERY_STYLES.get(d.state, "")
            table.add_row(
                d.channel,
                Text(f"{DELIVERY_SYMBOLS.get(d.state, '?')} {delivery_state(d.state)}", style),
                str(d.attempts),
                when(d.next_attempt_at, tz) if d.state == "pending" else "-",
                when(d.published_at, tz) if d.published_at else "-",
                key=d.channel,
            )
            problem = error_in_words(d.last_error_class, d.last_error_code, d.last_error_message)
            if problem:
                notes.append(f"{d.channel}: ", "bold")
                notes.append(problem + "\n", style or "")
            if d.permalink:
                notes.append(f"{d.channel}: ", "bold")
                notes.append(d.permalink + "\n", f"link {d.permalink}")
        if not self._cursor_placed and deliveries:
            # Opened from "needs attention": land on the delivery that needs it.
            self._cursor_placed = True
            cursor = next(
                (i for i, d in enumerate(deliveries) if d.state in _ATTENTION),
                cursor,
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        self.query_one("#detail-errors", Static).update(notes)

    def _fill_audit(self, events: list[AuditEvent]) -> None:
        tz = self.ctx.tz
        table = self.query_one("#detail-audit", DataTable)
        if table.row_count == len(events):
            return  # the history only grows: same length, nothing new
        table.clear()
        for event in events:
            table.add_row(
                when(event.at, tz),
                event.actor,
                audit_action(event.action),
                event.detail or "",
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="image")
    def _load_thumbnail(self, media_id: int, count: int) -> None:
        stored = self.read(lambda: data.stored_image(self.ctx.engine, media_id))
        if stored is None:
            return
        note = _("1 of {n} images").format(n=count) if count > 1 else ""
        self.post_message(
            ThumbnailReady(media_id, make_thumbnail(stored.filename, stored.data, note))
        )

    def on_thumbnail_ready(self, message: ThumbnailReady) -> None:
        if message.media_id == self.preview_media_id:
            self.query_one("#detail-preview", ImagePreview).show(message.thumbnail)
            self.refresh_bindings()

    def action_open_image(self) -> None:
        """Write the full image to a file, say where, and open it when there is a display."""
        thumbnail = self.query_one("#detail-preview", ImagePreview).thumbnail
        if thumbnail is not None:
            self._write_image(thumbnail.name, thumbnail.data)

    @work(thread=True, exit_on_error=False, group="image-file")
    def _write_image(self, name: str, blob: bytes) -> None:
        try:
            path = open_full_image(name, blob)
        except OSError as exc:
            # Said by errno in the user's language, not the C library's English.
            said = Notice("file_unwritable", path=name, reason=os_reason(exc))
            self.post_message(ImageWritten(None, in_words(said)))
            return
        self.post_message(ImageWritten(path))

    def on_image_written(self, message: ImageWritten) -> None:
        if message.path is None:
            self.notify(str(message.error), title=_("Not done"), severity="error")
        else:
            self.notify(_("The full image is in {path}").format(path=message.path), timeout=20)

    @on(DataTable.RowHighlighted, "#detail-deliveries")
    def _delivery_highlighted(self) -> None:
        # The delivery keys depend on the state of the delivery under the cursor.
        self.refresh_bindings()

    def selected_delivery(self) -> Delivery | None:
        """The delivery under the cursor of the channels table."""
        table = self.query_one("#detail-deliveries", DataTable)
        if not self.deliveries or table.row_count == 0:
            return None
        row = min(max(table.cursor_row, 0), len(self.deliveries) - 1)
        return self.deliveries[row]

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer only what the post's state allows (others are hidden from the Footer)."""
        if self.post is None:
            return action in ("back", "refresh")
        state = self.post.state
        pending_only = all(d.state == "pending" for d in self.deliveries)
        allowed = {
            "edit": state in EDITABLE_STATES and pending_only,
            "submit": state == PostState.DRAFT,
            "approve": state == PostState.IN_REVIEW,
            "send_back": state == PostState.IN_REVIEW,
            "reschedule": state in LIVE_STATES and pending_only,
            "cancel": state in LIVE_STATES,
        }
        if action == "open_image":
            return self.query_one("#detail-preview", ImagePreview).thumbnail is not None
        if action in ("retry_delivery", "mark_published", "mark_not_published"):
            delivery = self.selected_delivery()
            needed = (
                DeliveryState.FAILED if action == "retry_delivery" else DeliveryState.NEEDS_REVIEW
            )
            return (
                delivery is not None and delivery.state == needed and state != PostState.CANCELLED
            )
        return allowed.get(action, True)

    def action_back(self) -> None:
        """Back to the list."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Read the post again now."""
        self.reload()

    def action_edit(self) -> None:
        """Change the text, channels or time."""
        from content.ui.composer import ComposerScreen

        self.app.push_screen(ComposerScreen(self.post_id))

    def action_submit(self) -> None:
        """Send this draft for review."""
        actions.submit(self, self.post_id)

    def action_approve(self) -> None:
        """Approve this post."""
        actions.approve(self, self.post_id)

    def action_send_back(self) -> None:
        """Return this post to its author with a comment."""
        actions.send_back(self, self.post_id)

    def action_reschedule(self) -> None:
        """Give the post another time."""
        current = (
            when(self.post.scheduled_at, self.ctx.tz)
            if self.post and self.post.scheduled_at
            else ""
        )
        actions.reschedule(self, self.post_id, current)

    def action_cancel(self) -> None:
        """Cancel the post (asks first)."""
        actions.cancel(self, self.post_id)

    def action_retry_delivery(self) -> None:
        """Send the failed delivery under the cursor again now (asks first)."""
        delivery = self.selected_delivery()
        if delivery is None or delivery.id is None:
            return
        delivery_id, channel = delivery.id, delivery.channel
        self._confirm_change(
            "retry",
            channel,
            lambda: self.ctx.queue().retry_delivery(delivery_id),
            _("Send to {channel} again now?").format(channel=channel),
            _(
                "Do this once the cause shown under the channels is fixed. Loa sends "
                "it at its next round and starts counting attempts again."
            ),
            _("Yes, retry now"),
        )

    def action_mark_published(self) -> None:
        """The officer found the post online: record it as published, with its address."""
        delivery = self.selected_delivery()
        if delivery is None or delivery.id is None:
            return
        delivery_id, channel = delivery.id, delivery.channel

        def check(value: str) -> str | None:
            link = value.strip()
            if link and not link.startswith(("http://", "https://")):
                return _("A web address starts with http:// or https://.")
            return None

        def answer(value: str | None) -> None:
            if value is None:
                return
            link = value.strip() or None
            self._change_delivery(
                "mark_published",
                channel,
                lambda: self.ctx.queue().resolve_review(
                    delivery_id, published=True, permalink=link
                ),
            )

        self.app.push_screen(
            PromptDialog(
                _("{channel}: mark as published").format(channel=channel),
                _("Address of the post you found on {channel} (optional):").format(channel=channel),
                ok_label=_("Mark published"),
                placeholder="https://…",
                check=check,
            ),
            answer,
        )

    def action_mark_not_published(self) -> None:
        """The officer checked and the post is not online: send it again (asks first)."""
        delivery = self.selected_delivery()
        if delivery is None or delivery.id is None:
            return
        delivery_id, channel = delivery.id, delivery.channel
        self._confirm_change(
            "mark_not_published",
            channel,
            lambda: self.ctx.queue().resolve_review(delivery_id, published=False),
            _("Not published on {channel}?").format(channel=channel),
            _(
                "Loa sends the post to {channel} again now. If it is online after all, "
                "it will appear twice: check the Page or OA first."
            ).format(channel=channel),
            _("Yes, send again"),
        )

    def _confirm_change(
        self,
        what: str,
        channel: str,
        change: Callable[[], Any],
        title: str,
        body: str,
        ok_label: str,
    ) -> None:
        """Ask first, then make a delivery change in a worker."""

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._change_delivery(what, channel, change)

        self.app.push_screen(ConfirmDialog(title, body, ok_label), confirmed)

    def _change_delivery(self, what: str, channel: str, change: Callable[[], Any]) -> None:
        # The channel rides along in ``what`` so the notice can name it.
        self.run_change(f"{what}:{channel}", change)

    def on_action_finished(self, message: ActionFinished) -> None:
        what, _sep, channel = message.what.partition(":")
        if message.error is not None:
            report_error(self, message.error)
        elif what in DELIVERY_DONE_TEXT:
            self.notify(_(DELIVERY_DONE_TEXT[what]).format(channel=channel), title=_("Done"))
        else:
            actions.report_done(self, message.what, message.result)
        self.reload()
