"""Upgraded PostgreSQL schemas for the tests, emptied and handed to the next test.

A test that asks for ``engine`` on PostgreSQL needs a schema at the newest revision. Making
one (replaying the upgrade's statements, then ``DROP SCHEMA ... CASCADE`` afterwards) costs
the server about 0.25 s of CPU, mostly ``CREATE TABLE`` and ``CREATE INDEX``: with a few
hundred such tests that was a third of the suite's CPU on a two-core machine, spent outside
the test processes. A schema a test leaves with the same structure is emptied instead
(every table but ``alembic_version``, sequences back to 1: about 10 ms) and given to the
next test of the same worker; one whose structure changed (a test dropped the audit log's
trigger, say) is dropped as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text

#: What a schema's structure is, as one digest: its tables, views and indexes, their
#: columns, constraints, triggers (enabled or not) and functions. Emptying a schema
#: keeps what this sees; a test that changed any of it leaves a schema that is dropped.
_STRUCTURE = text(
    """
    SELECT md5(concat_ws('|',
      (SELECT string_agg(concat_ws(':', c.relname, c.relkind), ',' ORDER BY c.relname)
         FROM pg_class c WHERE c.relnamespace = n.oid),
      (SELECT string_agg(concat_ws(':', c.relname, a.attname, a.atttypid, a.attnotnull,
                                   a.atthasdef), ',' ORDER BY c.relname, a.attnum)
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = n.oid AND a.attnum > 0 AND NOT a.attisdropped),
      (SELECT string_agg(concat_ws(':', co.conname, co.contype), ',' ORDER BY co.conname)
         FROM pg_constraint co WHERE co.connamespace = n.oid),
      (SELECT string_agg(concat_ws(':', t.tgname, t.tgenabled), ',' ORDER BY t.tgname)
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = n.oid AND NOT t.tgisinternal),
      (SELECT string_agg(concat_ws(':', p.proname, md5(p.prosrc)), ',' ORDER BY p.proname)
         FROM pg_proc p WHERE p.pronamespace = n.oid)))
    FROM pg_namespace n WHERE n.nspname = :schema
    """
)


def schema_url(base_url: str, schema: str) -> str:
    """The URL of ``schema`` in the database at ``base_url`` (its search path)."""
    return f"{base_url}?options=-csearch_path%3D{schema}"


def create_schema(conn: Connection) -> str:
    """Create a schema with a name of its own; returns the name."""
    schema = f"loa_test_{uuid.uuid4().hex[:12]}"
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return schema


def drop_schema(conn: Connection, schema: str) -> None:
    """Drop ``schema`` and everything in it."""
    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    """The URL of a new, empty schema in the database at ``base_url``, dropped afterwards."""
    admin = create_engine(base_url)
    with admin.begin() as conn:
        schema = create_schema(conn)
    try:
        yield schema_url(base_url, schema)
    finally:
        with admin.begin() as conn:
            drop_schema(conn, schema)
        admin.dispose()


class SchemaPool:
    """This worker's upgraded schemas in the database at ``admin_url``."""

    def __init__(self, admin_url: str, upgrade: list[tuple[str, Any]]) -> None:
        self.admin_url = admin_url
        self.upgrade = upgrade
        self._admin: Engine = create_engine(admin_url)
        self._free: list[str] = []
        self._all: set[str] = set()
        self._structure: str | None = None
        self._empty_sql: str | None = None

    def url(self, schema: str) -> str:
        """The URL of ``schema`` (its search path)."""
        return schema_url(self.admin_url, schema)

    def take(self) -> str:
        """An upgraded, empty schema: a returned one, else a new one."""
        if self._free:
            return self._free.pop()
        with self._admin.begin() as conn:
            schema = create_schema(conn)
        self._all.add(schema)
        replay = create_engine(self.url(schema))
        try:
            with replay.begin() as conn:
                for statement, params in self.upgrade:
                    conn.exec_driver_sql(statement, params)
        finally:
            replay.dispose()
        if self._structure is None:
            self._structure = self._structure_of(schema)
            self._empty_sql = self._emptying(schema)
        return schema

    def give_back(self, schema: str) -> None:
        """Empty ``schema`` for the next test, or drop it when its structure changed or it
        cannot be emptied (a connection the test left open still holds a lock)."""
        try:
            if self._structure_of(schema) == self._structure and self._empty_sql:
                with self._admin.begin() as conn:
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                    # Neither the audit log's append-only triggers nor the foreign keys'
                    # (the order of the DELETEs does not matter then).
                    conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                    conn.exec_driver_sql(f'SET LOCAL search_path = "{schema}"')
                    conn.exec_driver_sql(self._empty_sql)
                self._free.append(schema)
                return
        except Exception:  # noqa: BLE001 - whatever went wrong, the schema is dropped
            pass
        self._drop(schema)

    def close(self) -> None:
        """Drop every schema this pool made."""
        for schema in list(self._all):
            self._drop(schema)
        self._admin.dispose()

    def _drop(self, schema: str) -> None:
        with self._admin.begin() as conn:
            drop_schema(conn, schema)
        self._all.discard(schema)
        if schema in self._free:
            self._free.remove(schema)

    def _structure_of(self, schema: str) -> str | None:
        with self._admin.begin() as conn:
            # The catalogs' statistics make this look costly enough to compile (JIT, ~20 ms).
            conn.exec_driver_sql("SET LOCAL jit = off")
            return conn.execute(_STRUCTURE, {"schema": schema}).scalar()

    def _emptying(self, schema: str) -> str:
        """One batch of statements that empties the schema's tables and restarts its
        sequences (the next test's rows are numbered from 1 again)."""
        with self._admin.connect() as conn:
            tables = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = :s"
                    " AND tablename <> 'alembic_version' ORDER BY tablename"
                ),
                {"s": schema},
            ).scalars()
            sequences = conn.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"), {"s": schema}
            ).scalars()
            statements = [f'DELETE FROM "{t}"' for t in tables]
            statements += [f"SELECT setval('\"{s}\"', 1, false)" for s in sequences]
        return "; ".join(statements)
