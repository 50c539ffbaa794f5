"""A settings change made in the console (Chromium) is seen by a bot running apart over the same storage."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from playwright.sync_api import BrowserContext, expect

from bot.bootstrap import Core, Overrides, open_core
from bot.core.policy import Mode
from bot.domain import Post, PostImage, Verdict
from tests.console.browser.conftest import Served
from tests.console.helpers import AUTHOR, GROUP_A
from tests.fakes.platform import FakeConsentLookup, RecordingPlatform, StubScanner
from tests.fakes.settings import make_settings

T = TypeVar("T")


class RunningBot:
    """The bot's core on its own event loop thread, over the console's data directory."""

    def __init__(self, served: Served) -> None:
        self.settings = make_settings(data_dir=served.data_dir, group_settings_poll_s=0.05)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bot-loop", daemon=True)
        self.stack = contextlib.AsyncExitStack()
        self.count = 0

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    async def _open(self) -> tuple[Core, RecordingPlatform]:
        platform = RecordingPlatform()
        overrides = Overrides(scanner=StubScanner(), consent=FakeConsentLookup(), revocation_poll_s=3600)
        core = await self.stack.enter_async_context(
            open_core(self.settings, platforms={"telegram": platform}, overrides=overrides)
        )
        return core, platform

    def __enter__(self) -> RunningBot:
        self.thread.start()
        self.core, self.platform = self.call(self._open())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def judge(self, data: bytes) -> Verdict:
        """A clean, uncaptioned photo posted in GROUP_A: the verdict the running bot reaches."""
        self.count += 1
        image_id = f"bot-img-{self.count}"
        self.platform.images[image_id] = data
        post = Post(
            chat=GROUP_A,
            message_id=f"bot-{self.count}",
            author=AUTHOR,
            author_name="Dr Alice Martin",
            caption="",
            images=(PostImage(image_id=image_id, fetch=self.platform.fetcher(GROUP_A, image_id)),),
            sent_at=self.core.storage.clock(),
            chat_title="Dermato avis",
        )
        handled = self.call(self.core.moderator.handle(post))
        assert handled is not None
        return handled.decision.verdict


@pytest.fixture
def running_bot(served: Served) -> Iterator[RunningBot]:
    with RunningBot(served) as bot:
        yield bot


def test_a_settings_change_is_seen_by_the_running_bot(
    desktop: BrowserContext, served: Served, running_bot: RunningBot
) -> None:
    assert running_bot.judge(b"CLEAN-before") is Verdict.QUARANTINE  # strict: every image needs consent

    page = desktop.new_page()
    page.goto(served.link(served.console.moderator_link(GROUP_A)))
    page.wait_for_url(served.url + "/")
    page.get_by_role("link", name="Réglages").first.click()
    expect(page.get_by_test_id("mode-strict")).to_be_checked()
    page.get_by_test_id("mode-identifying-only").check()
    page.get_by_test_id("retention-days").fill("14")
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_test_id("message")).to_be_visible()
    expect(page.get_by_test_id("mode-identifying-only")).to_be_checked()

    deadline = time.monotonic() + 10  # a wait for the bot's poll, not a timing assertion
    while running_bot.core.policies.for_chat(GROUP_A).mode is not Mode.IDENTIFYING_ONLY:
        assert time.monotonic() < deadline, "the running bot never saw the change"
        time.sleep(0.05)
    assert running_bot.judge(b"CLEAN-after") is Verdict.ALLOW  # identifying-only: a clean image may stay
    assert [e["decision"] for e in served.console.audit() if e["decision"]] == ["policy-changed"]
