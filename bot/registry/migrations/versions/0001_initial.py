"""Initial schema: consents, consent_uses, api_keys.

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


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("patient_ref", sa.String(256), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("groups", sa.Text(), nullable=False),
        sa.Column("clinicians", sa.Text(), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_images", sa.Integer(), nullable=True),
        sa.Column("issued_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_consents_token_hash", "consents", ["token_hash"], unique=True)
    op.create_index("ix_consents_revoked_at", "consents", ["revoked_at"])
    op.create_table(
        "consent_uses",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "consent_id", sa.Integer(), sa.ForeignKey("consents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("image_sha256", sa.String(64), nullable=False),
        sa.Column("poster", sa.String(128), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "consent_id", "platform", "chat_id", "message_id", "image_sha256", name="uq_consent_uses_image"
        ),
    )
    op.create_index("ix_consent_uses_consent_id", "consent_uses", ["consent_id"])
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(16), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("api_keys")
    op.drop_index("ix_consent_uses_consent_id", table_name="consent_uses")
    op.drop_table("consent_uses")
    op.drop_index("ix_consents_revoked_at", table_name="consents")
    op.drop_index("ix_consents_token_hash", table_name="consents")
    op.drop_table("consents")
