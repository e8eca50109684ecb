"""The ``?`` screen: what the current screen is for and every key it answers to."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Markdown

from content.ui.base import LoaModal
from content.ui.fmt import DELIVERY_SYMBOLS, delivery_state
from content.ui.i18n import _


def _keys_table(screen: Screen[object]) -> str:
    """A Markdown table of the screen's and the app's keys, as the Footer names them."""
    lines = [f"| {_('Key')} | {_('What it does')} |", "|---|---|"]
    seen: set[str] = set()
    app = screen.app
    for node in (screen, app):
        for key, bindings in node._bindings.key_to_bindings.items():
            for binding in bindings:
                if not binding.description or binding.action in seen:
                    continue
                seen.add(binding.action)
                shown = binding.key_display or app.get_key_display(binding)
                lines.append(f"| `{shown or key}` | {binding.description} |")
    return "\n".join(lines)


class HelpScreen(LoaModal[None]):
    """Help for the screen underneath, in the current language."""

    BINDINGS = [Binding("escape,question_mark,f1,q", "close", "Close")]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        purpose = getattr(self.under, "HELP_TEXT", "")
        legend = "\n".join(
            f"- `{symbol}` {delivery_state(state)}" for state, symbol in DELIVERY_SYMBOLS.items()
        )
        text = "\n\n".join(
            part
            for part in (
                f"# {_('Help')}: {self.under.title or ''}",
                _(purpose) if purpose else "",
                f"## {_('Keys')}",
                _keys_table(self.under),
                _("The mouse works too: click a row, a button or a key in the bar at the bottom."),
                f"## {_('Channel symbols')}",
                legend,
                _("Press Ctrl+P to search every command by name. Press Escape to close this help."),
            )
            if part
        )
        with VerticalScroll(classes="dialog help"):
            yield Markdown(text)

    def action_close(self) -> None:
        self.dismiss(None)
