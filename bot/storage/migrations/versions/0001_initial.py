"""Initial schema: quarantine, audit log (append-only), work log, offence counts.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

#: What the database answers to an UPDATE or DELETE of an audit event.
APPEND_ONLY_MESSAGE = "audit_events is append-only"


def upgrade() -> None:
    """Create the tables, and the triggers that keep the audit log append-only."""
    op.create_table(
        "quarantine_items",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("finding_kinds", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(128), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("image_count", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("sealed_meta", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_caption", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_key_id", sa.String(32), nullable=True),
        sa.Column("sealed_decided_by", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_quarantine_items_status_chat", "quarantine_items", ["status", "platform", "chat_id"])
    op.create_index("ix_quarantine_items_expires_at", "quarantine_items", ["expires_at"])
    op.create_table(
        "quarantine_images",
        sa.Column(
            "item_id",
            sa.String(32),
            sa.ForeignKey("quarantine_items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("image_id", sa.String(256), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("poster", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(128), nullable=False),
        sa.Column("finding_kinds", sa.Text(), nullable=False),
        sa.Column("consent_state", sa.String(32), nullable=True),
        sa.Column("token_fingerprint", sa.String(128), nullable=True),
        sa.Column("moderator", sa.String(16), nullable=True),
        sa.Column("decision", sa.String(32), nullable=True),
    )
    op.create_index("ix_audit_events_time", "audit_events", ["time"])
    _append_only_audit()
    op.create_table(
        "work_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("post_key", sa.String(255), nullable=False),
        sa.Column("revision", sa.String(128), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=True),
        sa.UniqueConstraint("post_key", "revision", name="uq_work_items_post_revision"),
    )
    op.create_index("ix_work_items_accepted_at", "work_items", ["accepted_at"])
    op.create_index("ix_work_items_done_at", "work_items", ["done_at"])
    op.create_table(
        "offences",
        sa.Column("platform", sa.String(32), primary_key=True),
        sa.Column("chat_id", sa.String(64), primary_key=True),
        sa.Column("poster", sa.String(16), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    )


def _append_only_audit() -> None:
    """Make the database itself refuse to rewrite history, whatever code (or operator) connects."""
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{action.lower()} BEFORE {action} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION consentguard_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION consentguard_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION consentguard_audit_append_only()"
        )
    # Other backends are not supported by the bot; the Python API offers no update or delete either way.


def downgrade() -> None:
    """Drop everything (the audit triggers go with their table)."""
    op.drop_table("offences")
    op.drop_index("ix_work_items_done_at", table_name="work_items")
    op.drop_index("ix_work_items_accepted_at", table_name="work_items")
    op.drop_table("work_items")
    op.drop_index("ix_audit_events_time", table_name="audit_events")
    op.drop_table("audit_events")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS consentguard_audit_append_only()")
    op.drop_table("quarantine_images")
    op.drop_index("ix_quarantine_items_expires_at", table_name="quarantine_items")
    op.drop_index("ix_quarantine_items_status_chat", table_name="quarantine_items")
    op.drop_table("quarantine_items")
