"""The bot with the reference registry in-process (its real HTTP API and client), on the fake Telegram server.

Withdrawal: the registry's revocation feed names tokens by ``sha256(compact token)``; the bot must find its
posts from that alone. The per-poster limit: a member quoting well-formed junk tokens cannot spend the bot's
registry budget, so another member's legitimate post is still allowed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.consent.token import new_token
from bot.registry.commands import new_consent, revoke_consent
from bot.sandbox.fake_telegram import FakeTelegramServer
from tests.bot.platforms.telegram_harness import ALICE, BOB, GROUP, GROUP_ID, MOD, start_bot, stop_bot
from tests.fakes.settings import make_settings


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(BOB, "Bob", started_bot=True)
        fake.add_user(MOD, "Modé", started_bot=True)
        fake.set_admin(GROUP_ID, MOD)
        yield fake


def issue(data_dir: Path, clinician: int) -> str:
    issued = new_consent(
        make_settings(data_dir=data_dir).registry_database(),
        patient_ref="P-0042",
        groups=[str(GROUP)],
        clinicians=[f"telegram:{clinician}"],
        purposes=["advice"],
        days=30,
        max_images=5,
    )
    return str(issued["token"])


def deleted(server: FakeTelegramServer, message: dict[str, Any]) -> bool:
    return (GROUP_ID, message["message_id"]) in server.deleted


async def test_revoking_in_the_registry_takes_the_post_down(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    bot = await start_bot(server, data_dir, real_registry=True, revocation_poll_s=3600)
    try:
        token = issue(data_dir, ALICE)
        message = server.post_photo(GROUP_ID, ALICE, b"FACE-wound", caption=f"#consent {token}")
        await bot.settle()
        assert not deleted(server, message)
        assert bot.audit(message)[-1]["verdict"] == "allow"

        assert revoke_consent(make_settings(data_dir=data_dir).registry_database(), token)
        assert await bot.core.takedown.poll_once() == 1
        assert deleted(server, message)
        assert bot.audit(message)[-1]["reason"] == "consent-withdrawn"
    finally:
        await stop_bot(bot)


@pytest.mark.parametrize("poster_lookups", [4, 1000], ids=["with-the-limit", "without-it"])
async def test_a_member_spamming_junk_tokens_cannot_make_another_members_post_fail(
    server: FakeTelegramServer, tmp_path: Path, poster_lookups: int
) -> None:
    data_dir = tmp_path / "data"
    # The bot's key may make 10 lookups a minute; each poster, 4 per ten minutes (unknown tokens cost 3).
    consent = {"registry_lookups_per_minute": 10, "poster_lookups": poster_lookups, "poster_unknown_cost": 3}
    bot = await start_bot(
        server, data_dir, real_registry=True, revocation_poll_s=3600, consent_settings=consent
    )
    try:
        token = issue(data_dir, ALICE)
        for index in range(12):
            server.post_photo(GROUP_ID, BOB, b"CLEAN-%d" % index, caption=f"#consent {new_token().value}")
        await bot.settle()

        message = server.post_photo(GROUP_ID, ALICE, b"FACE-wound", caption=f"#consent {token}")
        await bot.settle()

        outcome = bot.audit(message)[-1]
        if poster_lookups == 4:
            assert outcome["verdict"] == "allow"
            assert not deleted(server, message)
            told = [
                c.params["text"] for c in server.calls_of("sendMessage") if int(c.params["chat_id"]) == BOB
            ]
            assert any("trop de jetons" in text for text in told)  # the spammer is told why
        else:  # what the limit prevents: the bot's budget is spent, the legitimate post fails closed
            assert outcome["reason"] == "consent-unavailable"
            assert deleted(server, message)
    finally:
        await stop_bot(bot)
