"""Strict mode removes a burst at once: only scanning is limited to the scan workers' pace, not fetching,
holding and removing; the number of posts held at once is bounded, and adapters can wait for room."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from bot.domain import Verdict
from tests.bot.test_pipeline import make_harness


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (10 s at most) until ``condition()`` holds."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached within 10 s")


async def test_a_burst_is_removed_while_its_scans_still_wait(tmp_path: Path) -> None:
    h, moderator = await make_harness(tmp_path)
    try:
        h.scanner.gate = asyncio.Event()  # every scan blocks until the gate opens
        posts = [h.post(b"CLEAN-%d" % i, message_id=str(100 + i)) for i in range(12)]  # 3x the scan slots
        handling = [asyncio.ensure_future(moderator.handle(post)) for post in posts]
        await eventually(lambda: len(h.platform.actions("delete")) == len(posts))
        assert not any(task.done() for task in handling)  # removed, not judged yet: the scans wait
        h.scanner.gate.set()
        handled = await asyncio.gather(*handling)
        assert {result.decision.verdict for result in handled if result} == {Verdict.QUARANTINE}
        assert len(h.platform.actions("delete")) == len(posts)  # removed once each, not again
    finally:
        await h.close()


async def test_adapters_wait_for_room_when_the_bot_holds_its_limit(tmp_path: Path) -> None:
    h, moderator = await make_harness(tmp_path)
    try:
        h.scanner.gate = asyncio.Event()
        limit = moderator.backlog_limit
        handling = [
            asyncio.ensure_future(moderator.handle(h.post(b"CLEAN", message_id=str(200 + i))))
            for i in range(limit)
        ]
        await eventually(lambda: moderator.in_flight == limit)
        room = asyncio.ensure_future(moderator.wait_for_room())
        await asyncio.sleep(0.05)
        assert not room.done()  # full: the next update stays on the platform
        h.scanner.gate.set()
        async with asyncio.timeout(10):
            await room
        await asyncio.gather(*handling)
        assert moderator.in_flight == 0
    finally:
        await h.close()
