"""The command palette (Ctrl+P) in the user's language."""

from __future__ import annotations

from rich.align import Align
from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.widgets.option_list import Option

from content.ui.i18n import _


class LoaCommandPalette(CommandPalette):
    """Textual's command palette, saying "No matches found" in the user's language.

    Textual writes that line in English inside ``_start_no_matches_countdown`` and offers
    no setting for it; this is that method of textual 8.2.8 (pinned in pyproject.toml) with
    the line through gettext. A Textual upgrade must check it still matches (the TUI test
    of the palette in Vietnamese fails otherwise).
    """

    def _start_no_matches_countdown(self, search_value: str) -> None:
        self._stop_no_matches_countdown()

        def _show_no_matches() -> None:
            # Only a search can find nothing; an empty query is browsing (nothing to say).
            if search_value:
                command_list = self.query_one(CommandList)
                command_list.add_option(
                    Option(
                        Align.center(Text(_("No matches found"), style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, _show_no_matches)
