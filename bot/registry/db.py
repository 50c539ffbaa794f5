"""SQLAlchemy models of the registry and the engine factory (SQLite or PostgreSQL, chosen by URL).

Secrets never reach the database in clear: consent tokens and API keys are stored as SHA-256 hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from bot.sqlbase import UtcDateTime, create_database_engine


class Base(DeclarativeBase):
    """Declarative base of the registry's tables."""


class ConsentRow(Base):
    """One consent; the token is known only through its hash."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    patient_ref: Mapped[str] = mapped_column(String(256))
    purposes: Mapped[str] = mapped_column(Text)  # JSON list of Purpose values
    groups: Mapped[str] = mapped_column(Text)  # JSON list of "platform:chat" or "*"
    clinicians: Mapped[str] = mapped_column(Text)  # JSON list of "platform:user"
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    max_images: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issued_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)


class ConsentUseRow(Base):
    """One image posted under a consent; the unique constraint makes recording idempotent."""

    __tablename__ = "consent_uses"
    __table_args__ = (
        UniqueConstraint(
            "consent_id", "platform", "chat_id", "message_id", "image_sha256", name="uq_consent_uses_image"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    image_sha256: Mapped[str] = mapped_column(String(64))
    poster: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiKeyRow(Base):
    """An API key: its public id, the SHA-256 of the whole key, its role and owner."""

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


def create_registry_engine(database_url: str) -> Engine:
    """Create the registry's engine (see :func:`bot.sqlbase.create_database_engine`)."""
    return create_database_engine(database_url)


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
