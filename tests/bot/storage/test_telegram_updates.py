"""Claims on Telegram updates (webhook mode): each update handled once across replicas, on both databases."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.storage import BotDatabase
from bot.storage.telegram_updates import TelegramUpdateLog
from tests.fakes.clock import MovableClock

BOT, OTHER_BOT = 123, 456


def test_a_claimed_update_is_busy_until_confirmed_then_done(db: BotDatabase, clock: MovableClock) -> None:
    updates = TelegramUpdateLog(db, clock)
    assert updates.claim(BOT, 1) == "new"
    assert updates.claim(BOT, 1) == "busy"  # a second delivery while the first is being handled
    assert updates.claim(OTHER_BOT, 1) == "new"  # update ids are per bot
    updates.confirm(BOT, 1)
    assert updates.claim(BOT, 1) == "done"
    updates.release(BOT, 1)  # a confirmed claim is never released
    assert updates.claim(BOT, 1) == "done"


def test_a_released_claim_lets_the_redelivery_through(db: BotDatabase, clock: MovableClock) -> None:
    updates = TelegramUpdateLog(db, clock)
    assert updates.claim(BOT, 7) == "new"
    updates.release(BOT, 7)  # accepting the update failed: Telegram sends it again
    assert updates.claim(BOT, 7) == "new"


def test_a_stale_claim_is_taken_over_once(db: BotDatabase, clock: MovableClock) -> None:
    updates = TelegramUpdateLog(db, clock, lease=timedelta(seconds=60))
    assert updates.claim(BOT, 9) == "new"  # its replica dies before confirming or releasing
    clock.advance(seconds=59)
    assert updates.claim(BOT, 9) == "busy"
    clock.advance(seconds=2)
    assert updates.claim(BOT, 9) == "new"  # taken over: the crash delayed the update, it did not drop it
    assert updates.claim(BOT, 9) == "busy"  # and the take-over is a claim like any other


def test_claims_older_than_a_week_are_forgotten(db: BotDatabase, clock: MovableClock) -> None:
    updates = TelegramUpdateLog(db, clock)
    updates.claim(BOT, 1)
    updates.confirm(BOT, 1)
    updates.claim(BOT, 2)  # never confirmed: forgotten all the same, Telegram gave up on it long ago
    clock.advance(days=6)
    updates.claim(BOT, 3)
    updates.confirm(BOT, 3)
    clock.advance(days=2)
    assert updates.forget_older_than(timedelta(days=7)) == 2
    assert updates.claim(BOT, 3) == "done"  # kept: a day or two old
    assert updates.claim(BOT, 1) == "new"


def test_concurrent_deliveries_claim_an_update_once(db: BotDatabase, clock: MovableClock) -> None:
    updates = TelegramUpdateLog(db, clock)
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def deliver() -> None:
        start.wait()
        outcomes.append(updates.claim(BOT, 42))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["busy"] * 5 + ["new"]
