"""/console on Telegram: the real python-telegram-bot against the fake Bot API server; the link it sends is
opened with the real console app (over the bot's own storage) through httpx's ASGI transport."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.bootstrap import console_app
from bot.sandbox.fake_telegram import FakeTelegramServer
from tests.bot.platforms.telegram_harness import ALICE, BOB, GROUP_ID, MOD, Bot, start_bot, stop_bot
from tests.console.helpers import path_of
from tests.fakes.settings import make_settings

OTHER_GROUP = -1002
POLICY = f'[groups."telegram:{GROUP_ID}"]\n[groups."telegram:{OTHER_GROUP}"]\n'
LINK = re.compile(r"https?://\S+/login/\S+")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_group(OTHER_GROUP, "Plaies et cicatrisation")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(BOB, "Bob", started_bot=True, language_code="en")
        fake.add_user(MOD, "Modé", started_bot=True)
        fake.set_admin(GROUP_ID, MOD)  # MOD administers the first group only; he is a member of both
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_bot(server, tmp_path / "data", POLICY, revocation_poll_s=3600)
    yield running
    await stop_bot(running)


def private(server: FakeTelegramServer, user_id: int) -> list[str]:
    return [str(m.get("text", "")) for m in server.private_messages(user_id)]


def links_in(texts: list[str]) -> list[str]:
    return [match.group(0) for text in texts for match in LINK.finditer(text)]


async def test_a_group_admin_gets_a_link_scoped_to_the_groups_he_moderates(
    bot: Bot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    bot.server.command(MOD, MOD, "/console")
    await bot.server.wait_until(lambda: bool(links_in(private(bot.server, MOD))))
    (link,) = links_in(private(bot.server, MOD))
    (said,) = [t for t in private(bot.server, MOD) if link in t]
    assert "Dermato avis" in said
    assert "10 min" in said
    assert "une seule fois" in said
    assert "Plaies" not in said
    assert "/login/" not in caplog.text  # the link is never logged

    settings = make_settings(data_dir=tmp_path / "data", policy_file=tmp_path / "data-policy.toml")
    app = console_app(settings, bot.core.storage)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
        assert (await http.get(path_of(link))).status_code == 200
        home = await http.get("/")
        assert home.status_code == 200
        assert f"telegram:{GROUP_ID}" in home.text
        assert f"telegram:{OTHER_GROUP}" not in home.text
        assert (await http.get(f"/groups/telegram:{GROUP_ID}")).status_code == 200
        assert (await http.get(f"/groups/telegram:{OTHER_GROUP}")).status_code == 404
        # once only
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as again:
            await again.get(path_of(link))
            assert (await again.get("/")).status_code != 200


async def test_a_member_who_moderates_nothing_is_refused_without_a_link(bot: Bot) -> None:
    bot.server.command(BOB, BOB, "/console")
    await bot.server.wait_until(lambda: any("moderate none" in t for t in private(bot.server, BOB)))
    assert links_in(private(bot.server, BOB)) == []


async def test_console_in_a_group_only_says_ask_me_in_private(bot: Bot) -> None:
    before = len(bot.server.messages_in(GROUP_ID))
    bot.server.command(GROUP_ID, MOD, "/console")
    await bot.settle()
    await bot.server.wait_until(lambda: len(bot.server.messages_in(GROUP_ID)) > before + 1)
    said = [str(m.get("text", "")) for m in bot.server.messages_in(GROUP_ID)[before + 1 :]]
    assert len(said) == 1
    assert "en privé" in said[0]
    assert "http" not in said[0]
    assert links_in(private(bot.server, MOD)) == []
