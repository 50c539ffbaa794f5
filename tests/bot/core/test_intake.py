"""Strict mode removes a burst at once: only scanning is limited to the scan workers' pace, not fetching,
holding and removing; the number of posts held at once is bounded, and adapters can wait for room."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


async def test_scans_start_only_once_the_burst_is_removed(tmp_path: Path) -> None:
    # The scan workers take every core they can: a scan started while the burst is still being removed would
    # slow each removal down. Removals go first.
    h, moderator = await make_harness(tmp_path)
    try:
        removed_when_scanning: list[int] = []
        remove, scan = h.platform.delete_messages, h.scanner.scan

        async def slow_remove(*args: Any, **kwargs: Any) -> bool:
            await asyncio.sleep(0.02)
            return await remove(*args, **kwargs)

        async def scan_after(data: bytes, name_hint: str) -> Any:
            removed_when_scanning.append(len(h.platform.actions("delete")))
            return await scan(data, name_hint)

        h.platform.delete_messages = slow_remove  # type: ignore[method-assign]
        h.scanner.scan = scan_after  # type: ignore[method-assign]
        posts = [h.post(b"CLEAN-%d" % i, message_id=str(300 + i)) for i in range(8)]
        assert all(await moderator.accept_many(posts))  # one getUpdates batch, as the Telegram adapter does
        await asyncio.gather(*(moderator.process(post) for post in posts))
        assert removed_when_scanning == [len(posts)] * len(posts)
    finally:
        await h.close()


async def test_a_removal_that_hangs_does_not_stall_the_scans(tmp_path: Path) -> None:
    h, moderator = await make_harness(tmp_path)
    try:
        stuck = asyncio.Event()
        remove = h.platform.delete_messages

        async def hang_once(*args: Any, **kwargs: Any) -> bool:
            if not stuck.is_set():
                stuck.set()
                await asyncio.Event().wait()  # this platform call never answers
            return await remove(*args, **kwargs)

        h.platform.delete_messages = hang_once  # type: ignore[method-assign]
        hanging = asyncio.ensure_future(moderator.handle(h.post(b"CLEAN-0", message_id="400")))
        await stuck.wait()
        async with asyncio.timeout(10):  # the wait for removals is bounded (2 s), then scans go on
            handled = await moderator.handle(h.post(b"FACE-1", message_id="401"))
        assert handled is not None
        assert handled.decision.reason == "no-consent-identifying"  # scanned, though a removal still hangs
        hanging.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hanging
    finally:
        await h.close()
