"""`loa db upgrade`, `loa backup`, `loa restore`: the database's upkeep.

They act for nobody (like the daemon): the service user runs them, from cron or by hand.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from content.backup import BackupInfo, backup, restore
from content.db import make_engine, open_database, resolve_url, upgrade
from content.i18n import _
from scheduler.cli.common import subcommand_parent, unattended


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``db``, ``backup`` and ``restore`` commands."""
    db = subparsers.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(title="db commands", metavar="COMMAND", required=True)
    up = db_sub.add_parser(
        "upgrade", parents=[subcommand_parent()], help="apply pending schema migrations"
    )
    up.set_defaults(handler=run_upgrade)

    save = subparsers.add_parser(
        "backup",
        parents=[subcommand_parent()],
        help="copy the database, consistent even while the daemon publishes",
    )
    save.add_argument(
        "-o",
        "--out",
        type=Path,
        help="the backup file (default: loa-YYYYMMDDTHHMMSSZ.db, or .dump for PostgreSQL)",
    )
    save.set_defaults(handler=run_backup)
    unattended(save)

    back = subparsers.add_parser(
        "restore",
        parents=[subcommand_parent()],
        help="replace the database with a backup (stop the daemon first)",
    )
    back.add_argument("path", type=Path, help="a file made by `loa backup`")
    back.set_defaults(handler=run_restore)
    unattended(back)


def run_upgrade(args: argparse.Namespace) -> int:
    """Upgrade and say from which revision to which."""
    engine = make_engine(resolve_url(args.db))
    before, after = upgrade(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        print(
            _("{database}: already at revision {revision}").format(database=where, revision=after)
        )
    else:
        print(
            _("{database}: upgraded from {before} to revision {revision}").format(
                database=where, before=before or _("an empty database"), revision=after
            )
        )
    return 0


def _summary(info: BackupInfo) -> str:
    return _("schema {revision}, {posts} posts, {deliveries} deliveries").format(
        revision=info.revision or _("empty"), posts=info.posts, deliveries=info.deliveries
    )


def run_backup(args: argparse.Namespace) -> int:
    """Take a backup and say what it holds."""
    engine = open_database(resolve_url(args.db))
    try:
        out = args.out
        if out is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            out = Path(f"loa-{stamp}.{'db' if engine.dialect.name == 'sqlite' else 'dump'}")
        info = backup(engine, out)
    finally:
        engine.dispose()
    print(_("backup written to {file}: {summary}").format(file=info.path, summary=_summary(info)))
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Restore a backup (refused while a daemon runs) and bring it to this Loa's schema."""
    from scheduler.dispatch import SILENT_AFTER

    engine = make_engine(resolve_url(args.db))
    try:
        info = restore(engine, args.path, silent_after=SILENT_AFTER)
        upgrade(engine)
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    print(
        _("{database} restored from {file}: {summary}").format(
            database=where, file=args.path, summary=_summary(info)
        )
    )
    return 0
