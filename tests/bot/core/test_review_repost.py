"""An approved item reposted under a consent token is remembered: a withdrawal of that consent takes it down.

The review service's part (``ReviewService.reposted``), on the real storage and the real revocation follower;
the platforms' buttons are covered end to end in tests/bot/platforms (test_telegram_withdrawal).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.bootstrap import Core, Overrides, open_core
from bot.consent.model import ConsentRecord, ConsentStatus, Purpose, UserRef
from bot.consent.token import new_token, parse_token
from bot.core.review import Reviewer
from bot.core.takedown import registry_fingerprint, takedown_key
from bot.domain import ApprovedPost, Post, PostImage
from tests.bot.test_pipeline import ALICE, GROUP, NOW
from tests.fakes.clock import MovableClock
from tests.fakes.platform import FakeConsentLookup, RecordingPlatform, StubScanner
from tests.fakes.settings import make_settings

ADMIN = Reviewer(UserRef("telegram", "7"), "Dr Admin", platform_admin=True)


@dataclass
class Running:
    core: Core
    platform: RecordingPlatform
    consent: FakeConsentLookup
    clock: MovableClock

    def granted_token(self) -> str:
        token = new_token()
        self.consent.records[token.compact] = ConsentRecord(
            status=ConsentStatus.GRANTED,
            purposes=frozenset({Purpose.ADVICE}),
            groups=(GROUP,),
            clinicians=(ALICE,),
            max_images=10,
        )
        return token.value

    async def approved(self, caption: str, thread_id: str | None = None, image: str = "img") -> ApprovedPost:
        """A post with ``caption`` quarantined while the registry is down, then approved by ADMIN."""
        self.consent.down = True
        post = Post(
            chat=GROUP,
            message_id="1",
            author=ALICE,
            author_name="Dr Alice",
            caption=caption,
            images=(PostImage(image, self.platform.fetcher(GROUP, image)),),
            sent_at=NOW,
            thread_id=thread_id,
        )
        handled = await self.core.moderator.handle(post)
        assert handled is not None
        assert handled.quarantine_item is not None
        self.consent.down = False
        return await self.core.review.approve(handled.quarantine_item, ADMIN)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text("")
    settings = make_settings(data_dir=tmp_path / "data", policy_file=policy_file)
    platform = RecordingPlatform({"img": b"FACE-wound", "slide": b"SLIDE-fig3"})
    consent = FakeConsentLookup()
    clock = MovableClock(NOW)
    overrides = Overrides(clock=clock, scanner=StubScanner(), consent=consent, revocation_poll_s=3600)
    async with contextlib.AsyncExitStack() as stack:
        core = await stack.enter_async_context(
            open_core(settings, platforms={"telegram": platform}, overrides=overrides)
        )
        yield Running(core, platform, consent, clock)


async def test_a_repost_under_a_token_is_remembered_and_taken_down_on_withdrawal(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    token = running.granted_token()
    caption = f"Plaie J3 #consent {token}"
    approved = await running.approved(caption, thread_id="77")
    running.clock.advance(minutes=5)
    caplog.set_level(logging.DEBUG)
    quarantined = len(running.platform.calls)  # the original was removed when quarantined

    assert await running.core.review.reposted(approved, ["900", "901"])

    running.clock.advance(hours=1)
    running.consent.revoke(token, running.clock())
    assert await running.core.takedown.poll_once() == 1
    after = running.platform.calls[quarantined:]
    [deleted] = [call for call in after if call.action == "delete"]
    assert deleted.chat == GROUP
    assert deleted.message_ids == ("900", "901")
    [told] = [call for call in after if call.action == "private"]
    assert told.user == ALICE  # the original author, not the moderator who approved
    assert [call for call in after if call.action == "moderators"]
    assert token not in caplog.text
    assert token.replace("-", "") not in caplog.text
    assert "Plaie" not in caplog.text


async def test_the_repost_is_stored_with_its_thread_author_and_repost_time(running: Running) -> None:
    token = running.granted_token()
    approved = await running.approved(f"#consent {token}", thread_id="77")
    running.clock.advance(minutes=5)
    reposted_at = running.clock()
    assert await running.core.review.reposted(approved, ["900"])

    posts = running.core.storage.consented
    key = takedown_key(running.core.storage.pseudonym_key, registry_fingerprint(parse_token(token)))
    assert posts.mark_withdrawn(key, running.clock()) == 1
    [post] = posts.withdrawn()
    assert (post.chat, post.message_ids, post.thread_id) == (GROUP, ("900",), "77")
    assert (post.author, post.author_name, post.posted_at) == (ALICE, "Dr Alice", reposted_at)
    assert post.token_fingerprint is not None
    assert token not in post.token_fingerprint


async def test_a_repost_without_a_token_is_not_remembered(running: Running) -> None:
    approved = await running.approved("Figure 3, avis ?", image="slide")
    assert not await running.core.review.reposted(approved, ["900"])
    quarantined = len(running.platform.calls)
    running.consent.revoke(running.granted_token(), running.clock())
    assert await running.core.takedown.poll_once() == 0
    assert running.platform.calls[quarantined:] == []


async def test_nothing_reposted_nothing_remembered(running: Running) -> None:
    approved = await running.approved(f"#consent {running.granted_token()}")
    assert not await running.core.review.reposted(approved, [])
