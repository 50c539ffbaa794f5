"""SQLAlchemy models of the registry and the engine factory (SQLite or PostgreSQL, chosen by URL).

Secrets never reach the database in clear: consent tokens and API keys are stored as SHA-256 hashes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

#: Seconds a SQLite writer waits for another process (the CLI, the server) to finish its write.
SQLITE_BUSY_TIMEOUT_S = 15.0
#: Execution option that makes a SQLite transaction take the write lock when it begins (see ``_on_begin``).
WRITE_LOCK = "consentguard_write_lock"


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite drops the offset; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the registry stores UTC-aware datetimes only")
        converted = value.astimezone(UTC)
        # SQLite stores text: keep it offset-free so that string comparison orders correctly.
        return converted.replace(tzinfo=None) if dialect.name == "sqlite" else converted

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return UTC-aware datetimes."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
    """Create the engine for ``database_url``; SQLite gets WAL, foreign keys and write-serialising BEGINs."""
    url = make_url(database_url)
    # hide_parameters: a failing statement's message must not carry patient_ref or hashes into a log.
    if url.get_backend_name() != "sqlite":
        return create_engine(url, hide_parameters=True, pool_pre_ping=True)
    in_memory = url.database in (None, "", ":memory:")
    if not in_memory and url.database is not None:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        hide_parameters=True,
        # uvicorn serves sync endpoints from a thread pool.
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
        **({"poolclass": StaticPool} if in_memory else {}),
    )
    _configure_sqlite(engine, wal=not in_memory)
    return engine


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that we can BEGIN IMMEDIATE (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                # WAL lets the operator CLI write while the server reads the same file.
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writing transaction takes the write lock up front (IMMEDIATE): the read-check-write of a use
        # (max_images) cannot race another writer, and a reader is never upgraded to a writer half-way
        # (SQLITE_BUSY_SNAPSHOT). Pure reads stay DEFERRED and run alongside writers under WAL.
        writes = connection.get_execution_options().get(WRITE_LOCK, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def writing(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a transaction that holds the write lock from its start (SQLite; no-op elsewhere)."""
    with sessions.begin() as session:
        session.connection(execution_options={WRITE_LOCK: True})
        yield session
