"""What every command shares: global options, the lazily opened config and database."""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import cached_property
from typing import Any, NoReturn

from sqlalchemy import Engine

from content.accounts import Access, identify, os_login
from content.db import open_database, resolve_url
from content.errors import LoaError
from content.i18n import LANGUAGES, _, choose_language
from content.messages import say
from content.queue import Queue
from scheduler.config import Config, find_config, load


class CommandParser(argparse.ArgumentParser):
    """argparse with one-line errors (``loa post add: error: ...``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def common_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """``--db``, ``--config`` and ``--as``, accepted before or after the command."""
    default: Any = None if defaults else argparse.SUPPRESS
    parser.add_argument(
        "--db", default=default, help="SQLite file or database URL (default: LOA_DB or ./loa.db)"
    )
    parser.add_argument(
        "--config", default=default, help="channels.toml (default: LOA_CONFIG or ./channels.toml)"
    )
    parser.add_argument(
        "--as",
        dest="as_user",
        default=default,
        metavar="USER",
        help="act for another account (admins only, once accounts exist; both names are audited)",
    )


def subcommand_parent() -> argparse.ArgumentParser:
    """A parent parser that lets the global options follow a subcommand too."""
    parent = argparse.ArgumentParser(add_help=False)
    common_options(parent, defaults=False)
    return parent


def unattended(cmd: argparse.ArgumentParser) -> None:
    """Mark ``cmd`` as run by the system, not a person (the daemon, the sandbox, the demo).

    Once accounts exist every other command that opens the database first checks that the
    OS user has an active account; these do not act for anyone (the daemon publishes only
    what was approved) and run as the service user.
    """
    cmd.set_defaults(unattended=True)


class Context:
    """The config, database and queue of one command run, opened only when needed."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    @cached_property
    def config(self) -> Config:
        """channels.toml, parsed and validated."""
        return load(find_config(getattr(self.args, "config", None)))

    @cached_property
    def _database(self) -> Engine:
        return open_database(resolve_url(getattr(self.args, "db", None)))

    @property
    def engine(self) -> Engine:
        """The database, upgraded to the newest schema.

        For a person's command, who he is is checked first (see :attr:`access`): an OS user
        without an account is refused before anything is read or written.
        """
        if not getattr(self.args, "unattended", False):
            _ = self.access
        return self._database

    @cached_property
    def access(self) -> Access:
        """Who is acting and what he may touch: the OS account, or ``--as`` for admins."""
        return identify(
            self._database,
            self.config.directory(),
            os_user=os_login(),
            as_user=getattr(self.args, "as_user", None),
        )

    @property
    def actor(self) -> str:
        """The name actions count as (see :class:`content.accounts.Access`)."""
        return self.access.actor

    @cached_property
    def queue(self) -> Queue:
        """The queue rules, acting as :attr:`access`."""
        return Queue(self.engine, self.config.directory(), access=self.access)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout (UTF-8, Vietnamese kept readable)."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


#: Control characters as visible symbols (U+2400 "control pictures"; C1 ones as U+FFFD):
#: a title from a feed or a platform's error may hold escape sequences that would recolour,
#: retitle or clear the officer's terminal. Newlines and tabs stay.
_CONTROL_PICTURES = {
    **{code: chr(0x2400 + code) for code in range(0x20) if code not in (0x09, 0x0A)},
    0x7F: "\u2421",
    **{code: "\ufffd" for code in range(0x80, 0xA0)},
}


def for_terminal(text: str) -> str:
    """``text`` safe to print: control characters shown as symbols, never obeyed."""
    return text.translate(_CONTROL_PICTURES)


def warn(message: str) -> None:
    """A warning on stderr, in the office's language: shown, but nothing was refused."""
    print(f"{_('warning')}: {say(message)}", file=sys.stderr)


def office_language(args: argparse.Namespace) -> str:
    """The language the CLI speaks, as the TUI chooses it: ``LOA_LANG``, else the office's
    (channels.toml), else Vietnamese.

    A config that cannot be read here is left to the command to report (it may not need
    one at all): the language then falls back as if none were configured.
    """
    if os.environ.get("LOA_LANG", "").strip().lower()[:2] in LANGUAGES:
        return choose_language(None)  # no need to read the config
    configured: str | None
    try:
        configured = load(find_config(getattr(args, "config", None))).office.language
    except LoaError:
        configured = None
    return choose_language(configured)
