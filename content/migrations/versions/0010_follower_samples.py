"""follower counts over time: one row per channel and collection (about daily)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate writes sqlmodel column types
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followersample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("collected_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_followersample")),
    )
    with op.batch_alter_table("followersample", schema=None) as batch_op:
        batch_op.create_index("ix_followersample_series", ["channel", "collected_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("followersample", schema=None) as batch_op:
        batch_op.drop_index("ix_followersample_series")
    op.drop_table("followersample")
