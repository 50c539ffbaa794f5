"""Looking at a database as another client would: one statement, or everything it holds at rest.

Used by the storage tests of the bot and of the registry, on SQLite (the embedded default) and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text


def run_sql(db_url: str, statement: str, **params: object) -> list[tuple[Any, ...]]:
    """Run one statement on the database outside the code under test (as another client would)."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def stored_bytes(db_url: str, db_path: Path) -> bytes:
    """Everything the database holds at rest: SQLite's files; on PostgreSQL, every value of every table.

    The tests that look for plaintext read this: on SQLite the file (freed pages and WAL included), on
    PostgreSQL every column of every row of the schema, as the server would hand them to anyone reading.
    """
    if db_url.startswith("sqlite"):
        return b"".join(path.read_bytes() for path in sorted(db_path.parent.glob(db_path.name + "*")))
    engine = create_engine(db_url)
    content = bytearray()
    try:
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - our tables
                    for value in row:
                        content += value if isinstance(value, bytes) else str(value).encode()
                        content += b"\0"
    finally:
        engine.dispose()
    return bytes(content)
