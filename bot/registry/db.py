"""SQLAlchemy models of the registry and the engine factory (SQLite or PostgreSQL, chosen by URL).

Secrets never reach the database in clear: consent tokens and API keys are stored as SHA-256 hashes. A SQLite
database is a file only its owner may read or write (0600, in a 0700 directory when the registry creates it):
it holds patient references.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import make_url
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


#: The database file and the companions SQLite may leave beside it.
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def create_registry_engine(database_url: str) -> Engine:
    """Create the registry's engine (see :func:`bot.sqlbase.create_database_engine`).

    A SQLite file is created (or tightened) to mode 0600 before SQLAlchemy opens it, whatever the umask;
    SQLite then gives its WAL, shared-memory and journal files the database file's mode.
    """
    url = make_url(database_url)
    database = url.database or ""
    # In memory: no file. A "file:" URI (uri=true) carries options: left to SQLite as it is.
    in_file = (
        database not in ("", ":memory:") and not url.query.get("uri") and not database.startswith("file:")
    )
    if url.get_backend_name() == "sqlite" and in_file:
        make_private_sqlite_file(Path(database))
    return create_database_engine(database_url)


def make_private_sqlite_file(path: Path) -> None:
    """Create ``path`` (and its missing directories, 0700) as an empty 0600 file; tighten it if it exists.

    Files and directories owned by someone else are left as they are.
    """
    _make_private_directories(path.parent)
    descriptor = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        _tighten(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)
    for suffix in SQLITE_COMPANIONS[1:]:
        companion = path.with_name(path.name + suffix)
        try:
            descriptor = os.open(companion, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            _tighten(descriptor, FILE_MODE)
        finally:
            os.close(descriptor)


def _make_private_directories(directory: Path) -> None:
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:  # another process made it in between: theirs to set
            continue
        created.chmod(DIRECTORY_MODE)  # the umask may only remove bits: make it exact


def _tighten(descriptor: int, mode: int) -> None:
    status = os.fstat(descriptor)
    if status.st_uid == os.geteuid() and status.st_mode & 0o777 != mode:
        os.fchmod(descriptor, mode)


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


# -- consent capture (the signed form behind a one-time link) ---------------------------------------------


class CaptureLinkRow(Base):
    """A one-time link to the consent form; the secret in its URL is known only through its hash.

    ``state`` goes pending -> signing (the form was submitted) -> signed (consent issued; the token waits,
    sealed, for the bot) -> collected (the bot has it; the sealed token is gone).
    """

    __tablename__ = "capture_links"

    link_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    owner_key: Mapped[str] = mapped_column(String(16))  # id of the bot key that asked for it
    clinician: Mapped[str] = mapped_column(String(128))
    clinician_name: Mapped[str | None] = mapped_column(String(128), nullable=True)  # as the bot shows it
    chat: Mapped[str] = mapped_column(String(128))
    chat_title: Mapped[str | None] = mapped_column(String(256), nullable=True)
    language: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    collected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    consent_id: Mapped[int | None] = mapped_column(ForeignKey("consents.id"), nullable=True)
    sealed_token: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class SignedConsentRow(Base):
    """The signed record of a captured consent: names and signature sealed, the withdrawal code hashed."""

    __tablename__ = "signed_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), unique=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("capture_links.link_id"), unique=True)
    receipt_id: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    signer: Mapped[str] = mapped_column(String(16))  # patient | guardian
    signature_kind: Mapped[str] = mapped_column(String(16))  # drawn | typed
    sealed_patient_name: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_guardian_name: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sealed_signature: Mapped[bytes] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(8))
    text_version: Mapped[str] = mapped_column(String(32))
    text_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawal_code_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    # The consent token, sealed under a key derived from the withdrawal code: the registry cannot read it
    # back, but the code's holder can have it revoked through the service.
    sealed_token_by_code: Mapped[bytes] = mapped_column(LargeBinary)
    # The withdrawal code in clear, sealed, only while the receipt may still be shown.
    sealed_receipt_code: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    receipt_until: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
