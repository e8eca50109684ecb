"""Loa's terminal UI: where media officers write, review and follow their posts.

Run it as ``loa tui`` or ``python tui.py [--db PATH] [--config channels.toml] [--as USER]``.
The App only wires things together; the screens live in :mod:`content.ui`. Every database
call runs in a thread worker, so the screen never freezes while the daemon writes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache, partial
from pathlib import Path

from sqlalchemy import Engine
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

import content.ui
from content.accounts import WEB_SESSION_ENV, Access, identify, os_login
from content.health import Health
from content.office import ChannelDirectory
from content.times import utcnow
from content.ui.context import InboxWiring, LoaContext
from content.ui.i18n import _, choose_language, language, set_language, translated_bindings

CSS_DIR = Path(content.ui.__file__).resolve().parent


class LoaApp(App[None]):
    """The Loa terminal UI. Everything it needs is injected, so tests bring their own."""

    CSS_PATH = CSS_DIR / "loa.tcss"
    TITLE = "Loa"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        # F1 is the key the footer names: it works in a text field too, where "?" is typed
        # into the field. "?" stays as a shortcut where nothing is being typed.
        Binding("f1", "help", "Help", key_display="F1"),
        Binding("question_mark", "help", "Help", key_display="?", show=False),
        # Named in the language it switches to (Vietnamese catalogue: "English").
        Binding("f2", "switch_language", "Tiếng Việt", key_display="F2"),
        # Declared here (not left to Textual) so the Footer names it in the user's language.
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True),
    ]

    def __init__(
        self,
        engine: Engine,
        directory: ChannelDirectory,
        *,
        actor: str,
        access: Access | None = None,
        clock: Callable[[], datetime] = utcnow,
        lang: str | None = None,
        refresh_seconds: float = 3.0,
        resume_channel: Callable[[str], bool] | None = None,
        inbox: InboxWiring | None = None,
    ) -> None:
        set_language(lang or choose_language(directory.office.language))
        super().__init__()
        self._bindings = translated_bindings(self._bindings)
        self.ctx = LoaContext(
            engine,
            directory,
            actor,
            clock,
            resume_channel=resume_channel,
            refresh_seconds=refresh_seconds,
            access=access,
            inbox_wiring=inbox,
        )
        self.title = f"Loa · {directory.office.name}"
        #: Deliveries that failed or must be checked, shown in every screen's header.
        self.attention = 0
        #: The last health check (content.health), shown as the bar under every header;
        #: None until the first one has been read.
        self.health: Health | None = None

    def on_mount(self) -> None:
        from content.ui.queue_screen import QueueScreen

        self.push_screen(QueueScreen())
        # At once, not only after the first interval: the bar must not wait to say no
        # daemon runs.
        self._count_attention()
        self.set_interval(self.ctx.refresh_seconds, self._count_attention)

    @work(thread=True, exclusive=True, exit_on_error=False, group="attention")
    def _count_attention(self) -> None:
        """Re-read the queue's health for the bar and header (the queue counts attention too).

        Failed and to-check deliveries come from the same read, so the header's count and
        the bar agree; the account's units narrow both.
        """
        from content.health import read_health

        try:
            health = read_health(self.ctx.engine, self.ctx.clock(), visible=self.ctx.visible)
        except Exception:  # the database is away: the screens already say so; try next time
            return
        self.call_from_thread(self.set_health, health)

    def set_health(self, health: Health) -> None:
        """Show ``health`` as the bar under every screen's header."""
        from content.ui.base import LoaScreen

        self.health = health
        self.attention = health.failed + health.needs_review
        for screen in self.screen_stack:
            if isinstance(screen, LoaScreen):
                screen.show_health(health)

    def set_attention(self, count: int) -> None:
        """Show ``count`` in every screen's header."""
        from content.ui.base import LoaScreen

        if count == self.attention:
            return
        self.attention = count
        for screen in self.screen_stack:
            if isinstance(screen, LoaScreen):
                screen.show_attention(count)

    # ------------------------------------------------------------------ actions

    def action_help(self) -> None:
        """Explain the current screen and its keys."""
        from content.ui.help import HelpScreen

        if type(self.screen).__name__ != "HelpScreen":
            self.push_screen(HelpScreen(self.screen))

    def action_switch_language(self) -> None:
        """Vietnamese <-> English; the screens are rebuilt in the new language."""
        self.change_language("en" if language() == "vi" else "vi")

    def change_language(self, code: str) -> None:
        """Show every label in ``code`` ("vi" or "en") from now on."""
        from content.ui.queue_screen import QueueScreen

        set_language(code)
        self._bindings = translated_bindings(type(self)._merged_bindings or self._bindings)
        # Rebuild from the home screen: labels are read when widgets are composed.
        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.switch_screen(QueueScreen())
        self.notify(_("Language: English") if code == "en" else _("Language: Vietnamese"))

    def action_command_palette(self) -> None:
        """Search every command by name (Ctrl+P), with the prompt in the user's language."""
        from textual.command import CommandPalette

        from content.ui.palette import LoaCommandPalette

        # is_open() is typed for App[object]; this App returns None.
        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            self.push_screen(
                LoaCommandPalette(id="--command-palette", placeholder=_("Search for commands…"))
            )

    def action_new_post(self) -> None:
        """Write a new post (from anywhere)."""
        from content.ui.composer import ComposerScreen

        self.push_screen(ComposerScreen())

    def action_review(self) -> None:
        """The posts waiting for approval."""
        from content.ui.review import ReviewScreen

        self.push_screen(ReviewScreen())

    def action_attention(self) -> None:
        """Back to the queue, showing only what needs attention."""
        from content.ui.queue_screen import QueueScreen

        while len(self.screen_stack) > 2:
            self.pop_screen()
        if isinstance(self.screen, QueueScreen):
            self.screen.action_attention()

    def action_month(self) -> None:
        """The month at a glance (from anywhere), over the queue."""
        from content.ui.calendar import MONTH, CalendarScreen

        while len(self.screen_stack) > 2:
            self.pop_screen()
        self.push_screen(CalendarScreen(MONTH))

    def _from_queue(self, action: str) -> None:
        """Open a screen the queue offers (palette commands work from anywhere)."""
        from content.ui.queue_screen import QueueScreen

        while len(self.screen_stack) > 2:
            self.pop_screen()
        if isinstance(self.screen, QueueScreen):
            getattr(self.screen, f"action_{action}")()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette (Ctrl+P): Loa's own commands first, in the user's language."""
        yield SystemCommand(_("New post"), _("Write a new post"), self.action_new_post)
        yield SystemCommand(
            _("Review"), _("Approve or send back posts in review"), self.action_review
        )
        yield SystemCommand(
            _("Needs attention"),
            _("Posts whose delivery failed or must be checked"),
            self.action_attention,
        )
        for title, help_text, action in (
            (_("Week"), _("The week at a glance"), "week"),
            (_("Channels"), _("Channels and their health"), "channels"),
            (_("Engagement"), _("What published posts achieved"), "engagement"),
            (_("Inbox"), _("Citizens' messages and comments: read, answer, assign"), "inbox"),
        ):
            yield SystemCommand(title, help_text, partial(self._from_queue, action))
        yield SystemCommand(
            _("Month"), _("The month at a glance; move posts to another day"), self.action_month
        )
        yield SystemCommand(
            _("Switch language"), _("Vietnamese or English"), self.action_switch_language
        )
        yield SystemCommand(_("Help"), _("Keys of this screen"), self.action_help)
        yield SystemCommand(_("Quit"), _("Leave Loa"), self.exit)


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python tui.py`` (the same as ``loa tui``)."""
    parser = argparse.ArgumentParser(prog="tui.py", description="Loa's terminal UI.")
    parser.add_argument("--db", help="SQLite file or database URL (default: LOA_DB or ./loa.db)")
    parser.add_argument("--config", help="channels.toml (default: LOA_CONFIG or ./channels.toml)")
    parser.add_argument("--as", dest="as_user", metavar="USER", help="act as USER (audit log)")
    parser.add_argument("--lang", choices=("vi", "en"), help="language (default: LOA_LANG)")
    return parser


def run(
    db: str | None = None,
    config: str | None = None,
    as_user: str | None = None,
    lang: str | None = None,
) -> int:
    """Open the config and database, then run the app until the user quits."""
    from content.db import open_database, resolve_url
    from scheduler.config import find_config, load
    from scheduler.dispatch import resume_channel
    from scheduler.inbox_jobs import inbox_sealer
    from scheduler.inbox_reply import answer

    cfg = load(find_config(config))
    engine = open_database(resolve_url(db))
    directory = cfg.directory()
    try:
        # A `loa web` tab is whoever signed in: the server hands the session to its process.
        access = identify(
            engine,
            directory,
            os_user=os_login(),
            as_user=as_user,
            web_token=os.environ.get(WEB_SESSION_ENV) or None,
        )
        LoaApp(
            engine,
            directory,
            actor=access.actor,
            access=access,
            lang=lang or choose_language(cfg.office.language),
            resume_channel=lambda channel: resume_channel(engine, channel),
            inbox=InboxWiring(
                # Read once, when the inbox is first opened (the key file, its fingerprint).
                sealer=cache(partial(inbox_sealer, engine, cfg)),
                settings=cfg.inbox.settings(cfg.channels),
                send_reply=lambda box, thread, text, mode, to: answer(
                    box, cfg, thread, text, mode=mode, to=to
                ),
            ),
        ).run()
    finally:
        engine.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python tui.py``: one-line errors and exit code 2, like the ``loa`` command."""
    from content.errors import LoaError

    args = build_parser().parse_args(argv)
    try:
        return run(args.db, args.config, args.as_user, args.lang)
    except LoaError as exc:
        print(f"loa tui: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
