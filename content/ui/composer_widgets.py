"""The composer's widgets: its form's fields, laid out in a main column and a side column,
and the dialog that gives one channel its own text. The screen (content.ui.composer)
composes them and reacts to them; what they hold is read into a Form
(content.ui.composer_form).
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Input,
    Label,
    Select,
    Static,
    TabbedContent,
    TabPane,
    TextArea,
)
from textual.widgets.selection_list import Selection

from content.ui.base import LoaModal
from content.ui.composer_form import KIND_LABELS
from content.ui.context import LoaContext
from content.ui.dialogs import FieldError
from content.ui.fmt import WEEKDAYS, date_placeholder, time_placeholder
from content.ui.i18n import _
from content.ui.preview import ImagePreview
from content.ui.ticks import TickList


def main_column(uploads: Path | None) -> ComposeResult:
    """Title, text with its counter and warnings, link and images (``uploads``: in `loa
    web`, the officer's uploaded photos are offered instead of paths)."""
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
        if uploads is None:
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


def side_column(ctx: LoaContext) -> ComposeResult:
    """Channels, time, repeat, campaign and tags on one tab; the post's look on the other."""
    # At 80x24 the side column stands beside the text: its Preview tab shows the
    # post as it will look while the officer types.
    with TabbedContent(id="composer-side", initial="side-settings"):
        with TabPane(_("Channels, time"), id="side-settings"):
            with VerticalScroll(id="composer-settings"):
                yield from _settings(ctx)
        with TabPane(_("Preview"), id="side-look"):
            with VerticalScroll(id="composer-look-scroll"):
                yield Static(
                    _("Choose a channel to see how the post will look."),
                    id="composer-look",
                )


def channel_choices(ctx: LoaContext) -> list[Selection[str]]:
    """The channels and groups offered: only what this account may write to (a ward
    officer is not offered the province's Pages; the queue would refuse them anyway)."""
    directory = ctx.directory
    mine = set(ctx.channel_ids())
    selections: list[Selection[str]] = [
        Selection(f"{cid} · {KIND_LABELS.get(info.kind, info.kind)}", cid, False)
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
    return selections


def _settings(ctx: LoaContext) -> ComposeResult:
    yield Label(_("Channels and groups"), classes="form-label")
    yield TickList[str](*channel_choices(ctx), id="composer-channels")
    yield FieldError(id="error-channel")
    yield Label(_("When (office time)"), classes="form-label")
    with Horizontal(id="composer-when-row"):
        yield Input(id="when", placeholder=time_placeholder())
        yield Button(_("Now"), id="now")
    yield Button(_("Next free slot"), id="slot", disabled=not ctx.directory.office.posting_slots)
    yield Static("", id="when-hint", classes="field-hint")
    yield FieldError(id="error-at")
    yield from _repeat()
    yield Label(_("Campaign (optional)"), classes="form-label")
    yield Input(id="campaign", placeholder=_("e.g. Online scams 2026"))
    yield Label(_("Tags, separated by commas"), classes="form-label")
    yield Input(id="tags", placeholder=_("scam, elderly"))


def _repeat() -> ComposeResult:
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
            yield Input(id="repeat-every", value="7", restrict=r"\d*", max_length=3)
            yield Label(_("days"), classes="inline-label")
        yield TickList[int](
            *[Selection(_(name), i, False) for i, name in enumerate(WEEKDAYS)],
            id="repeat-weekdays",
        )
        yield Label(_("Until (date)"), classes="form-label")
        yield Input(id="repeat-until", placeholder=date_placeholder())
    yield FieldError(id="error-repeat")


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
