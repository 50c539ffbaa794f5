"""The per-poster lookup limit: a token bucket per (platform, poster), time from an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.consent.model import UserRef
from bot.core.poster_limit import PosterLimit
from tests.fakes.clock import MovableClock

ALICE, BOB = UserRef("telegram", "42"), UserRef("telegram", "43")


def limit(clock: MovableClock, capacity: int = 10, unknown_cost: int = 3) -> PosterLimit:
    return PosterLimit(
        capacity=capacity, window=timedelta(minutes=10), unknown_cost=unknown_cost, clock=clock
    )


def test_a_poster_gets_capacity_lookups_then_none() -> None:
    bucket = limit(MovableClock())
    assert all(bucket.try_spend(ALICE) for _ in range(10))
    assert not bucket.try_spend(ALICE)


def test_other_posters_are_unaffected() -> None:
    bucket = limit(MovableClock())
    while bucket.try_spend(BOB):
        pass
    assert bucket.try_spend(ALICE)
    assert bucket.try_spend(UserRef("discord", "43"))  # the same id on another platform is someone else


def test_the_bucket_refills_over_the_window() -> None:
    clock = MovableClock()
    bucket = limit(clock)
    while bucket.try_spend(ALICE):
        pass
    clock.advance(minutes=1)  # a tenth of the window: one lookup back
    assert bucket.try_spend(ALICE)
    assert not bucket.try_spend(ALICE)
    clock.advance(minutes=30)
    assert bucket.remaining(ALICE) == pytest.approx(10)  # never above the capacity


def test_unknown_tokens_cost_more_but_never_lock_a_poster_out_for_good() -> None:
    clock = MovableClock()
    bucket = limit(clock)
    spent = 0
    while bucket.try_spend(BOB):
        bucket.charge_unknown(BOB)
        spent += 1
    assert spent == 4  # 10 lookups at 3 each (the last one pays its due below zero)
    for _ in range(100):
        bucket.charge_unknown(BOB)
    clock.advance(minutes=20)  # at most one window below zero, so two windows refill it
    assert bucket.try_spend(BOB)


def test_a_limit_needs_sensible_values() -> None:
    with pytest.raises(ValueError, match="capacity"):
        PosterLimit(capacity=0, window=timedelta(minutes=1))
