"""the credential key's fingerprint: a process started with another key refuses to run

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate writes sqlmodel column types
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per key purpose ("credential"): the primary key makes "the first key to use
    # the database records its fingerprint" a race two daemons cannot both win.
    op.create_table(
        "keyfingerprint",
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint("purpose", name=op.f("pk_keyfingerprint")),
    )


def downgrade() -> None:
    op.drop_table("keyfingerprint")
