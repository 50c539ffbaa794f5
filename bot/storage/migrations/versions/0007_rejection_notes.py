"""A rejecting moderator's free note, sealed with the quarantine item it is about.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    """Add quarantine_items.sealed_note (nullable: most items have none)."""
    op.add_column("quarantine_items", sa.Column("sealed_note", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Drop the column (the notes go with it)."""
    op.drop_column("quarantine_items", "sealed_note")
