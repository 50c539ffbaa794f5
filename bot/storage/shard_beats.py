"""Which gateway shards some front end has open, as each says every minute (bot.core.shard_watch).

One row per (shard count, shard id): the last process that said it holds the shard, and when. Rows of
another shard count (the deployment was resharded) are ignored by the check and overwritten in time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain import Clock, utc_now
from bot.sqlbase import UtcDateTime, writing
from bot.storage.db import Base, BotDatabase


class ShardBeatRow(Base):
    """One shard, the process that last said it has it open, and when."""

    __tablename__ = "shard_beats"

    shard_count: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    shard_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SqlShardBeats:
    """The ShardBeats port (bot.core.shard_watch) on the bot database; thread-safe."""

    def __init__(self, db: BotDatabase, clock: Clock = utc_now) -> None:
        self._sessions = db.sessions
        self._clock = clock

    def beat(self, owner: str, shard_count: int, shard_ids: Iterable[int]) -> None:
        """Say that ``owner`` has these shards open now."""
        now = self._clock()
        for _attempt in range(2):
            try:
                with writing(self._sessions) as session:
                    for shard_id in shard_ids:
                        # merge: insert or update by primary key, on SQLite and PostgreSQL alike.
                        row = ShardBeatRow(
                            shard_count=shard_count, shard_id=shard_id, owner=owner, seen_at=now
                        )
                        session.merge(row)
                return
            except IntegrityError:
                continue  # another process inserted the same shard first (PostgreSQL): update it now

    def seen_since(self, shard_count: int, since: datetime) -> set[int]:
        """The shards of a ``shard_count`` deployment that some process said it had open since ``since``."""
        query = select(ShardBeatRow.shard_id).where(
            ShardBeatRow.shard_count == shard_count, ShardBeatRow.seen_at >= since
        )
        with self._sessions() as session:
            return set(session.scalars(query))
