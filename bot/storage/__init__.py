"""The bot's storage: one database (SQLite or PostgreSQL) for the quarantine, audit log and work log.

:func:`open_bot_database` opens it and runs its migrations; :mod:`bot.storage.quarantine`,
:mod:`bot.storage.audit` and :mod:`bot.storage.worklog` are the components built on it.
"""

from bot.storage.db import BotDatabase, bot_database_url, open_bot_database

__all__ = ["BotDatabase", "bot_database_url", "open_bot_database"]
