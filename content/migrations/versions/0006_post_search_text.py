"""posts keep a folded copy of title, text and author (no case, no diacritics) for search

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from content.search import search_text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: Rows folded per round trip: bounded memory on a large office database.
_BATCH = 2000

# The table as this migration knows it (not content.models: later revisions may change it).
_post = sa.table(
    "post",
    sa.column("id", sa.Integer()),
    sa.column("title", sa.String()),
    sa.column("text", sa.String()),
    sa.column("author", sa.String()),
    sa.column("search_text", sa.Text()),
)


def upgrade() -> None:
    # NOT NULL with a default in one ADD COLUMN: SQLite does it in place, without the
    # table copy of a batch operation (which would fight the delivery table's foreign key).
    op.add_column("post", sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    _backfill()


def _backfill() -> None:
    """Fold every existing post, in id order and in batches."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(_post.c.id, _post.c.title, _post.c.text, _post.c.author)
            .where(_post.c.id > last)
            .order_by(_post.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            sa.update(_post)
            .where(_post.c.id == sa.bindparam("post_id"))
            .values(search_text=sa.bindparam("folded")),
            [{"post_id": r.id, "folded": search_text(r.title, r.text, r.author)} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_column("search_text")
