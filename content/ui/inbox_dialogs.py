"""The inbox's dialogs: answer a citizen, give a thread to an officer or unit, tag it.

Each dialog makes its change itself (through the library, off the UI thread) and stays open
when it is refused, with the reason under the form and what was typed kept: a reply that
took five minutes to write is not lost because the platform said no. It closes with the
thread as it is after the change.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    Button,
    Input,
    Label,
    Select,
    Static,
    TextArea,
)

from content.inbox import PRIVATE, PUBLIC, REPLY_LIMITS, TAGS, ThreadSummary
from content.models import ThreadKind
from content.ui.base import ActionFinished, LoaModal
from content.ui.dialogs import FieldError
from content.ui.fmt import number, when
from content.ui.i18n import _
from content.ui.inbox_fmt import (
    LATE_STYLE,
    WARN_STYLE,
    kind_long,
    platform_of,
    rule_words,
    span,
    tag_label,
    window_closed,
)
from content.ui.messages import error_in_words
from content.ui.ticks import TickList

#: The reply to send: (text, mode) -> the thread after it was answered.
Send = Callable[[str, str | None], ThreadSummary]


class _ChangeDialog(LoaModal[ThreadSummary | None]):
    """A dialog whose OK runs ``change`` and closes with its result, or shows why not."""

    #: What the OK button said before the change started (it says "Wait…" meanwhile).
    ok_label = ""

    def _run(self, what: str, change: Callable[[], ThreadSummary]) -> None:
        self.query_one("#dialog-error", FieldError).update("")
        ok = self.query_one("#ok", Button)
        # Said on the button itself: a platform may take seconds to answer.
        self.ok_label, ok.label, ok.disabled = str(ok.label), _("Wait…"), True
        self.run_change(what, change)

    def on_action_finished(self, message: ActionFinished) -> None:
        ok = self.query_one("#ok", Button)
        ok.label, ok.disabled = self.ok_label, False
        if message.error is None:
            self.dismiss(message.result)
            return
        self.query_one("#dialog-error", FieldError).update(error_in_words(message.error))

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)

    @staticmethod
    def buttons(ok: str) -> ComposeResult:
        """The error line and the OK / Cancel buttons every dialog here ends with."""
        yield FieldError(id="dialog-error")
        with Horizontal(classes="dialog-buttons"):
            yield Button(ok, variant="primary", id="ok")
            yield Button(_("Cancel"), id="cancel")


def window_sentence(summary: ThreadSummary, mode: str | None, now: datetime, tz: ZoneInfo) -> Text:
    """What the platform allows for a reply in ``mode`` now, in a sentence, coloured when
    the window is closing or closed."""
    window = summary.window
    platform = platform_of(summary.kind)
    if summary.kind == ThreadKind.COMMENTS.value and mode != PRIVATE:
        return Text(_("A public reply under the comment can be sent at any time."))
    if window.rule == "none":
        return Text(_("The citizen has not written yet: there is nothing to answer."), LATE_STYLE)
    if summary.kind == ThreadKind.COMMENTS.value and window.private_used:
        return Text(
            _("This comment already had its one private reply: answer it publicly."), LATE_STYLE
        )
    if window_closed(window, summary.kind, now):
        return Text(
            _(
                "{platform}'s reply window closed at {time}: {rule}. {platform} will refuse "
                "this reply."
            ).format(
                platform=platform, time=when(window.closes_at, tz), rule=rule_words(window.rule)
            ),
            LATE_STYLE,
        )
    assert window.closes_at is not None
    left = window.closes_at - now
    return Text(
        _("{platform} accepts a reply until {time} ({left} left): {rule}.").format(
            platform=platform,
            time=when(window.closes_at, tz),
            left=span(left),
            rule=rule_words(window.rule),
        ),
        WARN_STYLE if left.total_seconds() < 6 * 3600 else "",
    )


class ReplyDialog(_ChangeDialog):
    """Write the answer, see the platform's limit and window, send it."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, summary: ThreadSummary, send: Send, now: datetime, tz: ZoneInfo) -> None:
        super().__init__()
        self.summary = summary
        self.send = send
        self.now = now
        self.tz = tz
        self.limit = REPLY_LIMITS[ThreadKind(summary.kind)]
        #: Whether a send was tried: a refused reply is kept in the thread, to be shown.
        self.tried = False
        self.comments = summary.kind == ThreadKind.COMMENTS.value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog reply"):
            yield Label(
                _("Answer thread {id}: {kind}").format(
                    id=self.summary.id, kind=kind_long(self.summary.kind)
                ),
                classes="dialog-title",
            )
            if self.comments:
                # A Select, not radio buttons: the chosen way is written out, not only coloured.
                # Private is offered while Facebook takes it: once per comment, within 7 days.
                window = self.summary.window
                private_possible = not window_closed(window, self.summary.kind, self.now)
                ways = [(_("Publicly, under the comment"), PUBLIC)]
                if private_possible:
                    ways.append((_("Privately, in Messenger (once, within 7 days)"), PRIVATE))
                yield Select(ways, value=PUBLIC, allow_blank=False, id="reply-mode")
            yield Static(self._window_text(), id="reply-window")
            yield TextArea(id="reply-text", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="reply-count")
            yield from self.buttons(_("Send") + " (Ctrl+S)")

    def on_mount(self) -> None:
        self._count()
        self.query_one("#reply-text", TextArea).focus()

    def mode(self) -> str | None:
        """The reply mode chosen (None: the only one there is)."""
        if not self.comments:
            return None
        return str(self.query_one("#reply-mode", Select).value)

    def _window_text(self) -> Text:
        # Before the radio buttons exist (compose) a comment is answered publicly.
        mode = self.mode() if self.is_mounted else (PUBLIC if self.comments else None)
        return window_sentence(self.summary, mode, self.now, self.tz)

    @on(Select.Changed, "#reply-mode")
    def _mode_changed(self) -> None:
        self.query_one("#reply-window", Static).update(self._window_text())

    @on(TextArea.Changed, "#reply-text")
    def _count(self) -> None:
        # Counted as the library counts: NFC, without the spaces around.
        text = self.query_one("#reply-text", TextArea).text
        length = len(unicodedata.normalize("NFC", text).strip())
        counter = _("{n} of {limit} characters ({platform} takes at most {limit})").format(
            n=number(length), limit=number(self.limit), platform=platform_of(self.summary.kind)
        )
        self.query_one("#reply-count", Static).update(
            Text(counter, LATE_STYLE if length > self.limit else "")
        )

    @on(Button.Pressed, "#ok")
    def action_send(self) -> None:
        """Send the reply (the dialog stays open if it is refused)."""
        if self.query_one("#ok", Button).disabled:
            return  # already on its way
        text = self.query_one("#reply-text", TextArea).text
        mode = self.mode()
        self.tried = True
        self._run("reply", lambda: self.send(text, mode))


class AssignDialog(_ChangeDialog):
    """Give the thread to an officer (by account name) and/or a unit holding its channel."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        summary: ThreadSummary,
        units: list[str],
        me: str,
        assign: Callable[[str | None, str | None], ThreadSummary],
    ) -> None:
        super().__init__()
        self.summary = summary
        self.units = units
        self.me = me
        self.assign = assign

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Assign thread {id}").format(id=self.summary.id), classes="dialog-title")
            yield Label(_("Officer (account name; empty to assign a unit only):"))
            yield Input(self.summary.assignee or self.me, id="assign-officer")
            yield Label(_("Unit:"), classes="form-label")
            yield Select(
                [(u, u) for u in self.units],
                prompt=_("(no unit)"),
                value=self.summary.unit if self.summary.unit in self.units else Select.NULL,
                id="assign-unit",
            )
            yield from self.buttons(_("Assign"))

    def on_mount(self) -> None:
        self.query_one("#assign-officer", Input).focus()

    @on(Input.Submitted, "#assign-officer")
    @on(Button.Pressed, "#ok")
    def _accept(self) -> None:
        officer = self.query_one("#assign-officer", Input).value.strip() or None
        chosen = self.query_one("#assign-unit", Select).value
        unit = None if chosen is Select.NULL else str(chosen)
        if officer is None and unit is None:
            error = self.query_one("#dialog-error", FieldError)
            error.update(_("Name an officer or choose a unit."))
            return
        self._run("assign", lambda: self.assign(officer, unit))


class TagDialog(_ChangeDialog):
    """Tick the thread's tags (tip, scam report, question, complaint, spam)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save tags"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        summary: ThreadSummary,
        tag: Callable[[list[str], list[str]], ThreadSummary],
    ) -> None:
        super().__init__()
        self.summary = summary
        self.tag = tag

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Tags of thread {id}").format(id=self.summary.id), classes="dialog-title")
            yield Label(_("Space or Enter ticks a tag; Ctrl+S saves."))
            yield TickList[str](
                *[(tag_label(t), t, t in self.summary.tags) for t in TAGS], id="tag-list"
            )
            yield from self.buttons(_("Save tags") + " (Ctrl+S)")

    def on_mount(self) -> None:
        self.query_one("#tag-list", TickList).focus()

    @on(Button.Pressed, "#ok")
    def action_save(self) -> None:
        """Save the ticked tags."""
        chosen = set(self.query_one("#tag-list", TickList).selected)
        add = [t for t in TAGS if t in chosen]
        remove = [t for t in TAGS if t not in chosen and t in self.summary.tags]
        self._run("tag", lambda: self.tag(add, remove))
