"""``/consentguard console`` on Discord: the real discord.py against the fake Discord server; the ephemeral
link is opened with the real console app (over the bot's own storage) through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.bootstrap import Overrides, console_app, open_core, running_console_app
from bot.consent.model import ChatRef
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
    TOKEN,
    Running,
    image,
    stop_client,
)
from tests.console.helpers import FakePreviewer, csrf_of, path_of
from tests.fakes.discord import QuietFrontend
from tests.fakes.platform import FakeConsentLookup, StubScanner
from tests.fakes.settings import make_settings

OTHER_GUILD, OTHER_CHANNEL, OTHER_OWNER = 2, 20, 99
OTHER = ChatRef("discord", str(OTHER_CHANNEL))
LINK = re.compile(r"https?://\S+/login/\S+")


@pytest.fixture
async def server() -> AsyncIterator[FakeDiscordServer]:
    async with FakeDiscordServer(bot_user_id=BOT, application_id=APP, token=TOKEN) as fake:
        fake.add_guild(GUILD, "Dermatologie", owner_id=OWNER)
        fake.add_channel(GUILD, CASES, "cas-cliniques")
        fake.add_member(GUILD, OWNER, "owner", display_name="Dr Modération", manage_messages=True)
        fake.add_member(GUILD, ALICE, "alice", display_name="Dr Alice")
        fake.add_guild(OTHER_GUILD, "Plaies", owner_id=OTHER_OWNER)
        fake.add_channel(OTHER_GUILD, OTHER_CHANNEL, "plaies")
        fake.add_member(OTHER_GUILD, OWNER, "owner", display_name="Dr Modération")  # a member, no more
        with fake.patch_discord():
            yield fake


@pytest.fixture
async def bot(server: FakeDiscordServer, tmp_path: Path) -> AsyncIterator[Running]:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY + f'[groups."discord:{OTHER_CHANNEL}"]\n')
    settings = make_settings(data_dir=tmp_path / "data", policy_file=policy_file)
    client = QuietFrontend(guild_ready_timeout=0.1)
    stack = contextlib.AsyncExitStack()
    consent = FakeConsentLookup()
    core = await stack.enter_async_context(
        open_core(
            settings,
            platforms={"discord": client.platform},
            overrides=Overrides(scanner=StubScanner(), consent=consent, revocation_poll_s=3600),
        )
    )
    client.attach(core.moderator, core.review, [CHANNEL, OTHER], None, core.console)
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect(reconnect=False))
    async with asyncio.timeout(10):
        await client.wait_until_ready()
    running = Running(server, client, consent, core, stack, task)
    yield running
    await stop_client(running)


def answers(server: FakeDiscordServer, interaction: dict[str, object]) -> list[str]:
    return [str(m.get("content") or "") for m in server.interaction_messages(int(str(interaction["id"])))]


def links_in(texts: list[str]) -> list[str]:
    return [match.group(0) for text in texts for match in LINK.finditer(text)]


async def test_a_channel_moderator_gets_an_ephemeral_link_for_his_channels_only(
    bot: Running, tmp_path: Path
) -> None:
    server = bot.server
    interaction = server.slash_command(GUILD, CASES, OWNER, "consentguard", "console")
    await server.wait_until(lambda: bool(links_in(answers(server, interaction))))
    (link,) = links_in(answers(server, interaction))
    assert all(
        m["flags"] & 64 for m in server.interaction_messages(int(interaction["id"])) if m.get("content")
    )
    assert not any("/login/" in str(m.get("content")) for m in server.messages_in(CASES))

    settings = make_settings(data_dir=tmp_path / "data", policy_file=tmp_path / "policy.toml")
    app = console_app(settings, bot.core.storage)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
        assert (await http.get(path_of(link))).status_code == 200
        home = await http.get("/")
        assert home.status_code == 200
        assert f"discord:{CASES}" in home.text
        assert f"discord:{OTHER_CHANNEL}" not in home.text
        assert (await http.get(f"/groups/discord:{OTHER_CHANNEL}")).status_code == 404


async def test_a_member_without_manage_messages_is_refused_without_a_link(bot: Running) -> None:
    server = bot.server
    interaction = server.slash_command(GUILD, CASES, ALICE, "consentguard", "console")
    await server.wait_until(lambda: any("aucun groupe" in t for t in answers(server, interaction)))
    assert links_in(answers(server, interaction)) == []


# -- the console as `consentguard run` serves it: Discord's word at every request, approve reposts ---------

MODERATOR = 70


async def test_the_running_bots_console_asks_discord_and_reposts_as_the_button_does(
    bot: Running, tmp_path: Path
) -> None:
    server = bot.server
    server.add_member(GUILD, MODERATOR, "mod", display_name="Dr Modo", manage_messages=True)
    server.post_message(CASES, ALICE, "Figure 2", [image("fig.png", b"SLIDE-2")])
    server.post_message(CASES, ALICE, "Figure 3", [image("fig.png", b"SLIDE-3")])
    await server.wait_until(lambda: len(bot.core.storage.quarantine.pending(CHANNEL)) == 2)
    first, second = (item.item_id for item in bot.core.storage.quarantine.pending(CHANNEL))
    interaction = server.slash_command(GUILD, CASES, MODERATOR, "consentguard", "console")
    await server.wait_until(lambda: bool(links_in(answers(server, interaction))))
    (link,) = links_in(answers(server, interaction))

    settings = make_settings(data_dir=tmp_path / "data", policy_file=tmp_path / "policy.toml")
    app = running_console_app(settings, bot.core, discord=bot.client.platform, previewer=FakePreviewer())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c.test") as http:
        assert (await http.get(path_of(link))).status_code == 200
        csrf = csrf_of((await http.get("/")).text)
        approved = await http.post(f"/items/{first}/approve", data={"csrf": csrf})
        assert approved.status_code == 303
        await server.wait_until(lambda: bool(server.webhook_messages(CASES)))
        (repost,) = server.webhook_messages(CASES)
        assert repost["author"]["username"] == "Dr Alice"
        assert [item.item_id for item in bot.core.storage.quarantine.pending(CHANNEL)] == [second]

        server.add_member(GUILD, MODERATOR, "mod", display_name="Dr Modo")  # Manage Messages taken away
        await server.wait_until(lambda: not _manages(bot, MODERATOR))
        assert (await http.get(f"/groups/discord:{CASES}")).status_code in (403, 404)
        refused = await http.post(f"/items/{second}/approve", data={"csrf": csrf})
        assert refused.status_code in (403, 404)
    assert len(server.webhook_messages(CASES)) == 1
    assert len(bot.core.storage.quarantine.pending(CHANNEL)) == 1


def _manages(bot: Running, user_id: int) -> bool:
    channel = bot.client.get_channel(CASES)
    guild = getattr(channel, "guild", None)
    member = guild.get_member(user_id) if guild is not None else None
    return member is not None and bool(channel.permissions_for(member).manage_messages)  # type: ignore[union-attr]
