"""What every command shares: global options, the lazily opened config and database."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from functools import cached_property
from typing import Any, NoReturn

from sqlalchemy import Engine

from content.db import open_database, resolve_url
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
        "--as", dest="as_user", default=default, metavar="USER", help="act as USER (audit log)"
    )


def subcommand_parent() -> argparse.ArgumentParser:
    """A parent parser that lets the global options follow a subcommand too."""
    parent = argparse.ArgumentParser(add_help=False)
    common_options(parent, defaults=False)
    return parent


class Context:
    """The config, database and queue of one command run, opened only when needed."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    @cached_property
    def config(self) -> Config:
        """channels.toml, parsed and validated."""
        return load(find_config(getattr(self.args, "config", None)))

    @cached_property
    def engine(self) -> Engine:
        """The database, upgraded to the newest schema."""
        return open_database(resolve_url(getattr(self.args, "db", None)))

    @property
    def actor(self) -> str:
        """Who is acting: ``--as`` or the OS user."""
        return getattr(self.args, "as_user", None) or getpass.getuser()

    @cached_property
    def queue(self) -> Queue:
        """The queue rules, acting as :attr:`actor`."""
        return Queue(self.engine, self.config.directory(), actor=self.actor)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout (UTF-8, Vietnamese kept readable)."""
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def warn(message: str) -> None:
    """A warning on stderr: shown, but nothing was refused."""
    print(f"warning: {message}", file=sys.stderr)
