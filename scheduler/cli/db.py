"""`loa db upgrade`: bring the database schema up to date by hand."""

from __future__ import annotations

import argparse

from content.db import make_engine, resolve_url, upgrade
from scheduler.cli.common import subcommand_parent


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``db`` commands."""
    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(title="db commands", metavar="COMMAND", required=True)
    up = db_sub.add_parser(
        "upgrade", parents=[subcommand_parent()], help="apply pending schema migrations"
    )
    up.set_defaults(handler=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    """Upgrade and say from which revision to which."""
    engine = make_engine(resolve_url(args.db))
    before, after = upgrade(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        print(f"{where}: already at revision {after}")
    else:
        print(f"{where}: upgraded from {before or 'an empty database'} to revision {after}")
    return 0
