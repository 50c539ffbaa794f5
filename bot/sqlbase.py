"""What the bot's database and the consent registry's database share: engines, UTC times, write locks.

Both run on SQLite by default (one file each under the data directory) and on PostgreSQL by URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker
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
            raise ValueError("naive datetime: consentguard stores UTC-aware datetimes only")
        converted = value.astimezone(UTC)
        # SQLite stores text: keep it offset-free so that string comparison orders correctly.
        return converted.replace(tzinfo=None) if dialect.name == "sqlite" else converted

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return UTC-aware datetimes."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_database_engine(database_url: str) -> Engine:
    """Create the engine for ``database_url``; SQLite gets WAL, secure delete and write-locking BEGINs."""
    url = make_url(database_url)
    # hide_parameters: a failing statement's message must not carry stored values into a log.
    if url.get_backend_name() != "sqlite":
        return create_engine(url, hide_parameters=True, pool_pre_ping=True)
    in_memory = url.database in (None, "", ":memory:")
    if not in_memory and url.database is not None:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        hide_parameters=True,
        # uvicorn serves sync endpoints from a thread pool; the pipeline calls storage from threads.
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
            # Deleted rows are overwritten with zeros instead of lingering in free pages: purged
            # quarantine ciphertext, work payloads and revoked consents really leave the file.
            cursor.execute("PRAGMA secure_delete=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A writing transaction takes the write lock up front (IMMEDIATE): the read-check-write of a use
        # (max_images) cannot race another writer, and a reader is never upgraded to a writer half-way
        # (SQLITE_BUSY_SNAPSHOT). Pure reads stay DEFERRED and run alongside writers under WAL.
        writes = connection.get_execution_options().get(WRITE_LOCK, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


@contextmanager
def writing(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a transaction that holds the write lock from its start (SQLite; no-op elsewhere)."""
    with sessions.begin() as session:
        session.connection(execution_options={WRITE_LOCK: True})
        yield session


def run_migrations(engine: Engine, script_location: Path) -> None:
    """Bring a database to its latest schema with the Alembic scripts in ``script_location`` (no alembic.ini).

    Runs under the write lock: two processes starting together migrate one after the other.
    """
    config = Config()
    # Config values go through configparser interpolation: a "%" in the path must be doubled.
    config.set_main_option("script_location", str(script_location).replace("%", "%%"))
    config.attributes["engine"] = engine
    with engine.execution_options(**{WRITE_LOCK: True}).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def run_alembic_environment(metadata: Any, version_table: str = "alembic_version") -> None:
    """The body of a migrations package's ``env.py``: run on the connection :func:`run_migrations` opened."""
    from alembic import context
    from sqlalchemy.engine import Connection

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            # SQLite cannot ALTER most things: batch mode rebuilds tables in later migrations.
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported: run them against a database")
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        run(connection)
        return
    with context.config.attributes["engine"].begin() as fresh:
        run(fresh)
