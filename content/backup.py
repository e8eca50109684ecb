"""Backups of the office's database, consistent while the daemon runs, and their restore.

* **SQLite**: SQLite's online backup API copies the database as one read transaction sees
  it, so a copy taken during a burst of publishing is a consistent snapshot (copying the
  file while the daemon runs is not: with WAL, the newest commits are in the -wal file).
* **PostgreSQL**: ``pg_dump`` (custom format) of Loa's schema; ``pg_restore`` puts it back.
  The password goes to them through the environment, never on the command line.

A backup is a file created readable by its owner only (see :mod:`content.files`).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, text
from sqlalchemy.engine import URL, make_url
from sqlmodel import select

from content.db import current_revision, head_revision, make_engine, session_scope
from content.errors import LoaError
from content.files import SHARED_MODE, share_new, shared_group
from content.models import DaemonHeartbeat, Delivery, Post
from content.times import utcnow

#: Where automatic backups before a schema upgrade go, when set; else beside the SQLite
#: file, or for PostgreSQL the user's data directory (see :func:`default_backup_dir`).
BACKUP_DIR_ENV = "LOA_BACKUP_DIR"


class BackupError(LoaError):
    """A backup or restore could not be made; nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds, as read from it."""

    path: Path
    revision: str | None
    posts: int
    deliveries: int


def backup(engine: Engine, out: Path) -> BackupInfo:
    """Copy the database behind ``engine`` to ``out`` (a new file, or one it replaces)."""
    out = out.expanduser()
    if not out.parent.is_dir():
        raise BackupError("backup_no_dir", path=str(out), dir=str(out.parent))
    if engine.dialect.name == "sqlite":
        _sqlite_backup(engine, out)
        return inspect_backup(out)
    # The figures and the dump must describe the same moment: count inside a repeatable-read
    # transaction and hand its snapshot to pg_dump while the transaction stays open.
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar())
            posts = int(conn.execute(text("SELECT count(*) FROM post")).scalar() or 0)
            deliveries = int(conn.execute(text("SELECT count(*) FROM delivery")).scalar() or 0)
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            _pg_dump(engine.url, out, snapshot=snapshot)
    return BackupInfo(out, revision, posts, deliveries)


def inspect_backup(path: Path) -> BackupInfo:
    """Revision and figures of a SQLite backup (refuses a file that is not a Loa database)."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        try:
            revision = current_revision(engine)
            posts, deliveries = _counts(engine)
        except Exception as exc:  # any failure to read it: say it is not a Loa backup
            raise BackupError("backup_not_loa", path=str(path), detail=_first_line(exc)) from None
    finally:
        engine.dispose()
    return BackupInfo(path, revision, posts, deliveries)


def restore(
    engine: Engine,
    source: Path,
    *,
    silent_after: timedelta,
    clock: Callable[[], datetime] = utcnow,
) -> BackupInfo:
    """Replace the database behind ``engine`` with the backup at ``source``.

    Refused while a daemon is running (its heartbeat is newer than ``silent_after``): it
    would go on publishing from a queue that no longer exists. A backup from a newer Loa is
    refused; an older one is upgraded by the next command, as any old database is.
    """
    if not source.is_file():
        raise BackupError("backup_missing", path=str(source))
    alive = _live_daemons(engine, clock() - silent_after)
    if alive:
        raise BackupError("restore_daemon", workers=alive)
    if engine.dialect.name == "sqlite":
        info = inspect_backup(source)
        _check_revision(info.revision, source)
        _sqlite_restore(source, engine)
        return info
    _pg_restore(engine.url, source)
    posts, deliveries = _counts(engine)
    return BackupInfo(source, current_revision(engine), posts, deliveries)


def backup_before_upgrade(engine: Engine, revision: str) -> Path | None:
    """The automatic backup :func:`content.db.upgrade` takes before migrating ``revision``.

    Returns its path, or None on PostgreSQL without ``pg_dump`` (the caller says so).
    """
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    if engine.dialect.name == "sqlite":
        database = Path(engine.url.database or "loa.db")
        folder = Path(os.environ.get(BACKUP_DIR_ENV) or database.parent)
        out = folder / f"{database.name}.before-upgrade-{revision}-{stamp}.bak"
    else:
        if shutil.which("pg_dump") is None:
            return None
        folder = Path(os.environ.get(BACKUP_DIR_ENV) or default_backup_dir())
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        out = folder / f"loa-{engine.url.database}.before-upgrade-{revision}-{stamp}.dump"
    backup(engine, out)
    return out


def default_backup_dir() -> Path:
    """``$XDG_DATA_HOME/loa/backups`` (``~/.local/share/loa/backups``): the service user's
    own data, not whatever directory a command happened to run in."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "loa" / "backups"


# --- SQLite --------------------------------------------------------------------------------


def _sqlite_backup(engine: Engine, out: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        share_new(fd, out)
        os.close(fd)
        fd = -1
        raw = engine.raw_connection()
        try:
            source = raw.driver_connection
            assert isinstance(source, sqlite3.Connection)
            target = sqlite3.connect(tmp)
            try:
                # pages=-1: one step, under one read transaction: a consistent snapshot.
                source.backup(target, pages=-1)
            finally:
                target.close()
        finally:
            raw.close()
        os.replace(tmp, out)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise


def _sqlite_restore(source: Path, engine: Engine) -> None:
    engine.dispose()  # no pooled connection may hold the old pages
    raw = engine.raw_connection()
    try:
        target = raw.driver_connection
        assert isinstance(target, sqlite3.Connection)
        origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            # Into the live file through SQLite itself: its -wal and -shm stay coherent.
            origin.backup(target, pages=-1)
        finally:
            origin.close()
    finally:
        raw.close()
    engine.dispose()


# --- PostgreSQL ----------------------------------------------------------------------------


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore, with the password in the environment."""
    env = dict(os.environ)
    args = ["--no-owner"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args += ["--dbname", url.database or "postgres"]
    # Loa's schema: tests and some offices put it in its own schema via search_path.
    options = str(url.query.get("options", ""))
    if "search_path=" in options:
        schema = options.split("search_path=", 1)[1].split()[0].split(",")[0]
        args += ["--schema", schema]
    return args, env


def _run(tool: str, args: list[str], env: dict[str, str]) -> None:
    if shutil.which(tool) is None:
        raise BackupError("tool_missing", tool=tool)
    done = subprocess.run([tool, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        if lines:  # the tool's own words (libpq's), as it said them
            raise BackupError("tool_failed", tool=tool, detail=lines[0])
        raise BackupError("tool_exit", tool=tool, code=done.returncode)


def _pg_dump(url: URL, out: Path, *, snapshot: str) -> None:
    args, env = _libpq(make_url(url.render_as_string(hide_password=False)))
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        share_new(fd, out)
        os.close(fd)
        fd = -1
        _run("pg_dump", ["--format=custom", f"--snapshot={snapshot}", "--file", tmp, *args], env)
        if shared_group() is not None:
            os.chmod(tmp, SHARED_MODE)
        os.replace(tmp, out)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise


def _pg_restore(url: URL, source: Path) -> None:
    args, env = _libpq(make_url(url.render_as_string(hide_password=False)))
    # --clean --if-exists drops Loa's tables first; one transaction: all or nothing.
    _run("pg_restore", ["--clean", "--if-exists", "--single-transaction", *args, str(source)], env)


# --- shared --------------------------------------------------------------------------------


def _counts(engine: Engine) -> tuple[int, int]:
    with session_scope(engine, write=False) as session:
        posts = session.exec(select(func.count()).select_from(Post)).one()
        deliveries = session.exec(select(func.count()).select_from(Delivery)).one()
    return int(posts), int(deliveries)


def _live_daemons(engine: Engine, since: datetime) -> list[str]:
    try:
        with session_scope(engine, write=False) as session:
            rows = session.exec(
                select(DaemonHeartbeat.worker).where(DaemonHeartbeat.seen_at >= since)
            ).all()
    except Exception:  # an empty or broken database has no daemon either
        return []
    return list(rows)


def _check_revision(revision: str | None, source: Path) -> None:
    if revision is None:
        raise BackupError("backup_no_revision", path=str(source))
    if revision > head_revision():
        raise BackupError("backup_newer", path=str(source), revision=revision, head=head_revision())


def _first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__
