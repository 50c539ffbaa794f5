"""The real PostgreSQL on 127.0.0.1 for the tests: one database per test run, one schema per test.

The server is the machine's own (CI runs one too), reached as ``postgres`` with trust authentication, as
the project's brief says; ``CONSENTGUARD_TEST_POSTGRES`` overrides the administrative URL. The run's
database is created at the first use and dropped at the end of the run (``WITH (FORCE)``: a test that left
a connection open does not keep it alive); each test gets an empty schema of its own, named on the URL's
``search_path``, dropped after it. Nothing of one test is seen by another, and nothing is left behind.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
from psycopg import sql

ADMIN_URL = os.environ.get("CONSENTGUARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"the PostgreSQL tests need a server at {ADMIN_URL} (user postgres, trust authentication); "
            "set CONSENTGUARD_TEST_POSTGRES to another administrative URL"
        ) from exc


class PostgresRun:
    """The test run's database on the local server."""

    def __init__(self) -> None:
        self.name = f"consentguard_test_{secrets.token_hex(6)}"
        with _admin() as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        base = ADMIN_URL.rsplit("/", 1)[0]
        self.url = f"{base}/{self.name}"

    def drop(self) -> None:
        """Drop the run's database, whoever is still connected."""
        with _admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )

    @contextmanager
    def schema(self) -> Iterator[str]:
        """A SQLAlchemy URL (psycopg 3) whose tables land in a fresh schema, dropped afterwards."""
        schema = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        options = quote(f"-csearch_path={schema}")
        url = self.url.replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            # The schema's name as application_name too: its connections can be found and closed after.
            yield f"{url}?options={options}&application_name={schema}"
        finally:
            with psycopg.connect(self.url, autocommit=True) as connection:
                # A connection the test closed may still be listed while its server process exits: wait
                # for that (a second at most). One still there is a leak: an engine nobody disposed (an app
                # whose lifespan did not run) keeps its pooled connections. Close them (hundreds of tests
                # would exhaust the server's slots), then say which test leaked.
                for _ in range(50):
                    if not _connections(connection, schema):
                        break
                    time.sleep(0.02)
                left = connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                    (schema,),
                ).fetchall()
                connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            if left:
                raise AssertionError(
                    f"{len(left)} connection(s) left open to the test's schema: dispose the engine"
                )


def _connections(connection: psycopg.Connection[tuple[object, ...]], application_name: str) -> int:
    row = connection.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
    ).fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]
