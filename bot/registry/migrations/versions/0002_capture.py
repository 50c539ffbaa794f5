"""Consent capture: one-time links to the consent form and the signed records behind them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    """Create capture_links and signed_consents."""
    op.create_table(
        "capture_links",
        sa.Column("link_id", sa.String(32), primary_key=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("owner_key", sa.String(16), nullable=False),
        sa.Column("clinician", sa.String(128), nullable=False),
        sa.Column("clinician_name", sa.String(128), nullable=True),
        sa.Column("chat", sa.String(128), nullable=False),
        sa.Column("chat_title", sa.String(256), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_id", sa.Integer(), sa.ForeignKey("consents.id"), nullable=True),
        sa.Column("sealed_token", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_capture_links_secret_hash", "capture_links", ["secret_hash"], unique=True)
    op.create_table(
        "signed_consents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("consent_id", sa.Integer(), sa.ForeignKey("consents.id"), nullable=False),
        sa.Column("link_id", sa.String(32), sa.ForeignKey("capture_links.link_id"), nullable=False),
        sa.Column("receipt_id", sa.String(32), nullable=False),
        sa.Column("signer", sa.String(16), nullable=False),
        sa.Column("signature_kind", sa.String(16), nullable=False),
        sa.Column("sealed_patient_name", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_guardian_name", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_signature", sa.LargeBinary(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("text_version", sa.String(32), nullable=False),
        sa.Column("text_sha256", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawal_code_hash", sa.String(64), nullable=False),
        sa.Column("sealed_token_by_code", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_receipt_code", sa.LargeBinary(), nullable=True),
        sa.Column("receipt_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("consent_id"),
        sa.UniqueConstraint("link_id"),
    )
    op.create_index("ix_signed_consents_receipt_id", "signed_consents", ["receipt_id"], unique=True)
    op.create_index(
        "ix_signed_consents_withdrawal_code_hash", "signed_consents", ["withdrawal_code_hash"], unique=True
    )


def downgrade() -> None:
    """Drop the two tables."""
    op.drop_index("ix_signed_consents_withdrawal_code_hash", table_name="signed_consents")
    op.drop_index("ix_signed_consents_receipt_id", table_name="signed_consents")
    op.drop_table("signed_consents")
    op.drop_index("ix_capture_links_secret_hash", table_name="capture_links")
    op.drop_table("capture_links")
