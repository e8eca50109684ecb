"""the inbox keeps attachments (downloaded on arrival), minors, comment edits and removals

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate writes sqlmodel column types
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString
_when = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("inboxthread", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("minor", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("profile_checked_at", _when(), nullable=True))
    with op.batch_alter_table("inboxmessage", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("media_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("edits_enc", _text(), nullable=True))
        batch_op.add_column(sa.Column("edited_at", _when(), nullable=True))
        batch_op.add_column(sa.Column("removed", _text(length=10), nullable=True))
        batch_op.add_column(sa.Column("removed_at", _when(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_inboxmessage_media_pending"), ["media_pending"], unique=False
        )
    op.create_table(
        "inboxattachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", _text(length=20), nullable=False),
        sa.Column("state", _text(length=20), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("mime", _text(length=100), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", _text(length=64), nullable=True),
        sa.Column("data_enc", sa.Text(), nullable=True),
        sa.Column("problem", _text(length=100), nullable=True),
        sa.Column("fetched_at", _when(), nullable=True),
        sa.Column("purged_at", _when(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inboxmessage.id"],
            name=op.f("fk_inboxattachment_message_id_inboxmessage"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inboxattachment")),
        sa.UniqueConstraint("message_id", "position", name=op.f("uq_inboxattachment_message_id")),
    )
    with op.batch_alter_table("inboxattachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inboxattachment_thread_id"), ["thread_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inboxattachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inboxattachment_thread_id"))
    op.drop_table("inboxattachment")
    with op.batch_alter_table("inboxmessage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inboxmessage_media_pending"))
        for name in ("removed_at", "removed", "edited_at", "edits_enc", "media_pending"):
            batch_op.drop_column(name)
    with op.batch_alter_table("inboxthread", schema=None) as batch_op:
        batch_op.drop_column("profile_checked_at")
        batch_op.drop_column("minor")
