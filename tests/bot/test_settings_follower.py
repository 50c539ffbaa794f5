"""The group settings follower: a change stored by another process comes into force in the running bot."""

from __future__ import annotations

import asyncio
import dataclasses

from bot.consent.model import ChatRef, UserRef
from bot.core.policy import GroupPolicy, Mode, Policies, PolicyBook
from bot.core.settings_follower import GroupSettingsFollower

CHAT = ChatRef("telegram", "-100111")
OTHER = ChatRef("telegram", "-100222")


class MemoryStore:
    def __init__(self) -> None:
        self.rows: dict[str, GroupPolicy] = {}
        self.fail = False

    def load(self) -> dict[str, GroupPolicy]:
        if self.fail:
            raise RuntimeError("database gone")
        return dict(self.rows)

    def save(self, chat: ChatRef, policy: GroupPolicy, changed_by: UserRef) -> None:
        self.rows[str(chat)] = policy


async def test_a_stored_change_is_put_in_force_and_the_rest_left_alone() -> None:
    policies = Policies(PolicyBook(GroupPolicy(), {str(OTHER): GroupPolicy(mode=Mode.MONITOR)}))
    store = MemoryStore()
    follower = GroupSettingsFollower(store, policies, interval_s=3600)
    assert await follower.poll_once() == 0

    store.rows[str(CHAT)] = dataclasses.replace(GroupPolicy(), mode=Mode.IDENTIFYING_ONLY)
    assert await follower.poll_once() == 1
    assert policies.for_chat(CHAT).mode is Mode.IDENTIFYING_ONLY
    assert policies.for_chat(OTHER).mode is Mode.MONITOR  # not stored: the file's policy stays
    assert await follower.poll_once() == 0  # already in force: nothing to do


async def test_a_failed_read_does_not_stop_the_follower() -> None:
    policies = Policies(PolicyBook())
    store = MemoryStore()
    store.fail = True
    follower = GroupSettingsFollower(store, policies, interval_s=0.01)
    follower.start()
    try:
        store.rows[str(CHAT)] = GroupPolicy(mode=Mode.MONITOR)
        await asyncio.sleep(0.05)
        store.fail = False
        for _ in range(200):
            if policies.for_chat(CHAT).mode is Mode.MONITOR:
                break
            await asyncio.sleep(0.01)
        assert policies.for_chat(CHAT).mode is Mode.MONITOR
    finally:
        await follower.aclose()
