"""In-memory token buckets per name: an allowance per period, refilled continuously, with bursts up to it.

The registry keeps two kinds: lookups per key and minute (every request that names a token), and consents
issued per clinician and hour (per issuing key and per clinician identity, taken together).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Past this many buckets, the full ones (idle long enough to have refilled) are dropped: they hold nothing.
_PRUNE_AT = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """Allow ``allowance`` acquisitions per ``period_s`` seconds and per name, refilled continuously.

    A fresh name starts full, so a burst of ``allowance`` passes at once, then one every
    ``period_s / allowance`` seconds. In memory, so per process: behind several workers each grants its own
    allowance (see the contract doc). Thread-safe, because FastAPI runs sync endpoints on a thread pool.
    """

    def __init__(
        self,
        allowance: int,
        *,
        period_s: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if allowance < 1:
            raise ValueError("the allowance must be at least 1")
        if period_s <= 0:
            raise ValueError("the period must be positive")
        self._capacity = float(allowance)
        self._rate = allowance / period_s  # tokens per second
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int:
        """Take one token for ``key``; return 0 when allowed, else the whole seconds to wait (at least 1)."""
        return self.acquire_all((key,))

    def acquire_all(self, keys: Sequence[str]) -> int:
        """Take one token from each of ``keys`` only when every one has one; else take none.

        Returns 0 when allowed, else the whole seconds to wait (at least 1) until all of them have one.
        """
        now = self._monotonic()
        with self._lock:
            if len(self._buckets) > _PRUNE_AT:
                self._prune(now)
            buckets = [self._refilled(key, now) for key in dict.fromkeys(keys)]
            short = max((1.0 - bucket.tokens for bucket in buckets), default=0.0)
            if short > 0.0:
                return max(1, math.ceil(short / self._rate))
            for bucket in buckets:
                bucket.tokens -= 1.0
            return 0

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=self._capacity, updated=now)
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        return bucket

    def _prune(self, now: float) -> None:
        for key in [
            k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self._rate >= self._capacity
        ]:
            del self._buckets[key]
