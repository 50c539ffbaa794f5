"""Which Discord shards some process has open: a shard no process opens leaves its guilds unmoderated.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    """Create shard_beats, keyed by (shard count, shard id)."""
    op.create_table(
        "shard_beats",
        sa.Column("shard_count", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("shard_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shard_count", "shard_id", name="pk_shard_beats"),
    )


def downgrade() -> None:
    """Drop the table (the coverage check then sees no shard: it runs only with one)."""
    op.drop_table("shard_beats")
