"""Write or edit a post: text with live counters per channel, channels, images, time,
a repeat rule (each occurrence is its own post) and an own text for a channel.

Nothing is checked against the database on the UI thread: the image check, "next free
slot", the warnings preview and saving each run in a thread worker, and the queue rules
(content.queue) have the last word; their ValidationError is shown under the field it names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    Select,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)
from textual.widgets.selection_list import Selection

from content import media
from content.errors import ValidationError
from content.limits import TEXT_LIMITS, length
from content.messages import Notice, os_reason
from content.models import Delivery, Post, PostState
from content.office import ChannelDirectory
from content.preview import post_looks
from content.queue import ImageInput, Outcome, PostInput, Repeat, night_broadcasts
from content.times import parse_date, parse_when
from content.ui import data
from content.ui.base import ActionFinished, LoaModal, LoaScreen, report_error
from content.ui.dialogs import ConfirmDialog, FieldError
from content.ui.file_picker import ImagePicker
from content.ui.fmt import (
    NOW_WORDS,
    WEEKDAYS,
    date_placeholder,
    time_placeholder,
    when,
    when_long,
)
from content.ui.i18n import N_, _
from content.ui.messages import error_in_words, in_words
from content.ui.post_look import render_looks
from content.ui.preview import ImagePreview, Thumbnail, make_thumbnail, open_full_image
from content.ui.ticks import TickList

#: Form fields that a ValidationError can name, and the error line under each.
ERROR_FIELDS = ("title", "text", "link", "image", "channel", "at", "repeat", "campaign", "tags")
KIND_LABELS = {"facebook": "Facebook", "zalo_oa": "Zalo OA"}
#: Seconds of quiet typing before the queue's warnings and the preview of how the post will
#: look are worked out again.
PREVIEW_DELAY = 0.5
#: Set by `loa web` for each tab: the signed-in account's private directory of photos
#: uploaded from his PC (the server writes them; the composer offers them).
UPLOAD_DIR_ENV = "LOA_UPLOAD_DIR"
#: Seconds between looks at the upload directory for photos uploaded meanwhile.
UPLOAD_POLL = 1.0


def upload_dir() -> Path | None:
    """The web tab's upload directory, or None in a terminal."""
    raw = os.environ.get(UPLOAD_DIR_ENV, "").strip()
    return Path(raw) if raw else None


def uploaded_photos(directory: Path) -> list[str]:
    """The names of the photos in ``directory``, newest first."""
    try:
        files = [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
    except OSError:
        return []
    return [p.name for p in sorted(files, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)]


@dataclass
class Form:
    """What the officer typed, read on the UI thread and handed to a worker."""

    title: str
    text: str
    link: str
    images: list[str]
    channels: list[str]
    when: str
    campaign: str
    tags: list[str]
    original_when: str = ""
    #: Channel -> its own text (instead of ``text``).
    variants: dict[str, str] = field(default_factory=dict)
    #: "" (no repeat), "days" (every N days) or "weekly" (on ``repeat_weekdays``).
    repeat_kind: str = ""
    repeat_every: str = ""
    repeat_weekdays: list[int] = field(default_factory=list)
    repeat_until: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class PostLoaded(Message):
    """The post being edited has been read."""

    def __init__(self, post: Post, deliveries: list[Delivery]) -> None:
        super().__init__()
        self.post = post
        self.deliveries = deliveries


class ImagesChecked(Message):
    """The image paths have been read and checked: one line each, and the first problem."""

    def __init__(self, lines: list[str], error: str | None) -> None:
        super().__init__()
        self.lines = lines
        self.error = error


class ThumbnailReady(Message):
    """The first image path has been read and drawn small (None: nothing to show)."""

    def __init__(self, path: Path | None, thumbnail: Thumbnail | None) -> None:
        super().__init__()
        self.path = path
        self.thumbnail = thumbnail


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


def split_list(value: str) -> list[str]:
    """``a, b; c`` -> ``["a", "b", "c"]``."""
    return [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]


def counter_lines(
    directory: ChannelDirectory,
    chosen: list[str],
    title: str,
    text: str,
    variants: dict[str, str] | None = None,
) -> list[tuple[str, bool]]:
    """One line per chosen channel: what counts against its limit, and whether it fits.

    A channel with its own text (``variants``) is counted on that text.
    """
    try:
        channels = directory.expand(chosen)
    except ValidationError:
        return []
    lines: list[tuple[str, bool]] = []
    for channel in channels:
        kind = directory.kind_of(channel)
        limits = TEXT_LIMITS[kind]
        parts: list[str] = []
        ok = True
        own = (variants or {}).get(channel)
        if limits.text is not None:
            n = length(own if own is not None else text)
            ok &= n <= limits.text
            label = (
                _("own text {n:,} / {limit:,}") if own is not None else _("text {n:,} / {limit:,}")
            )
            parts.append(label.format(n=n, limit=limits.text))
        if limits.title is not None:
            n = length(title)
            fits = n <= limits.title and (n > 0 or not limits.title_required)
            ok &= fits
            parts.append(_("title {n} / {limit}").format(n=n, limit=limits.title))
            if limits.title_required and not n:
                parts.append(_("needs a title"))
        mark = "✓" if ok else "✗"
        lines.append((f"{mark} {channel} ({KIND_LABELS.get(kind, kind)}): " + ", ".join(parts), ok))
    return lines


def build_repeat(form: Form) -> Repeat | None:
    """The repeat rule the form asks for, or None; a ValidationError names what is missing."""
    if not form.repeat_kind:
        return None
    if not form.repeat_until.strip():
        raise ValidationError("repeat_no_until", field="repeat")
    until = parse_date(form.repeat_until, field="repeat")
    if form.repeat_kind == "days":
        every = form.repeat_every.strip()
        if not every.isdigit() or int(every) < 1:
            raise ValidationError("repeat_no_days", field="repeat")
        return Repeat(until=until, every_days=int(every))
    if not form.repeat_weekdays:
        raise ValidationError("repeat_no_weekday", field="repeat")
    return Repeat(until=until, weekdays=tuple(sorted(form.repeat_weekdays)))


class VariantDialog(LoaModal[tuple[str, str] | None]):
    """An own text for one of the chosen channels (empty: the channel uses the main text)."""

    BINDINGS = [
        Binding("ctrl+s", "ok", "Use this text"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, channels: list[str], variants: dict[str, str], text: str) -> None:
        super().__init__()
        self.channels = channels
        self.variants = variants
        self.main_text = text

    def compose(self) -> ComposeResult:
        first = next((c for c in self.channels if c in self.variants), self.channels[0])
        with Vertical(classes="dialog variant"):
            yield Label(_("Text for one channel"), classes="dialog-title")
            yield Select(
                [(c, c) for c in self.channels],
                value=first,
                allow_blank=False,
                id="variant-channel",
            )
            yield TextArea(
                self.variants.get(first, self.main_text),
                id="variant-text",
                soft_wrap=True,
                show_line_numbers=False,
            )
            yield Static(
                _(
                    "This channel publishes this text instead of the main one. Empty it to use "
                    "the main text again."
                ),
                classes="field-hint",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Use this text"), variant="primary", id="ok")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#variant-text", TextArea).focus()

    @on(Select.Changed, "#variant-channel")
    def _channel_changed(self, event: Select.Changed) -> None:
        channel = str(event.value)
        self.query_one("#variant-text", TextArea).text = self.variants.get(channel, self.main_text)

    def action_ok(self) -> None:
        """Keep the text for the chosen channel."""
        channel = str(self.query_one("#variant-channel", Select).value)
        self.dismiss((channel, self.query_one("#variant-text", TextArea).text))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_ok()
        else:
            self.dismiss(None)


class ComposerScreen(LoaScreen):
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
        directory = self.ctx.directory
        office = directory.office
        yield Header()
        with Horizontal(id="composer-body"):
            with VerticalScroll(id="composer-main"):
                yield Label(_("Title (Zalo needs one)"), classes="form-label")
                yield Input(id="title", placeholder=_("A short headline"))
                yield FieldError(id="error-title")
                yield Label(_("Text"), classes="form-label")
                yield TextArea(
                    id="text",
                    soft_wrap=True,
                    show_line_numbers=False,
                    placeholder=_("What the public should know…"),
                )
                yield FieldError(id="error-text")
                yield Static(_("Choose a channel to see its limits."), id="composer-counter")
                yield Static("", id="composer-warnings")
                with Horizontal(id="composer-variant-row"):
                    yield Button(_("Text for one channel…"), id="variant")
                    yield Static("", id="variants-info", classes="field-hint")
                yield Label(_("Link (optional)"), classes="form-label")
                yield Input(id="link", placeholder="https://…")
                yield FieldError(id="error-link")
                if self.uploads is None:
                    yield Label(_("Images: file paths, separated by commas"), classes="form-label")
                    with Horizontal(id="composer-images-row"):
                        yield Input(id="images", placeholder=_("/home/me/pictures/warning.png"))
                        yield Button(_("Choose…"), id="pick-image")
                else:
                    yield Label(_("Images: your uploaded photos"), classes="form-label")
                    yield Input(id="images", placeholder=_("choose below, or type a photo's name"))
                    # The server's paths mean nothing to a browser user: offer his uploads.
                    yield Select[str]([], prompt=_("Images"), id="uploads")
                yield Static("", id="images-info", classes="field-hint")
                yield ImagePreview(id="composer-preview")
                yield FieldError(id="error-image")
            # At 80x24 the side column stands beside the text: its Preview tab shows the
            # post as it will look while the officer types.
            with TabbedContent(id="composer-side", initial="side-settings"):
                with TabPane(_("Channels, time"), id="side-settings"):
                    with VerticalScroll(id="composer-settings"):
                        yield Label(_("Channels and groups"), classes="form-label")
                        # Only what this account may write to: a ward officer is not offered the
                        # province's Pages (the queue would refuse them anyway).
                        mine = set(self.ctx.channel_ids())
                        selections: list[Selection[str]] = [
                            Selection(
                                f"{cid} · {KIND_LABELS.get(info.kind, info.kind)}", cid, False
                            )
                            for cid, info in directory.channels.items()
                            if cid in mine
                        ]
                        selections += [
                            Selection(
                                _("Group {name} ({n} channels)").format(name=name, n=len(ids)),
                                name,
                                False,
                            )
                            for name, ids in directory.groups.items()
                            if set(ids) <= mine
                        ]
                        yield TickList[str](*selections, id="composer-channels")
                        yield FieldError(id="error-channel")
                        yield Label(_("When (office time)"), classes="form-label")
                        with Horizontal(id="composer-when-row"):
                            yield Input(id="when", placeholder=time_placeholder())
                            yield Button(_("Now"), id="now")
                        yield Button(
                            _("Next free slot"), id="slot", disabled=not office.posting_slots
                        )
                        yield Static("", id="when-hint", classes="field-hint")
                        yield FieldError(id="error-at")
                        yield Label(_("Repeat"), classes="form-label")
                        yield Select(
                            [
                                (_("Does not repeat"), ""),
                                (_("Every N days"), "days"),
                                (_("Weekly on chosen days"), "weekly"),
                            ],
                            value="",
                            allow_blank=False,
                            id="repeat-kind",
                        )
                        with Vertical(id="repeat-options"):
                            with Horizontal(id="repeat-every-row"):
                                yield Label(_("Every"), classes="inline-label")
                                yield Input(
                                    id="repeat-every", value="7", restrict=r"\d*", max_length=3
                                )
                                yield Label(_("days"), classes="inline-label")
                            yield TickList[int](
                                *[Selection(_(name), i, False) for i, name in enumerate(WEEKDAYS)],
                                id="repeat-weekdays",
                            )
                            yield Label(_("Until (date)"), classes="form-label")
                            yield Input(id="repeat-until", placeholder=date_placeholder())
                        yield FieldError(id="error-repeat")
                        yield Label(_("Campaign (optional)"), classes="form-label")
                        yield Input(id="campaign", placeholder=_("e.g. Online scams 2026"))
                        yield Label(_("Tags, separated by commas"), classes="form-label")
                        yield Input(id="tags", placeholder=_("scam, elderly"))
                with TabPane(_("Preview"), id="side-look"):
                    with VerticalScroll(id="composer-look-scroll"):
                        yield Static(
                            _("Choose a channel to see how the post will look."),
                            id="composer-look",
                        )
        with Horizontal(id="composer-buttons"):
            yield Button(_("Save draft"), id="save", variant="primary")
            yield Button(_("Submit for review"), id="submit", variant="success")
            if not office.require_second_approver:
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
        value = self.query_one("#when", Input).value.strip()
        hint = self.query_one("#when-hint", Static)
        error = self.query_one("#error-at", Static)
        error.update("")
        tz = self.ctx.tz
        if not value:
            hint.update(_("No time: the post waits until someone gives it one."))
        elif value.lower() in NOW_WORDS:
            hint.update(_("As soon as it is approved."))
        else:
            now = self.ctx.clock()
            try:
                at = parse_when(value, tz, now=now)
            except ValidationError as exc:
                hint.update("")
                error.update(error_in_words(exc))
                return
            if at < now:
                # Said while typing: the queue would only refuse it on saving.
                hint.update("")
                error.update(
                    _("{when} is in the past (it is now {now}).").format(
                        when=when(at, tz), now=when(now, tz)
                    )
                )
                return
            text = f"→ {when_long(at, tz)} ({tz.key})"
            zalo = self._zalo_at_night(at)
            if zalo:
                # Said before saving: the queue would only warn afterwards.
                text += "\n⚠ " + in_words(Notice("warn_zalo_night", channels=zalo))
            hint.update(text)

    def _zalo_at_night(self, at: datetime) -> list[str]:
        """The chosen Zalo OAs, when ``at`` falls in Zalo's night-time broadcast ban."""
        directory = self.ctx.directory
        try:
            channels = directory.expand(
                self.query_one("#composer-channels", SelectionList).selected
            )
        except ValidationError:
            return []
        return night_broadcasts(directory, channels, at)

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
            variants=self._variants_for(form),
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
            request = self._request(form, images=[])
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

    def _refresh_uploads(self) -> None:
        """Offer the photos uploaded so far (a listing of one small private directory)."""
        if self.uploads is None:
            return
        names = uploaded_photos(self.uploads)
        if names != self._upload_names:
            self._upload_names = names
            self.query_one("#uploads", Select).set_options((name, name) for name in names)

    @on(Select.Changed, "#uploads")
    def _upload_picked(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        box = self.query_one("#images", Input)
        chosen = split_list(box.value)
        if event.value not in chosen:
            box.value = ", ".join([*chosen, event.value])
        event.select.clear()
        self._images_done()

    def _image_path(self, raw: str) -> Path:
        """A typed image: a path in the terminal; in `loa web` one of the officer's uploads.

        A browser user has no business reading the server's files: only the names of the
        photos he uploaded are taken there (never a path, never ``..``).
        """
        if self.uploads is None:
            return Path(raw).expanduser()
        name = raw.strip()
        if name and name in uploaded_photos(self.uploads):
            return self.uploads / name
        raise ValidationError("photo_not_uploaded", field="image", name=raw)

    @on(Input.Blurred, "#images")
    @on(Input.Submitted, "#images")
    def _images_done(self) -> None:
        form = self._form()
        if form.images:
            self._check_images(form.images, form.channels)
            self._draw_thumbnail(form.images[0], len(form.images))
        else:
            self.query_one("#images-info", Static).update("")
            self.post_message(ThumbnailReady(None, None))

    @work(thread=True, exclusive=True, exit_on_error=False, group="thumbnail")
    def _draw_thumbnail(self, raw: str, count: int) -> None:
        try:
            path = self._image_path(raw)
            blob = path.read_bytes()
        except (OSError, ValidationError):
            # The image check names the problem under the field; nothing to draw.
            self.post_message(ThumbnailReady(None, None))
            return
        note = _("1 of {n} images").format(n=count) if count > 1 else ""
        self.post_message(ThumbnailReady(path, make_thumbnail(path.name, blob, note)))

    def on_thumbnail_ready(self, message: ThumbnailReady) -> None:
        self.preview_path = message.path
        thumbnail = message.thumbnail
        self.image_caption = thumbnail.caption.splitlines()[0] if thumbnail else None
        self._show_look()
        preview = self.query_one("#composer-preview", ImagePreview)
        preview.show(message.thumbnail)
        if message.thumbnail is not None:
            # The officer just typed the path: bring the picture into view below it.
            self.call_after_refresh(preview.scroll_visible, animate=False)
        self.refresh_bindings()

    def action_open_image(self) -> None:
        """Say where the previewed image is, and open it when there is a display."""
        if self.preview_path is not None:
            self._open_image(self.preview_path)

    @work(thread=True, exit_on_error=False, group="open-image")
    def _open_image(self, path: Path) -> None:
        # The file is already on disk: no copy needed, only the path (and a viewer).
        shown = open_full_image(path.name, path=path)
        self.app.call_from_thread(
            self.notify, _("The full image is in {path}").format(path=shown), timeout=20
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="images")
    def _check_images(self, paths: list[str], chosen: list[str]) -> None:
        directory = self.ctx.directory
        try:
            kinds = sorted({directory.kind_of(c) for c in directory.expand(chosen)})
        except ValidationError:
            kinds = []
        lines: list[str] = []
        for raw in paths:
            try:
                path = self._image_path(raw)
                blob = path.read_bytes()
                info = media.inspect_image(blob, name=path.name)
                notes: list[str] = []
                for kind in kinds:
                    notes += [in_words(n) for n in media.check_for_channel(info, kind)]
            except OSError as exc:
                refused = ValidationError("file_unreadable", path=raw, reason=os_reason(exc))
                self.post_message(ImagesChecked(lines, error_in_words(refused)))
                return
            except ValidationError as exc:
                self.post_message(ImagesChecked(lines, error_in_words(exc)))
                return
            size = f"{info.size_bytes / 1024:,.0f} KB"
            line = f"✓ {path.name}: {info.format} {info.width}×{info.height}, {size}"
            lines.append(line + "".join(f"\n    {n}" for n in notes))
        self.post_message(ImagesChecked(lines, None))

    def on_images_checked(self, message: ImagesChecked) -> None:
        self.query_one("#images-info", Static).update("\n".join(message.lines))
        self.query_one("#error-image", Static).update(message.error or "")

    @on(Button.Pressed, "#pick-image")
    def _pick_pressed(self) -> None:
        self.action_pick_image()

    def action_pick_image(self) -> None:
        """Browse the disk for an image and add it to the images field."""
        if self.uploads is not None or self.post_id is not None:
            return  # a browser user has his uploads; a saved post keeps its images
        box = self.query_one("#images", Input)
        chosen = split_list(box.value)
        # Start where the last image came from, else in the officer's home folder.
        last = Path(chosen[-1]).expanduser().parent if chosen else Path.home()
        start = last if last.is_dir() else Path.home()

        def picked(path: Path | None) -> None:
            if path is not None and str(path) not in chosen:
                box.value = ", ".join([*chosen, str(path)])
                self._images_done()

        self.app.push_screen(ImagePicker(start), picked)

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
        self.run_change(mode, lambda: self._save(mode, form))

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

    def _parse_when(self, form: Form) -> datetime | None:
        value = form.when.strip()
        if not value:
            return None
        if value.lower() in NOW_WORDS:
            return self.ctx.clock()
        return parse_when(value, self.ctx.tz, now=self.ctx.clock())

    def _variants_for(self, form: Form) -> dict[str, str]:
        """The own texts of channels still chosen (a channel taken off keeps none)."""
        try:
            chosen = set(self.ctx.directory.expand(form.channels))
        except ValidationError:
            chosen = set()
        return {c: t for c, t in form.variants.items() if c in chosen}

    def _request(self, form: Form, images: list[ImageInput]) -> PostInput:
        """The form as the queue's input (call from a worker: it may parse and check)."""
        return PostInput(
            text=form.text,
            channels=form.channels,
            title=form.title or None,
            link=form.link or None,
            images=images,
            campaign=form.campaign or None,
            tags=form.tags,
            at=self._parse_when(form),
            variants=self._variants_for(form),
            repeat=build_repeat(form),
        )

    def _save(self, mode: str, form: Form) -> Outcome:
        """Runs in a worker: read images, then create or edit through the queue rules."""
        queue = self.ctx.queue()
        at = self._parse_when(form)
        if self.post_id is None:
            images = []
            for raw in form.images:
                path = self._image_path(raw)
                try:
                    images.append(ImageInput(filename=path.name, data=path.read_bytes()))
                except OSError as exc:
                    raise ValidationError(
                        "file_unreadable", field="image", path=raw, reason=os_reason(exc)
                    ) from None
            request = self._request(form, images)
            return queue.create(
                request, submit=mode in ("submit", "approve"), approve=mode == "approve"
            )
        outcome = queue.edit(
            self.post_id,
            text=form.text,
            title=form.title,
            link=form.link,
            channels=form.channels,
            campaign=form.campaign,
            tags=form.tags,
            variants=self._variants_for(form),
        )
        warnings = list(outcome.warnings)
        if at is not None and form.when.strip() != form.original_when:
            warnings += queue.schedule(self.post_id, at).warnings
        if mode == "submit" and outcome.post.state == PostState.DRAFT:
            queue.submit(self.post_id)
        if mode == "approve":
            warnings += queue.approve(self.post_id).warnings
        post, _deliveries = queue.get(self.post_id)
        return Outcome([post], warnings)

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
