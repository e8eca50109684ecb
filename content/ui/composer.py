"""Write or edit a post: text with live counters per channel, channels, images, time,
a repeat rule (each occurrence is its own post) and an own text for a channel.

Nothing is checked against the database on the UI thread: the image check, "next free
slot", the warnings preview and saving each run in a thread worker, and the queue rules
(content.queue) have the last word; their ValidationError is shown under the field it names.

The screen is in four modules: this one (what the officer does, field by field), its
widgets (content.ui.composer_widgets: the fields' layout, the own-text dialog), its
images (content.ui.composer_images) and its data (content.ui.composer_form: the form
read from the fields, the counters, the repeat rule, saving through the queue).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TextArea,
)

from content.errors import ValidationError
from content.models import Delivery, Post, PostState
from content.preview import post_looks
from content.queue import Outcome
from content.ui import data
from content.ui.base import ActionFinished, report_error
from content.ui.composer_form import (
    ERROR_FIELDS,
    KIND_LABELS,
    UPLOAD_DIR_ENV,
    UPLOAD_POLL,
    Form,
    counter_lines,
    post_request,
    save_form,
    split_list,
    upload_dir,
    variants_for,
    when_hint,
)
from content.ui.composer_images import ComposerImages
from content.ui.composer_widgets import VariantDialog, main_column, side_column
from content.ui.dialogs import ConfirmDialog
from content.ui.fmt import when, when_long
from content.ui.i18n import N_, _
from content.ui.messages import error_in_words, in_words
from content.ui.post_look import render_looks

#: Seconds of quiet typing before the queue's warnings and the preview of how the post will
#: look are worked out again.
PREVIEW_DELAY = 0.5

#: Imported from here by other screens (the channels screen's platform names).
__all__ = ["KIND_LABELS", "UPLOAD_DIR_ENV", "ComposerScreen"]


class PostLoaded(Message):
    """The post being edited has been read."""

    def __init__(self, post: Post, deliveries: list[Delivery]) -> None:
        super().__init__()
        self.post = post
        self.deliveries = deliveries


class WarningsPreviewed(Message):
    """What the queue would warn about if the form were saved now."""

    def __init__(self, warnings: list[str]) -> None:
        super().__init__()
        self.warnings = warnings


class SlotFound(Message):
    """The next free posting slot (None: there is none)."""

    def __init__(self, at: datetime | None) -> None:
        super().__init__()
        self.at = at


class ComposerScreen(ComposerImages):
    """A new post, or an existing one (``post_id``) until it is being sent."""

    HELP_TEXT = N_(
        "Write the post here. The counter under the text shows, for each chosen channel, "
        "how many characters count against its limit. Choose channels or groups on the "
        "right; type a time in office time, or press Now or Next free slot. To post the same "
        "text again, choose a repeat: every N days or on weekdays, until a date; each time "
        "becomes its own post. Ctrl+T gives one channel its own text. The Preview tab on "
        "the right (F3) shows the post as Facebook and Zalo will show it: where Facebook "
        "folds a long text behind See more, the Zalo title and description. What the queue would "
        "warn about (the same text already queued, another post too close) is shown under "
        "the counter before you save. Save a draft to finish later, or submit it for "
        "review: an approver then schedules it."
    )

    BINDINGS = [
        Binding("ctrl+s", "save", "Save draft"),
        Binding("ctrl+r", "submit", "Submit for review"),
        Binding("ctrl+g", "approve", "Approve now"),
        Binding("ctrl+t", "variant", "Text per channel"),
        # Off the footer for room at 80 columns; the button beside the field says it.
        Binding("ctrl+f", "pick_image", "Choose an image", show=False),
        # Off the footer (it would push help and quit off an 80-column screen); the help
        # screen lists it.
        Binding("ctrl+o", "open_image", "Open full image", show=False),
        # Off the footer too (full at 80 columns): the Preview tab beside the text says it.
        Binding("f3", "toggle_look", "Preview on Facebook and Zalo", key_display="F3", show=False),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, post_id: int | None = None) -> None:
        super().__init__()
        self.post_id = post_id
        self.post_state: str | None = None
        self.original_when = ""
        #: The form as it was last loaded or saved: closing asks first only when it changed.
        self.clean_form: Form | None = None
        self.busy = False
        #: Channel -> its own text, kept here until saved.
        self.variants: dict[str, str] = {}
        self._preview_timer: Any = None
        #: The image file shown in the preview, for "open full image".
        self.preview_path: Path | None = None
        #: The first image as the thumbnail names it (name, size), for the look preview.
        self.image_caption: str | None = None
        #: An edited post's images (kept in the database; the images field stays empty).
        self.saved_images = 0
        #: In `loa web`: the photos uploaded from the officer's PC, offered in a list.
        self.uploads = upload_dir()
        self._upload_names: list[str] = []
        self.title = _("New post") if post_id is None else _("Edit post {id}").format(id=post_id)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="composer-body"):
            yield from main_column(self.uploads)
            yield from side_column(self.ctx)
        with Horizontal(id="composer-buttons"):
            yield Button(_("Save draft"), id="save", variant="primary")
            yield Button(_("Submit for review"), id="submit", variant="success")
            if not self.ctx.directory.office.require_second_approver:
                yield Button(_("Approve now"), id="approve", variant="warning")
            yield Button(_("Close"), id="close")
        yield Footer()

    def on_mount(self) -> None:
        self._show_when_hint()
        self._show_repeat_options()
        self._load_campaigns()
        if self.uploads is not None:
            self._refresh_uploads()
            self.set_interval(UPLOAD_POLL, self._refresh_uploads)
        if self.post_id is not None:
            self.query_one("#images", Input).disabled = True
            if self.uploads is None:
                self.query_one("#pick-image", Button).disabled = True
            else:
                self.query_one("#uploads", Select).disabled = True
            # A saved post is one post: its repeat was turned into separate posts.
            self.query_one("#repeat-kind", Select).disabled = True
            self._load_post(self.post_id)
        self.query_one("#title", Input).focus()
        if self.post_id is None:
            self.call_after_refresh(self._mark_clean)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Approving from the composer only makes sense where one person may do both.
        if action == "approve":
            return not self.ctx.directory.office.require_second_approver
        if action == "submit" and self.post_state not in (None, PostState.DRAFT):
            return False
        if action == "open_image":
            return self.preview_path is not None
        return True

    def _chosen_channels(self) -> list[str]:
        """The chosen channels and groups' channels, one each, in the office's order."""
        try:
            return self.ctx.directory.expand(
                list(self.query_one("#composer-channels", SelectionList).selected)
            )
        except ValidationError:
            return []

    @work(thread=True, exclusive=True, exit_on_error=False, group="campaigns")
    def _load_campaigns(self) -> None:
        names = self.read(lambda: data.campaign_names(self.ctx.engine))
        if names:
            self.app.call_from_thread(self._suggest_campaigns, names)

    def _suggest_campaigns(self, names: list[str]) -> None:
        # The same campaign typed twice must be spelled the same, or reports split it.
        self.query_one("#campaign", Input).suggester = SuggestFromList(names, case_sensitive=False)

    # ------------------------------------------------------------------ editing an existing post

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def _load_post(self, post_id: int) -> None:
        found = self.read(lambda: self.ctx.queue().get(post_id))
        if found is not None:
            self.post_message(PostLoaded(*found))

    def on_post_loaded(self, message: PostLoaded) -> None:
        post = message.post
        self.post_state = post.state
        self.query_one("#title", Input).value = post.title or ""
        self.query_one("#text", TextArea).text = post.text
        self.query_one("#link", Input).value = post.link or ""
        self.query_one("#campaign", Input).value = post.campaign or ""
        self.query_one("#tags", Input).value = ", ".join(post.tags)
        self.original_when = when(post.scheduled_at, self.ctx.tz) if post.scheduled_at else ""
        self.query_one("#when", Input).value = self.original_when
        count = len(post.image_ids)
        self.saved_images = count
        self.query_one("#images-info", Static).update(
            _("{n} image(s) attached; images cannot be changed after saving.").format(n=count)
        )
        channels = self.query_one("#composer-channels", SelectionList)
        for d in message.deliveries:
            channels.select(d.channel)
        self.variants = {d.channel: d.text_variant for d in message.deliveries if d.text_variant}
        self._show_variants()
        if post.state != PostState.DRAFT:
            self.query_one("#submit", Button).disabled = True
        self.query_one("#save", Button).label = _("Save changes")
        self.refresh_bindings()
        # After the Changed events the filled-in fields are about to send.
        self.call_after_refresh(self._mark_clean)
        self._update_counter()
        self._schedule_preview()

    # ------------------------------------------------------------------ live feedback

    def _form(self) -> Form:
        return Form(
            title=self.query_one("#title", Input).value,
            text=self.query_one("#text", TextArea).text,
            link=self.query_one("#link", Input).value,
            images=split_list(self.query_one("#images", Input).value),
            channels=list(self.query_one("#composer-channels", SelectionList).selected),
            when=self.query_one("#when", Input).value,
            campaign=self.query_one("#campaign", Input).value,
            tags=split_list(self.query_one("#tags", Input).value),
            original_when=self.original_when,
            variants=dict(self.variants),
            repeat_kind=str(self.query_one("#repeat-kind", Select).value or ""),
            repeat_every=self.query_one("#repeat-every", Input).value,
            repeat_weekdays=list(self.query_one("#repeat-weekdays", SelectionList).selected),
            repeat_until=self.query_one("#repeat-until", Input).value,
        )

    def _update_counter(self) -> None:
        form = self._form()
        lines = counter_lines(
            self.ctx.directory, form.channels, form.title, form.text, form.variants
        )
        counter = self.query_one("#composer-counter", Static)
        if not lines:
            counter.update(_("Choose a channel to see its limits."))
            return
        counter.update("\n".join(text for text, _ok in lines))
        counter.set_class(not all(ok for _text, ok in lines), "over-limit")

    def _show_when_hint(self) -> None:
        value = self.query_one("#when", Input).value
        chosen = list(self.query_one("#composer-channels", SelectionList).selected)
        hint, error = when_hint(self.ctx, value, chosen)
        self.query_one("#when-hint", Static).update(hint)
        self.query_one("#error-at", Static).update(error)

    @on(TextArea.Changed)
    @on(Input.Changed, "#title")
    def _text_changed(self) -> None:
        self._clear_error("text")
        self._clear_error("title")
        self._update_counter()
        self._schedule_preview()

    @on(SelectionList.SelectedChanged, "#composer-channels")
    def _channels_changed(self) -> None:
        self._clear_error("channel")
        self._update_counter()
        self._show_when_hint()
        self._show_variants()
        self._schedule_preview()

    @on(Input.Changed, "#when")
    def _when_changed(self) -> None:
        self._show_when_hint()
        self._schedule_preview()

    # ------------------------------------------------------------------ repeat

    def _show_repeat_options(self) -> None:
        kind = self.query_one("#repeat-kind", Select).value
        self.query_one("#repeat-options").display = bool(kind)
        self.query_one("#repeat-every-row").display = kind == "days"
        self.query_one("#repeat-weekdays").display = kind == "weekly"

    @on(Select.Changed, "#repeat-kind")
    @on(Input.Changed, "#repeat-every, #repeat-until")
    @on(SelectionList.SelectedChanged, "#repeat-weekdays")
    def _repeat_changed(self) -> None:
        self._clear_error("repeat")
        self._show_repeat_options()
        self._schedule_preview()

    # ------------------------------------------------------------------ own text per channel

    def action_variant(self) -> None:
        """Give one of the chosen channels its own text."""
        channels = self._chosen_channels()
        if not channels:
            self.notify(_("Choose a channel first."), severity="warning")
            return

        def answer(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            channel, text = result
            main = self.query_one("#text", TextArea).text
            if text.strip() and text.strip() != main.strip():
                self.variants[channel] = text
            else:
                self.variants.pop(channel, None)
            self._show_variants()
            self._update_counter()
            self._schedule_preview()

        self.app.push_screen(
            VariantDialog(channels, dict(self.variants), self.query_one("#text", TextArea).text),
            answer,
        )

    @on(Button.Pressed, "#variant")
    def _variant_pressed(self) -> None:
        self.action_variant()

    def _show_variants(self) -> None:
        chosen = set(self._chosen_channels())
        own = [c for c in self.variants if c in chosen]
        info = self.query_one("#variants-info", Static)
        info.update(_("Own text: {channels}").format(channels=", ".join(own)) if own else "")

    # ------------------------------------------------------------------ warnings before saving

    def _schedule_preview(self) -> None:
        """Once typing pauses: show how the post will look and ask the queue for its
        warnings (each ask reads the database; redrawing the cards on every key would
        make typing a long text sluggish)."""
        if self._preview_timer is not None:
            self._preview_timer.stop()
        self._preview_timer = self.set_timer(PREVIEW_DELAY, self._start_preview)

    def _start_preview(self) -> None:
        self._preview_timer = None
        self._show_look()
        if self.post_id is None:
            # For an edited post the queue would compare it with its own saved copy; it
            # warns after saving instead.
            self._preview(self._form())

    def _show_look(self) -> None:
        """Draw each chosen channel's card: text only, no reads, so on the UI thread."""
        form = self._form()
        images = len(form.images) or self.saved_images
        looks = post_looks(
            self.ctx.directory,
            form.channels,
            title=form.title or None,
            text=form.text,
            link=form.link or None,
            images=images,
            variants=variants_for(self.ctx.directory, form),
        )
        image = self.image_caption or (Path(form.images[0]).name if form.images else None)
        self.query_one("#composer-look", Static).update(render_looks(looks, image, images))

    def action_toggle_look(self) -> None:
        """Switch the side column between the channels and time, and the preview."""
        tabs = self.query_one("#composer-side", TabbedContent)
        hidden = tabs.get_pane(tabs.active)
        if self.focused is not None and hidden in self.focused.ancestors:
            # A focused widget in the tab being hidden would take its tab straight back
            # (Textual shows the tab of whatever has focus): the officer types on instead.
            self.query_one("#text", TextArea).focus()
        tabs.active = "side-look" if tabs.active == "side-settings" else "side-settings"

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _preview(self, form: Form) -> None:
        try:
            request = post_request(self.ctx, form, images=[])
            warnings = self.ctx.queue().preview_warnings(request)
        except ValidationError:
            # Not saveable yet: saving names the problem; there is nothing to warn about.
            warnings = []
        except Exception:  # a preview must never disturb typing; saving reports errors
            warnings = []
        self.post_message(WarningsPreviewed(warnings))

    def on_warnings_previewed(self, message: WarningsPreviewed) -> None:
        # The Zalo night-time ban is already said under the time field.
        shown = [
            in_words(w) for w in message.warnings if getattr(w, "code", None) != "warn_zalo_night"
        ]
        box = self.query_one("#composer-warnings", Static)
        box.update("\n".join(f"⚠ {w}" for w in shown))

    @on(Input.Changed, "#link, #campaign, #tags, #images")
    def _other_changed(self, event: Input.Changed) -> None:
        if event.input.id in ("link", "images"):
            self._clear_error("link" if event.input.id == "link" else "image")
            # The link card and the cover change with them.
            self._schedule_preview()

    @on(Button.Pressed, "#now")
    def _now(self) -> None:
        self.query_one("#when", Input).value = when(self.ctx.clock(), self.ctx.tz)

    @on(Button.Pressed, "#slot")
    def _slot(self) -> None:
        self._find_slot(self._form().channels)

    @work(thread=True, exclusive=True, exit_on_error=False, group="slot")
    def _find_slot(self, chosen: list[str]) -> None:
        directory = self.ctx.directory
        try:
            channels = directory.expand(chosen)
        except ValidationError:
            channels = []
        found = data.next_free_slot(self.ctx.engine, directory, channels, self.ctx.clock())
        self.post_message(SlotFound(found))

    def on_slot_found(self, message: SlotFound) -> None:
        if message.at is None:
            self.notify(_("No free posting slot in the next two weeks."), severity="warning")
            return
        self.query_one("#when", Input).value = when(message.at, self.ctx.tz)

    # ------------------------------------------------------------------ saving

    def _clear_error(self, name: str) -> None:
        self.query_one(f"#error-{name}", Static).update("")

    def show_error(self, error: ValidationError) -> None:
        """Put a refused field's message under that field (or in a notification)."""
        name = {"until": "repeat", "variant": "text"}.get(error.field or "", error.field)
        if name in ERROR_FIELDS and self.query(f"#error-{name}"):
            self.query_one(f"#error-{name}", Static).update(error_in_words(error))
            target = {
                "channel": "#composer-channels",
                "at": "#when",
                "image": "#images",
                "repeat": "#repeat-until",
            }.get(name, f"#{name}")
            for widget in self.query(target):
                if widget.focusable and not widget.disabled:
                    widget.focus()
            self.notify(error_in_words(error), title=_("Please check"), severity="error")
        else:
            report_error(self, error)

    def _start(self, mode: str) -> None:
        if self.busy:
            return
        for name in ERROR_FIELDS:
            if self.query(f"#error-{name}"):
                self._clear_error(name)
        self.busy = True
        form = self._form()
        post_id, uploads = self.post_id, self.uploads
        self.run_change(mode, lambda: save_form(self.ctx, post_id, mode, form, uploads))

    def action_save(self) -> None:
        """Save as a draft (or save the changes to an existing post)."""
        self._start("draft")

    def action_submit(self) -> None:
        """Save and send for review."""
        self._start("submit")

    def action_approve(self) -> None:
        """Save and approve at once (offices without a second approver only)."""
        self._start("approve")

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#approve")
    def _approve_pressed(self) -> None:
        self.action_approve()

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.action_close()

    def on_action_finished(self, message: ActionFinished) -> None:
        self.busy = False
        if message.error is not None:
            if isinstance(message.error, ValidationError):
                self.show_error(message.error)
            else:
                report_error(self, message.error)
            return
        outcome: Outcome = message.result
        post = outcome.post
        tz = self.ctx.tz
        state_words: dict[str, str] = {
            PostState.DRAFT: _("saved as a draft"),
            PostState.IN_REVIEW: _("sent for review"),
            PostState.APPROVED: _("approved, without a time yet"),
            PostState.SCHEDULED: _("scheduled for {when}").format(
                when=when_long(post.scheduled_at, tz)
            ),
        }
        self.notify(
            _("Post {id} {what}.").format(id=post.id, what=state_words.get(post.state, post.state)),
            title=_("Saved"),
        )
        if len(outcome.posts) > 1:
            self.notify(
                _("{n} posts saved, one per date: post {first} to post {last}.").format(
                    n=len(outcome.posts), first=post.id, last=outcome.posts[-1].id
                ),
                title=_("Saved"),
            )
        for warning in outcome.warnings:
            self.notify(
                in_words(warning), title=_("Worth a second look"), severity="warning", timeout=15
            )
        self.clean_form = self._form()
        self.app.pop_screen()

    def _mark_clean(self) -> None:
        self.clean_form = self._form()

    def action_close(self) -> None:
        """Leave; ask first when something was typed and not saved."""
        # Compared with the form as it came, not "was anything touched": an empty composer
        # (or one typed into and emptied again) closes without a question.
        if self.clean_form is None or self._form() == self.clean_form:
            self.app.pop_screen()
            return

        def answer(discard: bool | None) -> None:
            if discard:
                self.app.pop_screen()

        self.app.push_screen(
            ConfirmDialog(
                _("Discard changes?"),
                _("What you typed here has not been saved."),
                _("Discard"),
            ),
            answer,
        )
