"""the audit log is append-only in the database and hash-chained (seq, hash)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate writes sqlmodel column types
from alembic import op

from content.audit import CHAINED_FIELDS, GENESIS, chain_hash

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_REFUSED = "the audit log is append-only: rows cannot be changed or deleted"

# The table as this migration knows it (not content.models: later revisions may change it).
_audit = sa.table(
    "auditevent",
    sa.column("id", sa.Integer()),
    sa.column("at", sqlmodel.sql.sqltypes.UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("post_id", sa.Integer()),
    sa.column("delivery_id", sa.Integer()),
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
    sa.column("detail", sa.String()),
    sa.column("real_actor", sa.String()),
    sa.column("os_user", sa.String()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    _chain_existing_rows()
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column(
            "hash", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        )
        batch_op.create_unique_constraint(batch_op.f("uq_auditevent_seq"), ["seq"])
    # After the batch operations: on SQLite they copy the table, which would drop triggers.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION loa_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_REFUSED} (% refused)', TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER auditevent_append_only BEFORE UPDATE OR DELETE ON auditevent "
            "FOR EACH ROW EXECUTE FUNCTION loa_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER auditevent_no_truncate BEFORE TRUNCATE ON auditevent "
            "FOR EACH STATEMENT EXECUTE FUNCTION loa_audit_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER auditevent_no_{event.lower()} BEFORE {event} ON auditevent "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSED} ({event} refused)'); END"
            )


def _chain_existing_rows() -> None:
    """Chain the rows written before this revision, in the order they were written (id)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(*(_audit.c[name] for name in ("id", *CHAINED_FIELDS))).order_by(_audit.c.id)
    ).mappings()
    previous, updates = GENESIS, []
    for seq, row in enumerate(rows, start=1):
        previous = chain_hash(previous, seq, row)
        updates.append({"row_id": row["id"], "new_seq": seq, "new_hash": previous})
    if updates:
        bind.execute(
            _audit.update()
            .where(_audit.c.id == sa.bindparam("row_id"))
            .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash")),
            updates,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER auditevent_no_truncate ON auditevent")
        op.execute("DROP TRIGGER auditevent_append_only ON auditevent")
        op.execute("DROP FUNCTION loa_audit_append_only()")
    else:
        op.execute("DROP TRIGGER auditevent_no_delete")
        op.execute("DROP TRIGGER auditevent_no_update")
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_auditevent_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("seq")
