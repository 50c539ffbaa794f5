"""Every Discord shard open in some process: a gap (its guilds unmoderated) is found and named."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pytest

from bot.bootstrap import shard_watch
from bot.core.shard_watch import ShardWatch
from bot.storage import open_bot_database
from tests.fakes.clock import MovableClock
from tests.fakes.settings import make_settings


class MemoryBeats:
    def __init__(self) -> None:
        self.seen: dict[tuple[int, int], datetime] = {}
        self.clock = MovableClock()

    def beat(self, owner: str, shard_count: int, shard_ids: Iterable[int]) -> None:
        for shard in shard_ids:
            self.seen[shard_count, shard] = self.clock()

    def seen_since(self, shard_count: int, since: datetime) -> set[int]:
        return {shard for (count, shard), at in self.seen.items() if count == shard_count and at >= since}


def _watch(beats: MemoryBeats, owner: str, ids: list[int]) -> ShardWatch:
    return ShardWatch(beats, owner=owner, shard_count=4, shard_ids=ids, clock=beats.clock)


async def test_processes_covering_every_shard_report_no_gap() -> None:
    beats = MemoryBeats()
    one, two = _watch(beats, "a", [0, 1]), _watch(beats, "b", [2, 3])
    for _minute in range(5):
        assert await one.round() == ()
        assert await two.round() == ()
        beats.clock.advance(minutes=1)
    assert one.missing == ()


async def test_a_shard_no_process_opens_is_named_once_the_others_had_time_to_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    beats = MemoryBeats()
    one, two = _watch(beats, "a", [0, 1]), _watch(beats, "b", [2])  # shard 3: in nobody's list
    assert await one.round() == ()  # just started: the others may still be on their way
    beats.clock.advance(minutes=3)
    await two.round()
    with caplog.at_level(logging.ERROR):
        assert await one.round() == (3,)
    assert one.missing == (3,)
    assert "NOT moderated" in caplog.text


async def test_a_process_that_died_leaves_its_shards_missing_after_a_while() -> None:
    beats = MemoryBeats()
    one, two = _watch(beats, "a", [0, 1]), _watch(beats, "b", [2, 3])
    beats.clock.advance(minutes=3)
    await two.round()
    assert await one.round() == ()
    beats.clock.advance(minutes=4)  # b is gone: no beat for four minutes
    assert await one.round() == (2, 3)


def test_run_watches_the_shards_only_when_they_are_spread_over_processes(tmp_path: Path) -> None:
    database = open_bot_database(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        alone = make_settings(data_dir=tmp_path, discord={"shard_count": 4})
        assert shard_watch(alone, database, MovableClock()) is None  # every shard in this process
        spread = make_settings(data_dir=tmp_path, discord={"shard_count": 4, "shard_ids": [0, 1]})
        assert isinstance(shard_watch(spread, database, MovableClock()), ShardWatch)
    finally:
        database.close()
