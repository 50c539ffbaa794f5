"""When each judged post was sent (the console's removal times), and an index for one group's history.

Plain ``ADD COLUMN`` and ``CREATE INDEX``: the append-only triggers on ``audit_events`` stay in place (a
batch rebuild of the table would drop them, and copying rows would trip them).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    """Add audit_events.posted_at (nullable: older events have none) and the per-group time index."""
    op.add_column("audit_events", sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_audit_events_chat_time", "audit_events", ["platform", "chat_id", "time"])


def downgrade() -> None:
    """Drop the index and the column (SQLite 3.35 or later drops a column in place)."""
    op.drop_index("ix_audit_events_chat_time", table_name="audit_events")
    op.drop_column("audit_events", "posted_at")
