"""one calendar draft per unit, entry and year: a unique index on calendar sources

Before it, the daemon and an officer preparing the same entry at the same moment could each
make a unit's draft. Drafts already doubled that way are kept (nothing is deleted): the later
ones get ``:duplicate-ID`` after their source, so the index can be made and the unit sees
both in its queue.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CALENDAR_SOURCE = "source LIKE 'calendar:%'"


def upgrade() -> None:
    op.execute(
        sa.text(
            # "\\:" is a colon to text(), not a bind parameter.
            "UPDATE post SET source = source || '\\:duplicate-' || CAST(id AS VARCHAR(20)) "
            f"WHERE {CALENDAR_SOURCE} AND id NOT IN "
            f"(SELECT MIN(id) FROM post WHERE {CALENDAR_SOURCE} GROUP BY source)"
        )
    )
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.create_index(
            "ux_post_calendar_source",
            ["source"],
            unique=True,
            sqlite_where=sa.text(CALENDAR_SOURCE),
            postgresql_where=sa.text(CALENDAR_SOURCE),
        )


def downgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_index("ux_post_calendar_source")
