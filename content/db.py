"""Engine, sessions and migrations.

SQLite (a file, WAL mode) is the embedded default so the TUI and the daemon can share
one database on one host; ``DATABASE_URL`` (``postgresql+psycopg://...``) selects
PostgreSQL, which several daemons can share. The schema only ever changes through the
Alembic migrations in ``content/migrations``; :func:`open_database` upgrades on start.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session

from content.errors import LoaError
from content.files import FileWriteError, share_new
from content.messages import os_reason

log = logging.getLogger(__name__)

DEFAULT_SQLITE_PATH = "loa.db"
#: Seconds a writer waits for another process's write transaction before giving up.
SQLITE_BUSY_TIMEOUT = 15
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Any constant: serialises concurrent upgrades of one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x10A_0001


class DatabaseError(LoaError):
    """The database cannot be opened, reached or upgraded."""


def resolve_url(db: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The database URL: ``--db`` (path or URL), else DATABASE_URL, else LOA_DB, else ./loa.db."""
    env = os.environ if environ is None else environ
    value = db or env.get("DATABASE_URL") or env.get("LOA_DB") or DEFAULT_SQLITE_PATH
    if "://" in value:
        try:
            make_url(value)
        except ArgumentError as exc:
            raise DatabaseError("db_url_invalid", url=value, detail=str(exc)) from None
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: the TUI reads while the daemon writes; NORMAL is durable enough with WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000}")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings Loa relies on (WAL and busy timeout on SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            parent = Path(database).parent
            if not parent.is_dir():
                raise DatabaseError("db_no_dir", path=database, dir=str(parent))
            _create_private(Path(database))
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            # psycopg 3 is the driver the [postgres] extra installs.
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        try:
            return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        except ImportError:
            raise DatabaseError("db_pg_driver", url=parsed.render_as_string()) from None
    raise DatabaseError("db_backend", url=parsed.render_as_string())


def _create_private(path: Path) -> None:
    """Create a new SQLite file readable by its owner only (drafts, audit, encrypted tokens),
    or by the office's shared group (660) when ``LOA_SHARED_GROUP`` names one: officers
    who sign in over SSH as themselves then share the database through that group.

    SQLite gives the -wal and -shm files it makes beside it the same mode. An existing file
    is left as it is: its owner chose.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseError("db_file", path=str(path), reason=os_reason(exc)) from None
    try:
        share_new(fd, path)
    except FileWriteError as exc:
        os.close(fd)
        path.unlink()
        raise DatabaseError("db_file", path=str(path), reason=exc.notice()) from None
    os.close(fd)


def _alembic_config(connection: Any) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head_revision() -> str:
    """The newest migration this version of Loa ships.

    Read once per process: Alembic compiles every migration script to find it (about 15 ms),
    and the scripts do not change while Loa runs.
    """
    script = ScriptDirectory.from_config(_alembic_config(None))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (before, after). Safe to repeat.

    A database that has a schema is backed up first (see
    :func:`content.backup.backup_before_upgrade`), and the migrations run in one
    transaction on both databases: a failed upgrade leaves the schema as it was.
    """
    migrating = _migration_engine(engine)
    try:
        with migrating.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several daemons may start at once: one upgrades, the others wait.
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            before = MigrationContext.configure(conn).get_current_revision()
            after: str | None
            if before == head_revision():
                after = before  # already there: Alembic would load every script to say so
            else:
                if before is not None:
                    _backup_first(engine, before)
                command.upgrade(_alembic_config(conn), "head")
                after = MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as exc:
        raise DatabaseError("db_failed", url=_safe_url(engine), detail=_first_line(exc)) from None
    finally:
        if migrating is not engine:
            migrating.dispose()
    assert after is not None
    return before, after


def _migration_engine(engine: Engine) -> Engine:
    """The engine migrations run on: on SQLite one whose transactions cover DDL too.

    Python's sqlite3 driver opens a transaction only before INSERT/UPDATE/DELETE, so each
    CREATE or ALTER of a migration would commit on its own; SQLAlchemy's documented recipe
    hands transaction control to SQLite and emits BEGIN itself.
    """
    if engine.dialect.name != "sqlite":
        return engine
    migrating = create_engine(
        engine.url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
    )

    @event.listens_for(migrating, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN/COMMIT by the driver
        _sqlite_pragmas(dbapi_connection, record)

    @event.listens_for(migrating, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return migrating


def _backup_first(engine: Engine, revision: str) -> None:
    from content.backup import backup_before_upgrade  # it needs this module: import late

    path = backup_before_upgrade(engine, revision)
    if path is None:
        log.warning(
            "database %s: upgrading schema %s without a backup (pg_dump is not installed)",
            _safe_url(engine),
            revision,
        )
    else:
        log.warning(
            "database %s: schema %s backed up to %s before upgrading",
            _safe_url(engine),
            revision,
            path,
        )


def open_database(url: str, *, migrate: bool = True) -> Engine:
    """Open the database at ``url`` and upgrade its schema (the normal way to start)."""
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    else:
        try:
            revision = current_revision(engine)
        except DBAPIError as exc:
            raise DatabaseError(
                "db_failed", url=_safe_url(engine), detail=_first_line(exc)
            ) from None
        if revision is None:
            raise DatabaseError("db_empty", url=_safe_url(engine), head=head_revision())
        if revision != head_revision():
            raise DatabaseError(
                "db_revision", url=_safe_url(engine), revision=revision, head=head_revision()
            )
    return engine


class WriteLockBusy(Exception):
    """SQLite's write lock was held by another connection, and this unit of work was asked
    not to wait for it (:func:`without_waiting`): nothing was done."""


#: Set by :func:`without_waiting`: SQLite write transactions begun here fail at once with
#: :class:`WriteLockBusy` instead of waiting for the busy timeout.
_NO_WAIT: ContextVar[bool] = ContextVar("loa_sqlite_no_wait", default=False)


@contextmanager
def without_waiting() -> Iterator[None]:
    """Within this block a SQLite write transaction that would have to wait for the write
    lock raises :class:`WriteLockBusy` before doing anything.

    For work done on an event loop's own thread: a wait there would stop the loop (and
    every call in flight) for up to the busy timeout; the caller then does the same work
    in a thread, where waiting is harmless.
    """
    token = _NO_WAIT.set(True)
    try:
        yield
    finally:
        _NO_WAIT.reset(token)


def _begin_immediate(session: Session) -> None:
    """Take SQLite's write lock, waiting the busy timeout or (``without_waiting``) not."""
    connection = session.connection()
    if not _NO_WAIT.get():
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    # The connection's own busy timeout is put back afterwards (an engine may set another
    # than the default); read once per connection, kept with it in the pool.
    info = connection.connection.info
    busy_timeout = info.get("loa_busy_timeout")
    if busy_timeout is None:
        busy_timeout = info["loa_busy_timeout"] = connection.exec_driver_sql(
            "PRAGMA busy_timeout"
        ).scalar_one()
    connection.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as exc:
        raise WriteLockBusy(str(exc.orig)) from exc
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(busy_timeout)}")


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """A short unit of work: commits on success, rolls back on error, always closes.

    ``write=False`` for reads only: on SQLite they then do not wait for the write lock.

    Keep these short: SQLite allows one writer at a time (and each of these takes its
    write lock), and an idle open transaction stops the WAL from being checkpointed.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        if write and engine.dialect.name == "sqlite":
            # Take SQLite's write lock up front. A deferred transaction that reads and then
            # writes fails at once with "database is locked" when another process wrote in
            # between; an immediate one waits its turn (busy timeout) instead. Inside the
            # try: when the wait runs out, the connection must still go back to the pool.
            _begin_immediate(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not be reached or was busy (a SQLite write
    lock held past the busy timeout, a PostgreSQL server restarting or refusing connections),
    not that the statement itself was wrong: the same work can be tried again later."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | WriteLockBusy)


def describe(exc: BaseException) -> str:
    """The database's own first line about ``exc`` (for one log line, no traceback)."""
    return _first_line(exc) if isinstance(exc, Exception) else type(exc).__name__


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _first_line(exc: Exception) -> str:
    message = str(getattr(exc, "orig", exc) or exc)
    return message.strip().splitlines()[0] if message.strip() else type(exc).__name__
