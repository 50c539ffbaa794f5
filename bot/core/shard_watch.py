"""Every gateway shard open somewhere: a shard that no front end opens leaves its guilds unmoderated.

With Discord sharded over processes (``shard_ids``), each front end says every minute which shards it has
open (the ShardBeats port, in the shared database) and checks that every shard of the deployment was seen
lately. A gap (a process not started, a typo in a shard list, a process gone) is a way around the bot for
every guild on the missing shard: it is logged as an error each round until it is closed, and
:attr:`ShardWatch.missing` says which shards (for the readiness endpoint).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain import Clock, utc_now

log = logging.getLogger(__name__)


class ShardBeats(Protocol):
    """Which shards some process had open, and when (bot.storage.shard_beats.SqlShardBeats)."""

    def beat(self, owner: str, shard_count: int, shard_ids: Iterable[int]) -> None:
        """Say that ``owner`` has these shards open now."""
        ...

    def seen_since(self, shard_count: int, since: datetime) -> set[int]:
        """The shards some process said it had open since ``since``."""
        ...


class ShardWatch:
    """One front end's part: say which shards it holds, and look for shards nobody holds."""

    def __init__(
        self,
        beats: ShardBeats,
        *,
        owner: str,
        shard_count: int,
        shard_ids: Sequence[int],
        clock: Clock = utc_now,
        stale: timedelta = timedelta(minutes=3),
    ) -> None:
        self._beats = beats
        self._owner = owner
        self._shard_count = shard_count
        self._shard_ids = tuple(shard_ids)
        self._clock = clock
        self._stale = stale
        self._started = clock()
        #: Shards nobody said they had open within ``stale`` (empty until the others had time to start).
        self.missing: tuple[int, ...] = ()

    async def round(self) -> tuple[int, ...]:
        """Beat for this process's shards; then return (and log) the shards no process holds."""
        await asyncio.to_thread(self._beats.beat, self._owner, self._shard_count, self._shard_ids)
        now = self._clock()
        if now - self._started < self._stale:
            return ()  # the other processes may still be starting
        seen = await asyncio.to_thread(self._beats.seen_since, self._shard_count, now - self._stale)
        self.missing = tuple(sorted(set(range(self._shard_count)) - seen))
        if self.missing:
            log.error(
                "discord shards %s of %d are open in no process: their guilds are NOT moderated; "
                "start a process with them in CONSENTGUARD_DISCORD__SHARD_IDS",
                list(self.missing),
                self._shard_count,
            )
        return self.missing
