"""The per-poster lookup limit: one member quoting junk tokens cannot spend the bot's registry budget.

The registry gives the bot's key one budget of lookups (``registry_lookups_per_minute``). Without a limit of
the bot's own, a member posting well-formed junk tokens drains it, and every group's legitimate posts then
fail closed. Each (platform, poster) therefore gets a token bucket here, spent *before* the registry is
asked: ``capacity`` lookups, refilled evenly over ``window``. A token the registry does not know costs
``unknown_cost`` lookups in all (a guess, or a typo the check character missed), so guessing is slower still.
Past the limit the post is not looked up: the pipeline treats it as "consent not checked" and fails closed
(quarantine, the poster told why); other posters are unaffected.

Pure and in memory (a restart refills every bucket): no I/O, the time comes from the injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.consent.model import UserRef
from bot.domain import Clock, utc_now

#: Buckets kept at most; past it, full buckets (posters idle for a whole window) are dropped.
_MAX_BUCKETS = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime


class PosterLimit:
    """A token bucket per (platform, poster) in front of the consent registry."""

    def __init__(
        self,
        *,
        capacity: int = 10,
        window: timedelta = timedelta(minutes=10),
        unknown_cost: int = 3,
        clock: Clock = utc_now,
    ) -> None:
        if capacity < 1 or window <= timedelta(0) or unknown_cost < 1:
            raise ValueError(
                "a poster limit needs a capacity, a window and an unknown-token cost of 1 or more"
            )
        self._capacity = float(capacity)
        self._rate = capacity / window.total_seconds()  # lookups regained per second
        self._unknown_extra = float(unknown_cost - 1)  # the lookup itself was spent already
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def __repr__(self) -> str:
        return f"PosterLimit(capacity={self._capacity:g}, posters={len(self._buckets)})"

    def try_spend(self, poster: UserRef) -> bool:
        """Spend one lookup of ``poster``'s bucket; False (nothing spent) when fewer than one is left."""
        bucket = self._refilled(poster)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def charge_unknown(self, poster: UserRef) -> None:
        """The registry did not know the token ``poster`` quoted: charge the extra (may go below zero)."""
        bucket = self._refilled(poster)
        # Below zero by one window's worth at most: a burst of junk is paid for, never a lifelong lock-out.
        bucket.tokens = max(bucket.tokens - self._unknown_extra, -self._capacity)

    def remaining(self, poster: UserRef) -> float:
        """Lookups ``poster`` may still have (for tests and diagnostics)."""
        return self._refilled(poster).tokens

    def _refilled(self, poster: UserRef) -> _Bucket:
        now = self._clock()
        key = str(poster)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._drop_full(now)
            bucket = self._buckets[key] = _Bucket(self._capacity, now)
            return bucket
        elapsed = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens = min(self._capacity, bucket.tokens + elapsed * self._rate)
        bucket.at = now
        return bucket

    def _drop_full(self, now: datetime) -> None:
        for key, bucket in list(self._buckets.items()):
            elapsed = max(0.0, (now - bucket.at).total_seconds())
            if bucket.tokens + elapsed * self._rate >= self._capacity:
                del self._buckets[key]
