"""``/consentguard consent`` and ``withdraw`` on Discord: the real discord.py against the fake Discord server,
and a fake of the registry's capture endpoints over real HTTP (the bot's real client)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import Overrides, open_core
from bot.consent.capture_client import HttpxCaptureLinks
from bot.sandbox.fake_discord import FakeDiscordServer
from tests.bot.platforms.test_discord_e2e import (
    ALICE,
    APP,
    BOB,
    BOT,
    CASES,
    CHANNEL,
    GUILD,
    OWNER,
    POLICY,
    REVIEW,
    TOKEN,
    Running,
    stop_client,
)
from tests.fakes.capture import KEY, FakeCaptureRegistry
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
        fake.add_member(GUILD, BOB, "bob", display_name="Dr Bob")
        with fake.patch_discord():
            yield fake


@pytest.fixture
def registry() -> FakeCaptureRegistry:
    return FakeCaptureRegistry()


@pytest.fixture
async def bot(
    server: FakeDiscordServer, tmp_path: Path, registry: FakeCaptureRegistry
) -> AsyncIterator[Running]:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY)
    settings = make_settings(data_dir=tmp_path / "data", policy_file=policy_file)
    client = QuietFrontend(guild_ready_timeout=0.1)
    stack = contextlib.AsyncExitStack()
    url = await stack.enter_async_context(registry.serving())
    capture = await stack.enter_async_context(HttpxCaptureLinks(url, KEY))
    consent = FakeConsentLookup()
    core = await stack.enter_async_context(
        open_core(
            settings,
            platforms={"discord": client.platform},
            overrides=Overrides(
                scanner=StubScanner(),
                consent=consent,
                capture=capture,
                capture_poll_s=0.05,
                revocation_poll_s=3600,
            ),
        )
    )
    client.attach(core.moderator, core.review, [CHANNEL], core.capture)
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect(reconnect=False))
    async with asyncio.timeout(10):
        await client.wait_until_ready()
    running = Running(server, client, consent, core, stack, task)
    yield running
    await stop_client(running)


def answers(server: FakeDiscordServer, interaction: dict[str, object]) -> list[str]:
    return [str(m.get("content") or "") for m in server.interaction_messages(int(str(interaction["id"])))]


async def test_consent_answers_the_member_alone_with_the_link_then_the_token(
    bot: Running, registry: FakeCaptureRegistry
) -> None:
    server = bot.server
    interaction = server.slash_command(GUILD, CASES, ALICE, "consentguard", "consent")
    await server.wait_until(lambda: any("registry.example" in t for t in answers(server, interaction)))
    (link,) = registry.created()
    assert (link.clinician, link.chat) == (f"discord:{ALICE}", f"discord:{CASES}")
    assert all(
        m["flags"] & 64 for m in server.interaction_messages(int(interaction["id"])) if m.get("content")
    )
    assert not any("registry.example" in str(m.get("content")) for m in server.messages_in(CASES))

    token = registry.sign(link.link_id)
    await server.wait_until(lambda: any(f"#consent {token}" in t for t in answers(server, interaction)))
    assert not any(token in str(m.get("content")) for m in server.messages_in(CASES))


async def test_withdraw_by_slash_command(bot: Running, registry: FakeCaptureRegistry) -> None:
    server = bot.server
    first = server.slash_command(GUILD, CASES, ALICE, "consentguard", "consent")
    await server.wait_until(lambda: bool(registry.created()))
    token = registry.sign(registry.created()[0].link_id)
    await server.wait_until(lambda: any(token in t for t in answers(server, first)))

    refused = server.slash_command(GUILD, CASES, BOB, "consentguard", "withdraw", {"token": token})
    await server.wait_until(lambda: any("pas été recueilli" in t for t in answers(server, refused)))
    done = server.slash_command(GUILD, CASES, ALICE, "consentguard", "withdraw", {"token": token})
    await server.wait_until(lambda: any("Consentement retiré" in t for t in answers(server, done)))
    assert registry.revoked == [token.replace("-", "")[2:]]
