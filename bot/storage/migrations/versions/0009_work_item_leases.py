"""Leases on unfinished work items: front-end replicas sharing a database never resume each other's posts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    """Add work_items.lease_owner and lease_until (NULL: anyone may resume the item, as before)."""
    op.add_column("work_items", sa.Column("lease_owner", sa.String(length=200), nullable=True))
    op.add_column("work_items", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the lease columns (a single front end needs none)."""
    op.drop_column("work_items", "lease_until")
    op.drop_column("work_items", "lease_owner")
