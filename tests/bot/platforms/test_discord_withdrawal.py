"""Withdrawal takes posts down, on Discord: the real discord.py against the fake Discord server.

Discord lets a bot with Manage Messages delete a message at any age: a post weeks old is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import Overrides, open_core
from bot.sandbox.fake_discord import FakeDiscordServer
from tests.bot.platforms.test_discord_e2e import (
    ALICE,
    APP,
    BOT,
    CASES,
    CHANNEL,
    GUILD,
    OWNER,
    POLICY,
    REVIEW,
    TOKEN,
    Running,
    custom_ids,
    gone,
    image,
    review_notice,
    stop_client,
)
from tests.fakes.clock import MovableClock
from tests.fakes.discord import QuietFrontend
from tests.fakes.platform import FakeConsentLookup, StubScanner
from tests.fakes.settings import make_settings


@pytest.fixture
async def server() -> AsyncIterator[FakeDiscordServer]:
    async with FakeDiscordServer(bot_user_id=BOT, application_id=APP, token=TOKEN) as fake:
        fake.add_guild(GUILD, "Dermatologie", owner_id=OWNER)
        fake.add_channel(GUILD, CASES, "cas-cliniques")
        fake.add_channel(GUILD, REVIEW, "moderation")
        fake.add_member(GUILD, OWNER, "owner", display_name="Dr Modération", manage_messages=True)
        fake.add_member(GUILD, ALICE, "alice", display_name="Dr Alice")
        with fake.patch_discord():
            yield fake


@pytest.fixture
async def bot(server: FakeDiscordServer, tmp_path: Path) -> AsyncIterator[tuple[Running, MovableClock]]:
    clock = MovableClock()
    data_dir = tmp_path / "data"
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY)
    settings = make_settings(data_dir=data_dir, policy_file=policy_file)
    client = QuietFrontend(guild_ready_timeout=0.1)
    consent = FakeConsentLookup()
    stack = contextlib.AsyncExitStack()
    core = await stack.enter_async_context(
        open_core(
            settings,
            platforms={"discord": client.platform},
            overrides=Overrides(clock=clock, scanner=StubScanner(), consent=consent, revocation_poll_s=3600),
        )
    )
    client.attach(core.moderator, core.review, [CHANNEL])
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect(reconnect=False))
    async with asyncio.timeout(10):
        await client.wait_until_ready()
    running = Running(server, client, consent, core, stack, task)
    yield running, clock
    await stop_client(running)


async def test_withdrawal_deletes_a_weeks_old_message_and_tells_the_author_and_the_review_channel(
    bot: tuple[Running, MovableClock],
) -> None:
    running, clock = bot
    server = running.server
    token = running.granted_token()
    message = server.post_message(CASES, ALICE, f"#consent {token}", [image("plaie.jpg", b"FACE-1")])
    handled = await asyncio.wait_for(running.client.handled.get(), timeout=10)
    assert handled.decision.reason == "consent-valid"
    assert not gone(server, message)

    clock.advance(days=30)
    running.consent.revoke(token, clock())
    assert await running.core.takedown.poll_once() == 1

    assert gone(server, message)
    await server.wait_until(lambda: bool(server.dm_messages(ALICE)))
    assert "retiré son consentement" in "\n".join(m["content"] for m in server.dm_messages(ALICE))
    notices = [m["content"] for m in server.messages_in(REVIEW)]
    assert any("Consentement retiré" in text for text in notices)

    assert await running.core.takedown.poll_once() == 0  # read again: nothing more to do


async def test_the_platform_deletes_the_webhook_repost_of_an_approved_item(
    bot: tuple[Running, MovableClock],
) -> None:
    """What a takedown of a repost does: the Platform port deletes a message of the bot's own webhook.

    (Discord: deleting a webhook's message through the channel needs Manage Messages, which the bot has.)
    """
    running, _ = bot
    server = running.server
    server.post_message(CASES, ALICE, "Figure 2", [image("fig.png", b"SLIDE-2")])
    notice = await review_notice(server)
    approve = next(c for c in custom_ids(notice) if c.startswith("cg:a:"))
    server.click_button(REVIEW, int(notice["id"]), OWNER, approve)
    await server.wait_until(lambda: bool(server.webhook_messages(CASES)))
    [repost] = server.webhook_messages(CASES)

    platform = running.client.platform
    assert await platform.delete_messages(CHANNEL, (str(repost["id"]),)) is True

    assert gone(server, repost)


async def test_withdrawal_takes_down_the_webhook_repost_of_an_approved_item(
    bot: tuple[Running, MovableClock],
) -> None:
    running, clock = bot
    server = running.server
    token = running.granted_token()
    running.consent.down = True  # the registry is down: the post is held for review
    message = server.post_message(CASES, ALICE, f"#consent {token}", [image("plaie.jpg", b"FACE-1")])
    handled = await asyncio.wait_for(running.client.handled.get(), timeout=10)
    assert handled.decision.reason == "consent-unavailable"
    assert gone(server, message)
    running.consent.down = False
    notice = await review_notice(server)
    approve = next(c for c in custom_ids(notice) if c.startswith("cg:a:"))
    interaction = server.click_button(REVIEW, int(notice["id"]), OWNER, approve)
    await server.wait_until(lambda: int(interaction["id"]) in server.interaction_responses)
    [repost] = server.webhook_messages(CASES)
    assert repost["author"]["username"] == "Dr Alice"

    clock.advance(days=3)
    running.consent.revoke(token, clock())
    assert await running.core.takedown.poll_once() == 1

    assert gone(server, repost)
    await server.wait_until(lambda: bool(server.dm_messages(ALICE)))
    assert "retiré son consentement" in "\n".join(m["content"] for m in server.dm_messages(ALICE))
    notices = [m["content"] for m in server.messages_in(REVIEW)]
    assert any("Consentement retiré" in text for text in notices)
    assert await running.core.takedown.poll_once() == 0


async def test_a_webhook_repost_without_a_token_is_not_taken_down(
    bot: tuple[Running, MovableClock],
) -> None:
    running, clock = bot
    server = running.server
    server.post_message(CASES, ALICE, "Figure 2", [image("fig.png", b"SLIDE-2")])
    notice = await review_notice(server)
    approve = next(c for c in custom_ids(notice) if c.startswith("cg:a:"))
    interaction = server.click_button(REVIEW, int(notice["id"]), OWNER, approve)
    await server.wait_until(lambda: int(interaction["id"]) in server.interaction_responses)
    [repost] = server.webhook_messages(CASES)

    running.consent.revoke(running.granted_token(), clock())
    assert await running.core.takedown.poll_once() == 0
    assert not gone(server, repost)
