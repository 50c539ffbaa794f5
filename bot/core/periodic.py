"""A round of work run every few seconds in the background, until closed: the followers' shared loop.

The first round runs one interval after :meth:`Periodic.start` (the platforms are up by then). A round that
fails is logged and tried again at the next interval: a bug or a database outage never stops the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """Calls ``round`` every ``interval_s`` seconds from :meth:`start` until :meth:`aclose`."""

    def __init__(
        self, round_: Callable[[], Awaitable[object]], *, interval_s: float, name: str, what: str
    ) -> None:
        """``name``: the asyncio task's; ``what``: the round, as a failure is logged ("revocation round")."""
        self._round = round_
        self.interval_s = interval_s
        self._name = name
        self._what = what
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the rounds (a second call does nothing)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def aclose(self) -> None:
        """Stop: a round in progress is cancelled."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self._round()
            except Exception:  # logged, tried again next round, never stops the bot
                log.exception("%s failed; retrying in %.0f s", self._what, self.interval_s)
