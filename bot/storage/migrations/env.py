"""Alembic environment of the bot database (see :func:`bot.sqlbase.run_alembic_environment`)."""

from bot.sqlbase import run_alembic_environment
from bot.storage.db import Base
from bot.storage.migrations import VERSION_TABLE

run_alembic_environment(Base.metadata, VERSION_TABLE)
