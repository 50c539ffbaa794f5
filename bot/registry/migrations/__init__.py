"""Alembic migrations of the registry, configured in code (no ``alembic.ini``) and run at start-up."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from bot.sqlbase import run_migrations

SCRIPT_LOCATION = Path(__file__).resolve().parent


def upgrade(engine: Engine) -> None:
    """Bring the database to the latest schema; a no-op when it is already there."""
    run_migrations(engine, SCRIPT_LOCATION)
