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


def _keys_list(screen: Screen[object]) -> str:
    """A Markdown list of Loa's own keys on ``screen`` and app-wide, as the Footer names them.

    Only bindings declared by Loa's classes are listed: Textual's own (Tab, Ctrl+C...) are
    standard and would only crowd the list.
    """
    lines: list[str] = []
    seen: set[str] = set()
    app = screen.app
    for node in (screen, app):
        declared = {
            binding.action
            for cls in type(node).__mro__
            if cls.__module__.startswith(("content.ui", "tui"))
            for binding in cls.__dict__.get("BINDINGS", [])
            if isinstance(binding, Binding)
        }
        for key, bindings in node._bindings.key_to_bindings.items():
            for binding in bindings:
                if binding.action not in declared or binding.action in seen:
                    continue
                if not binding.description:
                    continue
                seen.add(binding.action)
                shown = binding.key_display or app.get_key_display(binding) or key
                lines.append(f"- `{shown}`  {binding.description}")
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
                _keys_list(self.under),
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
