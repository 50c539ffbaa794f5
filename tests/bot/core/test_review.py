"""The review service: who may act, what each action does, and that it is audited and outlives a restart."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import Core, Overrides, open_core
from bot.consent.model import ChatRef, UserRef
from bot.core.policy import Mode
from bot.core.review import Reviewer
from bot.domain import ApprovedPost, Post, PostImage
from bot.errors import NotAModeratorError, QuarantineItemNotPendingError
from tests.bot.test_pipeline import ALICE, GROUP, NOW
from tests.fakes.clock import MovableClock
from tests.fakes.platform import FakeConsentLookup, RecordingPlatform, StubScanner
from tests.fakes.settings import make_settings

ADMIN = Reviewer(UserRef("telegram", "7"), "Dr Admin", platform_admin=True)
MEMBER = Reviewer(UserRef("telegram", "8"), "Dr Member", platform_admin=False)
LISTED = Reviewer(UserRef("telegram", "9"), "Dr Listed", platform_admin=False)
OTHER_GROUP = ChatRef("telegram", "-2002")


@contextlib.asynccontextmanager
async def running(tmp_path: Path, policy: str = "") -> AsyncIterator[tuple[Core, RecordingPlatform]]:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(policy)
    settings = make_settings(data_dir=tmp_path / "data", policy_file=policy_file)
    platform = RecordingPlatform({"img": b"SLIDE-1"})
    overrides = Overrides(clock=MovableClock(NOW), scanner=StubScanner(), consent=FakeConsentLookup())
    async with open_core(settings, platforms={"telegram": platform}, overrides=overrides) as core:
        yield core, platform


async def quarantine_one(core: Core, platform: RecordingPlatform, message_id: str = "1") -> str:
    post = Post(
        chat=GROUP,
        message_id=message_id,
        author=ALICE,
        author_name="Dr Alice",
        caption="",
        images=(PostImage("img", platform.fetcher(GROUP, "img")),),
        sent_at=NOW,
    )
    handled = await core.moderator.handle(post)
    assert handled is not None
    assert handled.quarantine_item is not None
    return handled.quarantine_item


def audit_rows(core: Core) -> list[dict[str, str]]:
    out = io.StringIO()
    core.storage.audit.export(NOW.replace(year=2000), "jsonl", out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_platform_admins_moderate_when_the_policy_lists_nobody(tmp_path: Path) -> None:
    async with running(tmp_path) as (core, platform):
        item = await quarantine_one(core, platform)
        with pytest.raises(NotAModeratorError):
            await core.review.approve(item, MEMBER)
        with pytest.raises(NotAModeratorError):
            await core.review.queue(GROUP, MEMBER)
        assert [i.item_id for i in await core.review.queue(GROUP, ADMIN)] == [item]
        approved = await core.review.approve(item, ADMIN)
        assert approved.images == (("img", b"SLIDE-1"),)
        with pytest.raises(QuarantineItemNotPendingError):
            await core.review.reject(item, ADMIN)  # decided once, by whoever came first


async def test_a_moderators_list_overrides_the_platforms_admins(tmp_path: Path) -> None:
    policy = '[default]\nmoderators = ["telegram:9"]\n'
    async with running(tmp_path, policy) as (core, platform):
        item = await quarantine_one(core, platform)
        with pytest.raises(NotAModeratorError):
            await core.review.preview(item, ADMIN)  # a group admin who is not listed
        assert await core.review.preview(item, LISTED) == [("img", b"SLIDE-1")]
        await core.review.reject(item, LISTED, "identifying")
    rows = audit_rows(core)
    decisions = [(r["decision"], r["reason"]) for r in rows if r["decision"]]
    assert decisions == [("revealed", "moderator-revealed"), ("rejected", "moderator-rejected:identifying")]


async def test_a_mode_change_is_in_force_at_once_audited_and_kept_across_a_restart(tmp_path: Path) -> None:
    async with running(tmp_path) as (core, _):
        with pytest.raises(NotAModeratorError):
            await core.review.set_mode(GROUP, Mode.MONITOR, MEMBER)
        await core.review.set_mode(GROUP, Mode.MONITOR, ADMIN)
        assert core.moderator.policies.for_chat(GROUP).mode is Mode.MONITOR  # the pipeline sees it now
        assert core.review.policy(OTHER_GROUP).mode is Mode.STRICT
        assert [r["decision"] for r in audit_rows(core)] == ["policy-changed"]
    async with running(tmp_path) as (restarted, _):
        assert restarted.review.policy(GROUP).mode is Mode.MONITOR
        assert GROUP in restarted.groups("telegram")


async def test_approve_reposts_before_it_purges_and_a_rejection_waits_for_it(tmp_path: Path) -> None:
    async with running(tmp_path) as (core, platform):
        item = await quarantine_one(core, platform)
        reposting, release = asyncio.Event(), asyncio.Event()
        reposted: list[bytes] = []

        async def repost(copy: ApprovedPost) -> None:
            reposting.set()
            assert core.storage.quarantine.get(item).status.value == "pending"  # still held meanwhile
            await release.wait()
            reposted.extend(data for _, data in copy.images)

        approving = asyncio.create_task(core.review.approve(item, ADMIN, repost))
        await reposting.wait()
        rejecting = asyncio.create_task(core.review.reject(item, ADMIN))
        await asyncio.sleep(0)
        assert not rejecting.done()  # waits for the approval under way
        release.set()
        approved = await approving
        with pytest.raises(QuarantineItemNotPendingError):
            await rejecting  # then finds it decided
        assert reposted == [b"SLIDE-1"]
        assert approved.item_id == item
        assert [e["decision"] for e in audit_rows(core) if e["decision"]] == ["approved"]


async def test_a_failed_repost_leaves_the_item_held_and_unaudited(tmp_path: Path) -> None:
    async with running(tmp_path) as (core, platform):
        item = await quarantine_one(core, platform)

        async def repost(copy: ApprovedPost) -> None:
            raise ConnectionError("the platform is down")

        with pytest.raises(ConnectionError):
            await core.review.approve(item, ADMIN, repost)
        assert core.storage.quarantine.images(item) == [("img", b"SLIDE-1")]
        assert [e["decision"] for e in audit_rows(core) if e["decision"]] == []
        await core.review.approve(item, ADMIN)  # a second try goes through
