"""Shard beats on the bot database (SQLite and PostgreSQL): which shards some process said it had open."""

from __future__ import annotations

from datetime import timedelta

from bot.storage import BotDatabase
from bot.storage.shard_beats import SqlShardBeats
from tests.fakes.clock import MovableClock


def test_shards_seen_lately_are_listed_and_a_silent_one_drops_out(
    db: BotDatabase, clock: MovableClock
) -> None:
    beats = SqlShardBeats(db, clock)
    beats.beat("front-a", 4, (0, 1))
    beats.beat("front-b", 4, (2,))
    clock.advance(minutes=2)
    beats.beat("front-a", 4, (0, 1))  # front-a is alive; front-b went quiet
    assert beats.seen_since(4, clock() - timedelta(minutes=3)) == {0, 1, 2}
    assert beats.seen_since(4, clock() - timedelta(minutes=1)) == {0, 1}


def test_a_shard_taken_over_by_another_process_is_updated_not_duplicated(
    db: BotDatabase, clock: MovableClock
) -> None:
    beats = SqlShardBeats(db, clock)
    beats.beat("front-a", 2, (0, 1))
    clock.advance(minutes=5)
    beats.beat("front-b", 2, (1,))  # front-a died; its shard 1 now opens in front-b
    assert beats.seen_since(2, clock() - timedelta(minutes=1)) == {1}


def test_another_shard_count_is_another_deployment(db: BotDatabase, clock: MovableClock) -> None:
    beats = SqlShardBeats(db, clock)
    beats.beat("old", 2, (0, 1))
    beats.beat("new", 4, (0,))
    assert beats.seen_since(4, clock() - timedelta(minutes=1)) == {0}
