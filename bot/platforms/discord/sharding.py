"""Gateway sharding: which shards this process opens, and how fast they may identify.

A large deployment's guilds are spread over shards, one gateway connection each (guild ``g`` lives on shard
``(g >> 22) % shard_count``); ``shard_ids`` spreads the shards themselves over processes.

Discord lets ``max_concurrency`` shards identify per 5 seconds, one per bucket ``shard_id % max_concurrency``
(``session_start_limit`` in ``GET /gateway/bot``). discord.py's sharded client instead sleeps 5 s before
every IDENTIFY but the first, whatever that limit: 100 shards would take over 8 minutes to come up where a
bot allowed 16 at once needs 30 seconds. :class:`IdentifyPacer` waits only as long as the limit requires.
It paces this process alone: processes sharing one bot's buckets would need to coordinate among themselves
(Discord closes an IDENTIFY over the limit and discord.py identifies again after a pause).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from bot.errors import ConfigurationError

#: Seconds between two IDENTIFYs of one rate-limit bucket.
IDENTIFY_INTERVAL_S = 5.0


def check_shards(shard_count: int | None, shard_ids: Sequence[int] | None) -> None:
    """Refuse a shard set Discord would refuse later (close 4010) or discord.py would misread, at start-up."""
    if shard_count is not None and shard_count < 1:
        raise ConfigurationError(f"discord shard_count must be at least 1, not {shard_count}")
    if shard_ids is None:
        return
    if shard_count is None:
        raise ConfigurationError("discord shard_ids needs shard_count (the shards of every process together)")
    # An empty list would make discord.py open every shard: the opposite of what was asked.
    if not shard_ids or len(set(shard_ids)) != len(shard_ids):
        raise ConfigurationError("discord shard_ids must list distinct shards, at least one")
    outside = [shard for shard in shard_ids if not 0 <= shard < shard_count]
    if outside:
        raise ConfigurationError(f"discord shard_ids {outside} are outside 0..{shard_count - 1}")


class IdentifyPacer:
    """Spaces IDENTIFYs as Discord allows: per bucket ``shard_id % max_concurrency``, one every 5 s."""

    def __init__(
        self,
        max_concurrency: int = 1,
        *,
        interval_s: float = IDENTIFY_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self._interval_s = interval_s
        self._clock = clock
        self._sleep = sleep
        self._next_free: dict[int, float] = {}

    async def wait(self, shard_id: int | None) -> None:
        """Return when ``shard_id`` may identify (the unsharded client is shard 0)."""
        bucket = (shard_id or 0) % self.max_concurrency
        now = self._clock()
        start = max(now, self._next_free.get(bucket, now))
        # The slot is taken before sleeping, so identifies waiting together queue up rather than collide.
        self._next_free[bucket] = start + self._interval_s
        if start > now:
            await self._sleep(start - now)
