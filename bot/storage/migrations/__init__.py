"""Alembic migrations of the bot database, configured in code (no ``alembic.ini``) and run at open."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from bot.sqlbase import run_migrations

SCRIPT_LOCATION = Path(__file__).resolve().parent
#: Our own version table: the bot and the consent registry may share one PostgreSQL database, and each
#: keeps its own migration history.
VERSION_TABLE = "consentguard_bot_alembic_version"


def upgrade(engine: Engine) -> None:
    """Bring the database to the latest schema; a no-op when it is already there."""
    run_migrations(engine, SCRIPT_LOCATION)
