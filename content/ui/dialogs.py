"""Small dialogs: confirm a step, or ask for one line of text (a reason, a comment, a time)."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.visual import VisualType
from textual.widgets import Button, Input, Label, Static

from content.ui.base import LoaModal
from content.ui.i18n import _


class FieldError(Static):
    """A form's error line, shown only while it says something.

    CSS ``:empty`` means "no child widgets", which a Static never has, so the stylesheet's
    ``.field-error:empty`` rule hid every error line, said or not; this one shows itself
    (an inline style, above any rule) when given words and hides again when cleared.
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__("", id=id, classes="field-error")
        self.display = False

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        """Show ``content`` (hidden when it is empty)."""
        super().update(content, layout=layout)
        self.display = bool(str(content).strip())


class ConfirmDialog(LoaModal[bool]):
    """Yes or no, with the consequence spelled out in ``message``."""

    BINDINGS = [Binding("escape", "no", "Cancel"), Binding("y", "yes", "Yes", show=False)]

    def __init__(self, title: str, message: str, yes_label: str) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.yes_label = yes_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.message, classes="dialog-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes_label, variant="error", id="yes")
                yield Button(_("No, go back"), id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class PromptDialog(LoaModal[str | None]):
    """One line of text; ``check`` returns an error to show under the field, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        label: str,
        *,
        ok_label: str,
        value: str = "",
        placeholder: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.label = label
        self.ok_label = ok_label
        self.value = value
        self.placeholder = placeholder
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.label)
            yield Input(self.value, placeholder=self.placeholder, id="answer")
            yield FieldError(id="answer-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.ok_label, variant="primary", id="ok")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    def _accept(self) -> None:
        value = self.query_one("#answer", Input).value
        problem = self.check(value) if self.check else None
        if problem:
            self.query_one("#answer-error", Static).update(problem)
            return
        self.dismiss(value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._accept()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._accept()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
