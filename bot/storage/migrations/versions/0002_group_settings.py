"""Group settings: each group's policy as its moderators last set it.

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    """Create the group_settings table (one row per chat, the policy as JSON)."""
    op.create_table(
        "group_settings",
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("chat_id", sa.String(64), primary_key=True),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the group_settings table."""
    op.drop_table("group_settings")
