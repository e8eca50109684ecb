"""Storage: migrations, SQLite settings, URL selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from content.db import (
    DatabaseError,
    current_revision,
    head_revision,
    make_engine,
    open_database,
    resolve_url,
    upgrade,
)


def test_upgrade_creates_every_table_in_an_empty_database(db_url):
    engine = make_engine(db_url)
    before, after = upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert before is None and after == head_revision()
    assert {
        "post",
        "delivery",
        "metricsample",
        "feedsource",
        "feeditem",
        "credential",
        "auditevent",
        "mediafile",
    } <= tables


def test_upgrade_is_idempotent(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    before, after = upgrade(engine)
    assert before == after == head_revision()


def test_open_database_upgrades_on_start(db_url):
    engine = open_database(db_url)
    assert current_revision(engine) == head_revision()


def test_opening_without_migrating_refuses_an_old_schema(sqlite_url):
    with pytest.raises(DatabaseError, match="loa db upgrade"):
        open_database(sqlite_url, migrate=False)


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(sqlite_url):
    engine = open_database(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 15000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_db_flag_beats_database_url_beats_loa_db(tmp_path: Path):
    env = {"DATABASE_URL": "postgresql+psycopg://x@h/db", "LOA_DB": str(tmp_path / "a.db")}
    assert resolve_url(str(tmp_path / "b.db"), env) == f"sqlite:///{tmp_path / 'b.db'}"
    assert resolve_url(None, env) == "postgresql+psycopg://x@h/db"
    assert resolve_url(None, {"LOA_DB": str(tmp_path / "a.db")}) == f"sqlite:///{tmp_path / 'a.db'}"
    assert resolve_url(None, {}).endswith("/loa.db")


def test_a_database_in_a_missing_directory_is_a_clear_error(tmp_path: Path):
    with pytest.raises(DatabaseError, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'nope' / 'loa.db'}")


def test_an_unsupported_database_is_a_clear_error():
    with pytest.raises(DatabaseError, match="only sqlite and postgresql"):
        make_engine("mysql://root@localhost/x")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path):
    not_db = tmp_path / "notes.txt"
    not_db.write_text("ghi chú, không phải cơ sở dữ liệu\n" * 100)
    with pytest.raises(DatabaseError, match="notes.txt: file is not a database"):
        open_database(f"sqlite:///{not_db}")


def test_postgresql_without_its_driver_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, capsys):
    """`pip install loa` without the [postgres] extra, then a PostgreSQL URL: say what to
    install, in one line, instead of a 30-line ImportError traceback."""
    import sys

    from scheduler.cli import main

    # The English line is asserted (the repository's channels.toml says Vietnamese).
    monkeypatch.setenv("LOA_LANG", "en")
    for name in [m for m in sys.modules if m == "psycopg" or m.startswith("psycopg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what a missing package looks like
    with pytest.raises(DatabaseError, match=r"pip install 'loa\[postgres\]'"):
        make_engine("postgresql://loa@db-host/loa")
    assert main(["--db", "postgresql://loa@db-host/loa", "post", "list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "PostgreSQL needs its driver" in err[0]


def test_a_new_sqlite_database_and_its_wal_are_private_to_their_owner(tmp_path: Path):
    """Drafts, the audit log and encrypted tokens are not for every local user to read."""
    import stat

    db = tmp_path / "loa.db"
    engine = open_database(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE scratch (x)"))  # something in the WAL
    for path in (db, tmp_path / "loa.db-wal", tmp_path / "loa.db-shm"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    engine.dispose()
