"""The change signal the fake servers share: tests wait on state changes, never on a clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ChangeSignal:
    """Set-and-replace event: waiters hold the current event; :meth:`changed` sets it and starts a new one.

    :meth:`changed` is synchronous, so the fakes' injection helpers stay plain functions.
    """

    def __init__(self) -> None:
        self._signal = asyncio.Event()

    @property
    def signal(self) -> asyncio.Event:
        """The event the next :meth:`changed` sets; take it *before* checking a condition, then wait."""
        return self._signal

    def changed(self) -> None:
        """Wake every waiter (each then re-checks its own condition)."""
        self._signal.set()
        self._signal = asyncio.Event()

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait, without polling, until ``condition()`` holds (it is re-checked on every change)."""
        async with asyncio.timeout(timeout):
            while True:
                signal = self._signal
                if condition():
                    return
                await signal.wait()
