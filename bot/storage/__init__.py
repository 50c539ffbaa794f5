"""The bot's storage: one database (SQLite or PostgreSQL) for the quarantine, audit log and work log.

:func:`open_bot_database` opens it and runs its migrations; :mod:`bot.quarantine`, :mod:`bot.audit` and
:mod:`bot.worklog` are the components built on it.
"""

from bot.storage.db import BotDatabase, Clock, bot_database_url, open_bot_database, utc_now

__all__ = ["BotDatabase", "Clock", "bot_database_url", "open_bot_database", "utc_now"]
