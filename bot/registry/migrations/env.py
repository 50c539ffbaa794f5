"""Alembic environment of the registry (see :func:`bot.sqlbase.run_alembic_environment`)."""

from bot.registry.db import Base
from bot.sqlbase import run_alembic_environment

run_alembic_environment(Base.metadata)
