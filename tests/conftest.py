"""Shared fixtures: a database on SQLite and on PostgreSQL, an injected clock, the queue."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text

from content.db import make_engine, open_database
from content.office import ChannelDirectory, ChannelInfo, OfficeSettings
from content.queue import Queue
from tests.helpers import HCM, FakeClock
from tests.pg_schemas import SchemaPool, fresh_schema

REPO = Path(__file__).resolve().parent.parent
#: Where the PostgreSQL tests connect; this machine's server by default.
PG_URL = os.environ.get("LOA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@cache
def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install '.[postgres]')"
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: skip, and say why
        return f"PostgreSQL not reachable at {PG_URL}: {str(exc).splitlines()[0]}"
    return None


@pytest.fixture(autouse=True)
def _backups_out_of_the_way(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema upgrades back the database up first: into a scratch folder, not the checkout."""
    monkeypatch.setenv("LOA_BACKUP_DIR", str(tmp_path_factory.mktemp("backups", numbered=True)))


@pytest.fixture(scope="session")
def _sqlite_upgraded(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """An upgraded SQLite file made once per run (per worker), which each test that asks
    for ``engine`` gets a copy of.

    Running every migration takes ~0.3-1 s per database on this machine (most of it
    Alembic's own work in Python), and most tests ask for ``engine`` (an upgraded
    database) without testing the upgrade itself. The tests of migrations and of
    ``loa init`` open empty databases themselves (``sqlite_url``/``pg_url`` without
    ``engine``), which still run every migration.
    """
    folder = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOA_BACKUP_DIR", str(folder))
        open_database(f"sqlite:///{folder / 'loa.db'}").dispose()
    return (folder / "loa.db").read_bytes()


@pytest.fixture(scope="session")
def _pg_upgrade() -> list[tuple[str, Any]] | None:
    """The statements an upgrade of an empty PostgreSQL schema sent, recorded once per run
    (per worker) and replayed to make the schemas of tests that ask for ``engine`` (see
    ``_sqlite_upgraded``; the schemas are then reused: ``_pg_schemas``)."""
    return _recorded_upgrade()


def _recorded_upgrade() -> list[tuple[str, Any]] | None:
    """The statements an upgrade of an empty PostgreSQL schema sends, in order; None when
    one names the schema it ran in (it could not be replayed in another)."""
    sent: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        _conn, _cursor, statement, parameters = args[:4]
        sent.append((statement, parameters))

    with _pg_schema_url() as url:
        event.listen(Engine, "before_cursor_execute", record)
        try:
            open_database(url).dispose()
        finally:
            event.remove(Engine, "before_cursor_execute", record)
        schema = url.rsplit("%3D", 1)[1]
    if any(schema in statement or schema in repr(params) for statement, params in sent):
        return None
    return sent


@pytest.fixture
def sqlite_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh SQLite file; already upgraded when the test asks for ``engine`` too."""
    path = tmp_path / "loa.db"
    if "engine" in request.fixturenames:
        # make_engine creates the file with the modes Loa gives it (0600, or the shared
        # group's); the upgraded copy is then written into it.
        make_engine(f"sqlite:///{path}").dispose()
        path.write_bytes(request.getfixturevalue("_sqlite_upgraded"))
    return f"sqlite:///{path}"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh schema in the PostgreSQL test database, dropped afterwards; when the test
    asks for ``engine`` too, an upgraded empty one (``_pg_schemas``)."""
    reason = pg_unavailable()
    if reason:
        pytest.skip(reason)
    if "engine" in request.fixturenames and request.getfixturevalue("_pg_upgrade"):
        pool: SchemaPool = request.getfixturevalue("_pg_schemas")
        schema = pool.take()
        yield pool.url(schema)
        pool.give_back(schema)
        return
    with _pg_schema_url() as url:
        yield url


@pytest.fixture(scope="session")
def _pg_schemas(_pg_upgrade: list[tuple[str, Any]]) -> Iterator[SchemaPool]:
    """This worker's upgraded schemas, each emptied after a test for the next one
    (tests/pg_schemas.py: why, and when one is dropped instead)."""
    pool = SchemaPool(PG_URL, _pg_upgrade)
    yield pool
    pool.close()


def _pg_schema_url() -> AbstractContextManager[str]:
    """A fresh schema in the PostgreSQL test database, dropped afterwards."""
    return fresh_schema(PG_URL)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``one_database`` gets ``db_url`` on SQLite only.

    Run before pytest spreads ``db_url`` over its params: pytest leaves a fixture alone
    that the test parametrizes itself, which this does (its ids still say ``sqlite``).
    """
    if "db_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("one_database"):
        metafunc.definition.add_marker(pytest.mark.parametrize("db_url", ["sqlite"], indirect=True))


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: one worker more than the cores this process may use.

    About a third of the suite's time is spent waiting, not computing (the sandbox answers
    after the platforms' latency, daemons and browsers start, webhooks are retried): with
    one worker per core the cores sat idle that third. ``PYTEST_XDIST_AUTO_NUM_WORKERS``
    still decides when set.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    # The cores this process may use where the system says (Linux), else all of them.
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return cores + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``-n`` (pytest-xdist, ``--dist loadgroup``) the tests marked ``slow`` share one
    worker: the crash and multi-daemon runs time real processes, and two of them at once
    on a two-core machine could miss their bounds; the other workers run the rest.

    The slow group goes first: it is the longest unit of work (about four minutes on its
    own on a slow machine), and started last (the browser tests are collected last) it was
    the tail of the whole run while the other workers sat idle.
    """
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.xdist_group("slow"))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL (``one_database`` tests: SQLite only)."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An upgraded database."""
    eng = open_database(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FakeClock:
    """Monday 2026-11-23 08:00 in Hồ Chí Minh City."""
    return FakeClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))


@pytest.fixture
def directory() -> ChannelDirectory:
    """An office that requires a second approver, with a Page and an OA per unit."""
    channels = {
        "tinh-fb": ChannelInfo("tinh-fb", "facebook", "Tỉnh FB"),
        "tinh-zalo": ChannelInfo("tinh-zalo", "zalo_oa", "Tỉnh Zalo"),
        "xa-fb": ChannelInfo("xa-fb", "facebook", "Xã FB"),
    }
    office = OfficeSettings(
        name="Công an tỉnh Demo",
        timezone=HCM,
        require_second_approver=True,
        min_spacing=timedelta(minutes=30),
    )
    return ChannelDirectory(office, channels, {"fb": ("tinh-fb", "xa-fb")})


@pytest.fixture
def make_queue(engine: Engine, directory: ChannelDirectory, clock: FakeClock):
    """``make_queue("user")``: the queue acting as that user, on the injected clock."""

    def make(actor: str = "officer") -> Queue:
        return Queue(engine, directory, actor=actor, clock=clock)

    return make
