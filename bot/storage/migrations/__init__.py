"""Alembic migrations of the bot database, configured in code (no ``alembic.ini``) and run at open."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from bot.registry.db import WRITE_LOCK

SCRIPT_LOCATION = Path(__file__).resolve().parent
#: Our own version table: the bot and the consent registry may share one PostgreSQL database, and each
#: keeps its own migration history.
VERSION_TABLE = "consentguard_bot_alembic_version"


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration for this package's scripts, bound to ``engine`` when run."""
    config = Config()
    # Config values go through configparser interpolation: a "%" in the path must be doubled.
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database to the latest schema; a no-op when it is already there."""
    config = alembic_config(engine)
    # Under the write lock: two processes opening the database together migrate one after the other.
    with engine.execution_options(**{WRITE_LOCK: True}).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
