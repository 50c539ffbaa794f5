"""Telegram updates claimed by the webhook replicas (each update handled once across replicas).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    """Create telegram_updates, keyed by (bot id, update id); claimed_at indexed for the weekly purge."""
    op.create_table(
        "telegram_updates",
        sa.Column("bot_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bot_id", "update_id", name="pk_telegram_updates"),
    )
    op.create_index("ix_telegram_updates_claimed_at", "telegram_updates", ["claimed_at"])


def downgrade() -> None:
    """Drop the table (a redelivered update may then be handled again: the work log still dedups posts)."""
    op.drop_index("ix_telegram_updates_claimed_at", table_name="telegram_updates")
    op.drop_table("telegram_updates")
