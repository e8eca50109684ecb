"""The reused PostgreSQL schemas of the tests: each test starts from an empty, upgraded one."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, _recorded_upgrade, pg_unavailable
from tests.pg_schemas import SchemaPool


@pytest.fixture
def pool():
    reason = pg_unavailable()
    if reason:
        pytest.skip(reason)
    made = SchemaPool(PG_URL, _recorded_upgrade() or [])
    yield made
    made.close()


def _run(url: str, *statements: str) -> list:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            results = [conn.execute(text(s)) for s in statements]
            return [r.all() if r.returns_rows else None for r in results]
    finally:
        engine.dispose()


def test_a_returned_schema_comes_back_empty_with_ids_from_one(pool):
    schema = pool.take()
    _run(
        pool.url(schema),
        "INSERT INTO alert (at, kind, message) VALUES (now(), 'needs_review', 'a')",
    )
    pool.give_back(schema)
    again = pool.take()
    assert again == schema
    rows = _run(
        pool.url(again),
        "SELECT count(*) FROM alert",
        "INSERT INTO alert (at, kind, message) VALUES (now(), 'needs_review', 'b') RETURNING id",
    )
    assert rows == [[(0,)], [(1,)]]


def test_a_schema_whose_structure_changed_is_dropped_not_reused(pool):
    schema = pool.take()
    _run(pool.url(schema), "DROP TRIGGER auditevent_append_only ON auditevent")
    pool.give_back(schema)
    assert pool.take() != schema
    (exists,) = _run(PG_URL, f"SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'")
    assert exists == [(0,)]
