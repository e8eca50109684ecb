"""`loa tui`: open the terminal UI. Textual is imported only when the command runs, so the
rest of the `loa` command (and the daemon) never loads it."""

from __future__ import annotations

import argparse

from scheduler.cli.common import subcommand_parent


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``tui`` command."""
    cmd = subparsers.add_parser(
        "tui", parents=[subcommand_parent()], help="open the terminal UI (queue, review, posts)"
    )
    cmd.add_argument("--lang", choices=("vi", "en"), help="language (default: LOA_LANG or config)")
    cmd.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the app until the user quits."""
    import tui  # lazily: importing textual costs time and the CLI must not depend on it

    return tui.run(
        getattr(args, "db", None),
        getattr(args, "config", None),
        getattr(args, "as_user", None),
        getattr(args, "lang", None),
    )
