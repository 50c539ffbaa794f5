"""Consented posts (taken down when their consent is withdrawn) and feed cursors.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    """Create consented_posts (one row per allowed post under a consent) and feed_cursors."""
    op.create_table(
        "consented_posts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("message_ids", sa.Text(), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=True),
        sa.Column("takedown_key", sa.String(64), nullable=False),
        sa.Column("token_fingerprint", sa.String(128), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allowed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_people", sa.LargeBinary(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.UniqueConstraint("platform", "chat_id", "message_id", name="uq_consented_posts_message"),
    )
    op.create_index("ix_consented_posts_takedown_key", "consented_posts", ["takedown_key"])
    op.create_index("ix_consented_posts_withdrawn", "consented_posts", ["withdrawn_at", "settled_at"])
    op.create_table(
        "feed_cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("feed_cursors")
    op.drop_index("ix_consented_posts_withdrawn", table_name="consented_posts")
    op.drop_index("ix_consented_posts_takedown_key", table_name="consented_posts")
    op.drop_table("consented_posts")
