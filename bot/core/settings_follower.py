"""Group settings changed by another process (the standalone console) come into force in the running bot.

The console served by ``consentguard run`` changes the bot's own :class:`~bot.core.policy.Policies`: in force
at once. The standalone ``consentguard console`` shares only the database; this follower reads the stored
group settings every ``interval_s`` seconds and puts in force those that differ from what the bot applies.
"""

from __future__ import annotations

import asyncio
import logging

from bot.consent.model import ChatRef
from bot.core.periodic import Periodic
from bot.core.policy import Policies
from bot.core.ports import GroupSettingsStore

log = logging.getLogger(__name__)


class GroupSettingsFollower:
    """Polls the stored group settings and applies the changed ones to the shared policies."""

    def __init__(self, store: GroupSettingsStore, policies: Policies, *, interval_s: float = 5.0) -> None:
        self._store = store
        self._policies = policies
        self._rounds = Periodic(
            self.poll_once,
            interval_s=interval_s,
            name="consentguard-group-settings",
            what="reading the group settings",
        )
        #: Rounds completed (for tests and diagnostics: no sleeping to find out).
        self.rounds = 0

    def __repr__(self) -> str:
        return f"GroupSettingsFollower(interval_s={self._rounds.interval_s})"

    def start(self) -> None:
        """Poll every ``interval_s`` seconds until :meth:`aclose`."""
        self._rounds.start()

    async def aclose(self) -> None:
        """Stop polling."""
        await self._rounds.aclose()

    async def poll_once(self) -> int:
        """Apply every stored policy that differs from the one in force; returns how many changed."""
        stored = await asyncio.to_thread(self._store.load)
        changed = 0
        for name, policy in stored.items():
            chat = ChatRef.parse(name)
            if self._policies.for_chat(chat) != policy:
                self._policies.set(chat, policy)
                changed += 1
        if changed:
            log.info("%d group setting(s) changed elsewhere are now in force", changed)
        self.rounds += 1
        return changed
