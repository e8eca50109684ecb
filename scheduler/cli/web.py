"""`loa web`: the terminal UI in a web browser, for officers without a terminal.

textual-serve runs a small web server; each browser tab that connects starts its own
``loa tui`` process (a shell command) and relays its screen over a websocket. Nothing of
Loa runs in the server itself, so the TUI behaves exactly as in a terminal. textual-serve
(and with it textual) is imported only when the command runs.

There is no login page: whoever can open the address acts as ``--as``. Hence the default
host 127.0.0.1 (reach it through an SSH tunnel); another host is served with a warning.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import shlex
import sys

from content.errors import LoaError
from scheduler.cli.common import subcommand_parent, warn

DEFAULT_PORT = 8000


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``web`` command."""
    cmd = subparsers.add_parser(
        "web",
        parents=[subcommand_parent()],
        help="serve the terminal UI to a web browser (one app per browser tab)",
    )
    cmd.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; there is no login, see the docs)",
    )
    cmd.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})"
    )
    cmd.add_argument(
        "--public-url",
        help="the address browsers use, when a reverse proxy sits in front (https://...)",
    )
    cmd.add_argument("--lang", choices=("vi", "en"), help="language (default: LOA_LANG or config)")
    cmd.set_defaults(handler=run)


def is_loopback(host: str) -> bool:
    """True when ``host`` is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_command(config: str, as_user: str, lang: str | None) -> str:
    """The shell command textual-serve runs for each browser tab: ``loa tui`` as ``as_user``.

    The database URL is not on it (it may hold a password, and command lines are visible to
    every local user): the app process inherits it as DATABASE_URL instead.
    """
    parts = [sys.executable, "-m", "scheduler.cli", "tui", "--config", config, "--as", as_user]
    if lang:
        parts += ["--lang", lang]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    """Check the config and database once, then serve until Ctrl+C."""
    from content.db import open_database, resolve_url
    from scheduler.config import find_config, load

    config_path = find_config(getattr(args, "config", None)).resolve()
    cfg = load(config_path)
    url = resolve_url(getattr(args, "db", None))
    # Open (and upgrade) it here: a broken database is one error now, not one per tab.
    open_database(url).dispose()
    os.environ["DATABASE_URL"] = url  # inherited by each tab's `loa tui` process
    try:
        from textual_serve.server import Server
    except ImportError:
        raise LoaError(
            "textual-serve is not installed; install Loa with its dependencies"
        ) from None
    if not is_loopback(args.host):
        warn(
            f"serving on {args.host}: anyone who can reach port {args.port} acts as "
            f"{args.as_user or getpass.getuser()}; put it behind a login (reverse proxy)"
        )
    command = app_command(
        str(config_path), getattr(args, "as_user", None) or getpass.getuser(), args.lang
    )
    server = Server(
        command,
        host=args.host,
        port=args.port,
        title=f"Loa · {cfg.office.name}",
        public_url=args.public_url,
    )
    server.serve()
    return 0
