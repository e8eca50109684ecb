"""the citizens' inbox: threads, messages, webhook events as received, backfill cursors

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel  # noqa: F401 - autogenerate writes sqlmodel column types
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString
_when = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "inboxthread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", _text(length=100), nullable=False),
        sa.Column("kind", _text(length=20), nullable=False),
        sa.Column("citizen_index", _text(length=64), nullable=False),
        sa.Column("citizen_alt_index", _text(length=64), nullable=True),
        sa.Column("citizen_ref_enc", _text(), nullable=True),
        sa.Column("citizen_name_enc", _text(), nullable=True),
        sa.Column("citizen_info_enc", _text(), nullable=True),
        sa.Column("state", _text(length=20), nullable=False),
        sa.Column("unit", _text(length=100), nullable=True),
        sa.Column("assignee", _text(length=100), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.Column("first_inbound_at", _when(), nullable=True),
        sa.Column("last_inbound_at", _when(), nullable=True),
        sa.Column("last_outbound_at", _when(), nullable=True),
        sa.Column("last_interaction_at", _when(), nullable=True),
        sa.Column("waiting_since", _when(), nullable=True),
        sa.Column("first_response_at", _when(), nullable=True),
        sa.Column("withdrawn_at", _when(), nullable=True),
        sa.Column("purged_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inboxthread")),
        sa.UniqueConstraint(
            "channel", "kind", "citizen_index", name=op.f("uq_inboxthread_channel")
        ),
    )
    with op.batch_alter_table("inboxthread", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inboxthread_channel"), ["channel"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inboxthread_citizen_alt_index"), ["citizen_alt_index"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inboxthread_assignee"), ["assignee"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inboxthread_waiting_since"), ["waiting_since"], unique=False
        )
        batch_op.create_index("ix_inboxthread_listing", ["state", "channel"], unique=False)

    op.create_table(
        "inboxmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("channel", _text(length=100), nullable=False),
        sa.Column("platform_id", _text(length=200), nullable=True),
        sa.Column("direction", _text(length=3), nullable=False),
        sa.Column("kind", _text(length=20), nullable=False),
        sa.Column("occurred_at", _when(), nullable=False),
        sa.Column("received_at", _when(), nullable=False),
        sa.Column("text_enc", _text(), nullable=True),
        sa.Column("attachments_enc", _text(), nullable=True),
        sa.Column("reply_to", _text(length=200), nullable=True),
        sa.Column("post_ref", _text(length=200), nullable=True),
        sa.Column("author", _text(length=100), nullable=True),
        sa.Column("source", _text(length=20), nullable=False),
        sa.Column("reply_mode", _text(length=20), nullable=True),
        sa.Column("state", _text(length=20), nullable=False),
        sa.Column("error_code", _text(length=50), nullable=True),
        sa.Column("error_message", _text(), nullable=True),
        sa.Column("private_replied_at", _when(), nullable=True),
        sa.Column("purged_at", _when(), nullable=True),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["inboxthread.id"],
            name=op.f("fk_inboxmessage_thread_id_inboxthread"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inboxmessage")),
        sa.UniqueConstraint("channel", "platform_id", name=op.f("uq_inboxmessage_channel")),
    )
    with op.batch_alter_table("inboxmessage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inboxmessage_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index("ix_inboxmessage_thread", ["thread_id", "occurred_at"], unique=False)

    op.create_table(
        "inboundevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", _text(length=20), nullable=False),
        sa.Column("channel", _text(length=100), nullable=True),
        sa.Column("dedupe_key", _text(length=64), nullable=False),
        sa.Column("received_at", _when(), nullable=False),
        sa.Column("occurred_at", _when(), nullable=True),
        sa.Column("body_enc", _text(), nullable=True),
        sa.Column("state", _text(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", _text(), nullable=True),
        sa.Column("processed_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inboundevent")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_inboundevent_dedupe_key")),
    )
    with op.batch_alter_table("inboundevent", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inboundevent_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_inboundevent_state"), ["state"], unique=False)

    op.create_table(
        "inboxcursor",
        sa.Column("channel", _text(length=100), nullable=False),
        sa.Column("stream", _text(length=20), nullable=False),
        sa.Column("done_until", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "stream", name=op.f("pk_inboxcursor")),
    )


def downgrade() -> None:
    op.drop_table("inboxcursor")
    with op.batch_alter_table("inboundevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inboundevent_state"))
        batch_op.drop_index(batch_op.f("ix_inboundevent_received_at"))
    op.drop_table("inboundevent")
    with op.batch_alter_table("inboxmessage", schema=None) as batch_op:
        batch_op.drop_index("ix_inboxmessage_thread")
        batch_op.drop_index(batch_op.f("ix_inboxmessage_occurred_at"))
    op.drop_table("inboxmessage")
    with op.batch_alter_table("inboxthread", schema=None) as batch_op:
        batch_op.drop_index("ix_inboxthread_listing")
        batch_op.drop_index(batch_op.f("ix_inboxthread_waiting_since"))
        batch_op.drop_index(batch_op.f("ix_inboxthread_assignee"))
        batch_op.drop_index(batch_op.f("ix_inboxthread_citizen_alt_index"))
        batch_op.drop_index(batch_op.f("ix_inboxthread_channel"))
    op.drop_table("inboxthread")
