"""`loa web`: the terminal UI in a web browser, for officers without a terminal.

Each browser signs in with a Loa account (``loa users add`` / ``loa users passwd``); each
tab then runs its own ``loa tui`` process as that account, relayed over a WebSocket by
textual-serve (see :mod:`scheduler.web.server`). The server refuses requests whose Host or
Origin is not one of its own addresses. textual-serve (and with it aiohttp) is imported only
when the command runs.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from urllib.parse import urlsplit

from content.errors import LoaError
from content.messages import Notice
from scheduler.cli.common import subcommand_parent, warn
from scheduler.web.guard import allowed_hosts, is_loopback, parse_host_rule

DEFAULT_PORT = 8000

__all__ = ["DEFAULT_PORT", "app_command", "is_loopback", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``web`` command."""
    cmd = subparsers.add_parser(
        "web",
        parents=[subcommand_parent()],
        help="serve the terminal UI to signed-in web browsers (one app per browser tab)",
    )
    cmd.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; behind a reverse proxy, keep it)",
    )
    cmd.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})"
    )
    cmd.add_argument(
        "--public-url",
        help="the address browsers use when a reverse proxy sits in front (https://...); "
        "its host is allowed, and https makes the session cookie Secure",
    )
    cmd.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="another name browsers may use to reach the server (repeatable)",
    )
    cmd.add_argument(
        "--upload-dir",
        metavar="DIR",
        help="where uploaded photos are kept, one private directory per account "
        "(default: ~/.local/share/loa/web-uploads)",
    )
    cmd.add_argument("--lang", choices=("vi", "en"), help="language (default: LOA_LANG or config)")
    cmd.set_defaults(handler=run)


def app_command(config: str, lang: str | None) -> str:
    """The shell command textual-serve runs for each browser tab: ``loa tui``.

    Who it runs as, the database URL and the upload directory are not on it (command lines
    are visible to every local user): the process gets them in its environment.
    """
    parts = [sys.executable, "-m", "scheduler.cli", "tui", "--config", config]
    if lang:
        parts += ["--lang", lang]
    return shlex.join(parts)


def page_language(flag: str | None, configured: str | None) -> str:
    """``--lang``, else ``LOA_LANG``, else the office's language, else Vietnamese."""
    for candidate in (flag or "", os.environ.get("LOA_LANG", ""), configured or ""):
        code = candidate.strip().lower()[:2]
        if code in ("vi", "en"):
            return code
    return "vi"


def _check_public_url(url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LoaError("public_url_format", field="--public-url", url=url)


def run(args: argparse.Namespace) -> int:
    """Check the config, database and accounts once, then serve until Ctrl+C."""
    from pathlib import Path

    from content.accounts import WEB_SESSION_ENV, Accounts, unenforced
    from content.db import open_database, resolve_url
    from scheduler.config import find_config, load
    from scheduler.web import uploads

    if getattr(args, "as_user", None):
        raise LoaError("web_no_as")
    _check_public_url(args.public_url)
    for raw in args.allowed_host:
        try:
            parse_host_rule(raw)
        except ValueError:
            raise LoaError("allowed_host_format", field="--allowed-host", text=raw) from None
    config_path = find_config(getattr(args, "config", None)).resolve()
    cfg = load(config_path)
    url = resolve_url(getattr(args, "db", None))
    # Opened (and upgraded) here: a broken database is one error now, not one per tab.
    engine = open_database(url)
    views = Accounts(engine, cfg.directory(), by=unenforced("loa web")).all()
    if not any(v.active and v.has_password for v in views):
        engine.dispose()
        raise LoaError("web_no_account")
    os.environ["DATABASE_URL"] = url  # inherited by each tab's `loa tui` process
    os.environ.pop(WEB_SESSION_ENV, None)  # only ever the tab's own session
    try:
        from scheduler.web.server import LoaWebServer
    except ImportError:
        raise LoaError("web_no_textual_serve") from None
    allowed = allowed_hosts(args.host, args.port, args.public_url, args.allowed_host)
    if args.host in ("0.0.0.0", "::", "") and not (args.public_url or args.allowed_host):
        warn(Notice("web_any_address", host=args.host or "0.0.0.0"))
    if not is_loopback(args.host) and not (args.public_url or "").startswith("https:"):
        warn(Notice("web_no_tls", host=args.host))
    lang = page_language(args.lang, cfg.office.language)
    server = LoaWebServer(
        app_command(str(config_path), args.lang),
        engine=engine,
        host=args.host,
        port=args.port,
        title=f"Loa · {cfg.office.name}",
        lang=lang,
        allowed=allowed,
        upload_root=Path(args.upload_dir).resolve() if args.upload_dir else uploads.default_root(),
        public_url=args.public_url,
    )
    try:
        server.serve()
    finally:
        engine.dispose()
    return 0
