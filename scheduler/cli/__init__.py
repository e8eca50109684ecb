"""`loa`: a thin command line over the library. Each command module parses its
arguments, calls content/ or scheduler/ and prints the result; nothing else."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy.exc import DBAPIError

from content.errors import LoaError
from content.i18n import _, language, set_language
from content.messages import render as render_error
from content.messages import render_details
from scheduler.cli.common import CommandParser, common_options, office_language

#: Command modules, each with ``register(subparsers)``; the order is the help's order.
COMMAND_MODULES = (
    "demo",
    "posts",
    "channels",
    "feeds",
    "inbox",
    "daemon",
    "webhooks",
    "doctor",
    "render",
    "report",
    "units",
    "calendar",
    "media",
    "sandbox",
    "tui",
    "web",
    "users",
    "audit",
    "db",
)


def _version() -> str:
    try:
        return version("loa")
    except PackageNotFoundError:  # running from a checkout without installing
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    """The whole `loa` command tree."""
    parser = CommandParser(
        prog="loa",
        description="Schedule public-awareness posts to Facebook Pages and Zalo OAs.",
    )
    parser.add_argument("--version", action="version", version=f"loa {_version()}")
    common_options(parser, defaults=True)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"scheduler.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `loa` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    # Errors and warnings in the office's language, as the TUI speaks it; the caller's
    # language comes back afterwards (main() also runs inside tests and other programs).
    before = language()
    set_language(office_language(args))
    try:
        return _run(handler, args)
    finally:
        set_language(before)


def _run(handler: Any, args: argparse.Namespace) -> int:
    try:
        return int(handler(args) or 0)
    except LoaError as exc:
        print(f"loa: {_('error')}: {render_error(exc)}", file=sys.stderr)
        for line in render_details(exc):
            print(f"  {line}", file=sys.stderr)
        return exc.exit_code
    except DBAPIError as exc:
        # Not the user's input, but still one readable line rather than a traceback.
        reason = str(exc.orig or exc).strip().splitlines()[0]
        print(f"loa: database error: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `loa post list | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
