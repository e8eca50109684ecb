"""Alembic environment: runs on the connection :func:`content.db.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from content.models import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through content.db
    raise RuntimeError("run migrations through `loa db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
