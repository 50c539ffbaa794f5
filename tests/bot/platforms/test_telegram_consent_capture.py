"""/consent and /withdraw on Telegram: the real python-telegram-bot, the fake Bot API server, and a fake of
the registry's capture endpoints over real HTTP (the bot's real client, bot.consent.capture_client)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.consent.capture_client import HttpxCaptureLinks
from bot.sandbox.fake_telegram import FakeTelegramServer
from tests.bot.platforms.telegram_harness import ALICE, BOB, GROUP_ID, MOD, Bot, start_bot, stop_bot
from tests.fakes.capture import KEY, FakeCaptureRegistry

OTHER_GROUP = -1002
POLICY = f'[groups."telegram:{GROUP_ID}"]\n[groups."telegram:{OTHER_GROUP}"]\n'


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_group(OTHER_GROUP, "Plaies et cicatrisation")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(BOB, "Bob", started_bot=True, language_code="en")
        fake.add_user(MOD, "Modé", started_bot=True)
        fake.set_admin(GROUP_ID, MOD)
        fake.remove_member(OTHER_GROUP, BOB)  # Bob is in one group only
        yield fake


@pytest.fixture
def registry() -> FakeCaptureRegistry:
    return FakeCaptureRegistry()


@pytest.fixture
async def bot(
    server: FakeTelegramServer, tmp_path: Path, registry: FakeCaptureRegistry
) -> AsyncIterator[Bot]:
    async with registry.serving() as url, HttpxCaptureLinks(url, KEY) as client:
        running = await start_bot(server, tmp_path / "data", POLICY, capture=client, revocation_poll_s=3600)
        yield running
        await stop_bot(running)


def private(server: FakeTelegramServer, user_id: int) -> list[str]:
    return [str(m.get("text", "")) for m in server.private_messages(user_id)]


async def test_consent_in_a_group_only_says_ask_me_in_private(
    bot: Bot, registry: FakeCaptureRegistry
) -> None:
    before = len(bot.server.messages_in(GROUP_ID))
    bot.server.command(GROUP_ID, ALICE, "/consent")
    await bot.settle()
    said = bot.server.messages_in(GROUP_ID)[before + 1 :]
    assert len(said) == 1
    assert "en privé" in said[0]["text"]
    assert "Dermato" not in said[0]["text"]
    assert "http" not in said[0]["text"]
    assert registry.created() == []


async def test_one_group_gets_the_link_then_the_token_once_signed(
    bot: Bot, registry: FakeCaptureRegistry
) -> None:
    bot.server.command(BOB, BOB, "/consent")
    await bot.server.wait_until(lambda: any("registry.example" in t for t in private(bot.server, BOB)))
    (link,) = registry.created()
    assert (link.clinician, link.chat, link.language) == (f"telegram:{BOB}", f"telegram:{GROUP_ID}", "en")
    assert link.chat_title == "Dermato avis"
    assert any("show it to the patient" in t for t in private(bot.server, BOB))

    token = registry.sign(link.link_id)
    await bot.server.wait_until(lambda: any(token in t for t in private(bot.server, BOB)))
    assert any(f"#consent {token}" in t for t in private(bot.server, BOB))
    assert sum(token in t for t in private(bot.server, BOB)) == 1  # given once


async def test_several_groups_are_offered_as_buttons(bot: Bot, registry: FakeCaptureRegistry) -> None:
    bot.server.command(ALICE, ALICE, "/consent")
    await bot.server.wait_until(
        lambda: any(m.get("reply_markup") for m in bot.server.private_messages(ALICE))
    )
    choice = next(m for m in bot.server.private_messages(ALICE) if m.get("reply_markup"))
    buttons = [b for row in choice["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["Dermato avis", "Plaies et cicatrisation"]

    bot.server.press_button(ALICE, choice["message_id"], ALICE, f"cgc:{OTHER_GROUP}")
    await bot.server.wait_until(lambda: any("registry.example" in t for t in private(bot.server, ALICE)))
    (link,) = registry.created()
    assert link.chat == f"telegram:{OTHER_GROUP}"


async def test_an_expired_form_is_said_so(bot: Bot, registry: FakeCaptureRegistry) -> None:
    bot.server.command(BOB, BOB, "/consent")
    await bot.server.wait_until(lambda: bool(registry.created()))
    registry.expire(registry.created()[0].link_id)
    await bot.server.wait_until(lambda: any("not signed in time" in t for t in private(bot.server, BOB)))


async def test_too_many_forms_are_refused_with_the_wait(bot: Bot, registry: FakeCaptureRegistry) -> None:
    registry.links_per_clinician = 0
    bot.server.command(BOB, BOB, "/consent")
    await bot.server.wait_until(lambda: any("42 s" in t for t in private(bot.server, BOB)))


async def test_registry_down_is_said_without_detail(bot: Bot, registry: FakeCaptureRegistry) -> None:
    registry.down = True
    bot.server.command(BOB, BOB, "/consent")
    await bot.server.wait_until(lambda: any("not answering" in t for t in private(bot.server, BOB)))


async def test_withdraw_in_private(bot: Bot, registry: FakeCaptureRegistry) -> None:
    bot.server.command(BOB, BOB, "/consent")
    await bot.server.wait_until(lambda: bool(registry.created()))
    token = registry.sign(registry.created()[0].link_id)

    bot.server.command(ALICE, ALICE, f"/withdraw {token}")  # not Alice's consent
    await bot.server.wait_until(
        lambda: any("pas été recueilli par vous" in t for t in private(bot.server, ALICE))
    )
    assert registry.revoked == []

    bot.server.command(BOB, BOB, f"/withdraw {token}")
    await bot.server.wait_until(lambda: any("Consent withdrawn" in t for t in private(bot.server, BOB)))
    assert registry.revoked == [token.replace("-", "")[2:]]
    method, _path, body = registry.requests[-1]
    assert (method, body) == ("POST", {"on_behalf_of": f"telegram:{BOB}"})


async def test_withdraw_in_a_group_is_taken_down_and_answered_ask_me_in_private(
    bot: Bot, registry: FakeCaptureRegistry
) -> None:
    command = bot.server.command(GROUP_ID, ALICE, "/withdraw CG-0000-0000-0000-0000-0")
    await bot.server.wait_until(lambda: (GROUP_ID, command["message_id"]) in bot.server.deleted)
    await bot.settle()
    assert any("en privé" in str(m.get("text")) for m in bot.server.messages_in(GROUP_ID))
    assert registry.requests == []
