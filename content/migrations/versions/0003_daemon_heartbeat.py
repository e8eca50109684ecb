"""daemon heartbeats: a dead daemon's claims are taken back in seconds, not at the lease

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate writes sqlmodel column types
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daemonheartbeat",
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_daemonheartbeat")),
    )
    with op.batch_alter_table("daemonheartbeat", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_daemonheartbeat_seen_at"), ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("daemonheartbeat", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daemonheartbeat_seen_at"))
    op.drop_table("daemonheartbeat")
