"""Withdrawal takes posts down, on Telegram: the real python-telegram-bot against the fake Bot API server.

Time is injected: the bot and the fake server share a clock the tests move (the server refuses deleting
messages older than 48 hours on that clock). Rounds of the revocation follower are run by the tests
(``poll_once``), except in the test of the background task, which waits for the deletion itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.takedown import OVERLAP
from bot.sandbox.fake_telegram import Call, FakeTelegramServer
from tests.bot.platforms.telegram_harness import ALICE, GROUP_ID, MOD, Bot, start_bot, stop_bot
from tests.fakes.clock import MovableClock
from tests.fakes.platform import FakeConsentLookup


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def skew() -> dict[str, timedelta]:
    """How far Telegram's clock runs ahead of the bot's (0 unless a test says otherwise)."""
    return {"ahead": timedelta(0)}


@pytest.fixture
async def server(clock: MovableClock, skew: dict[str, timedelta]) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(clock=lambda: (clock() + skew["ahead"]).timestamp()) as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(MOD, "Modé", started_bot=True)
        fake.set_admin(GROUP_ID, MOD)
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer, tmp_path: Path, clock: MovableClock) -> AsyncIterator[Bot]:
    # Rounds are run by the tests (no background round in the middle of one).
    running = await start_bot(server, tmp_path / "data", clock=clock, revocation_poll_s=3600)
    yield running
    await stop_bot(running)


def deleted(server: FakeTelegramServer, message: dict[str, Any]) -> bool:
    return (GROUP_ID, message["message_id"]) in server.deleted


def to(chat_id: int) -> Any:
    def matches(call: Call) -> bool:
        return int(call.params.get("chat_id", 0)) == chat_id

    return matches


def texts_to(server: FakeTelegramServer, chat_id: int) -> list[str]:
    return [
        str(c.params["text"]) for c in server.calls_of("sendMessage") if int(c.params["chat_id"]) == chat_id
    ]


async def allowed_post(bot: Bot) -> tuple[dict[str, Any], str]:
    token = bot.granted_token()
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-wound", caption=f"#consent {token}")
    await bot.settle()
    assert not deleted(bot.server, message)
    return message, token


async def test_withdrawal_deletes_the_post_and_tells_the_poster_and_the_moderators(
    bot: Bot, clock: MovableClock
) -> None:
    message, token = await allowed_post(bot)
    clock.advance(hours=3)
    bot.consent.revoke(token, clock())
    before = len(bot.server.calls)

    assert await bot.core.takedown.poll_once() == 1

    assert deleted(bot.server, message)
    poster = await bot.server.wait_for("sendMessage", to(ALICE), since=before)
    assert "retiré son consentement" in poster.params["text"]
    assert "supprimée" in poster.params["text"]
    moderators = await bot.server.wait_for("sendMessage", to(MOD), since=before)
    assert "Consentement retiré" in moderators.params["text"]
    events = bot.audit(message)
    assert events[-1]["reason"] == "consent-withdrawn"
    assert events[-1]["verdict"] == "delete"
    assert events[-1]["decision"] is None
    assert events[-1]["token_fingerprint"] == events[0]["token_fingerprint"]  # the allow event's
    assert token.replace("-", "") not in str(events)


async def test_a_revocation_read_twice_deletes_once(bot: Bot, clock: MovableClock) -> None:
    message, token = await allowed_post(bot)
    bot.consent.revoke(token, clock())
    assert await bot.core.takedown.poll_once() == 1
    deletes = len(bot.server.calls_of("deleteMessage"))
    told = len(texts_to(bot.server, ALICE))

    clock.advance(seconds=10)
    assert await bot.core.takedown.poll_once() == 0  # the feed still lists it (overlap): nothing to do

    assert len(bot.consent.revocation_reads) == 2
    assert len(bot.server.calls_of("deleteMessage")) == deletes
    assert len(texts_to(bot.server, ALICE)) == told
    assert [e["reason"] for e in bot.audit(message)].count("consent-withdrawn") == 1


async def test_the_follower_takes_the_post_down_on_its_own(
    server: FakeTelegramServer, tmp_path: Path, clock: MovableClock
) -> None:
    running = await start_bot(server, tmp_path / "data", clock=clock, revocation_poll_s=0.05)
    try:
        message, token = await allowed_post(running)
        running.consent.revoke(token, clock())
        await server.wait_for(
            "deleteMessage", lambda c: int(c.params["message_id"]) == message["message_id"], timeout=20
        )
        await server.wait_until(lambda: deleted(server, message))
    finally:
        await stop_bot(running)


async def test_past_48_hours_the_moderators_get_a_link_and_nothing_is_deleted(
    bot: Bot, clock: MovableClock
) -> None:
    message, token = await allowed_post(bot)
    clock.advance(hours=49)
    bot.consent.revoke(token, clock())
    before = len(bot.server.calls)

    assert await bot.core.takedown.poll_once() == 1

    assert not deleted(bot.server, message)
    tried = bot.server.calls_of("deleteMessage")
    assert not [c for c in tried if int(c.params["message_id"]) == message["message_id"]]
    alert = await bot.server.wait_for("sendMessage", to(MOD), since=before)
    link = f"https://t.me/c/{str(GROUP_ID)[4:]}/{message['message_id']}"
    assert link in alert.params["text"]
    assert "48" in alert.params["text"]
    poster = await bot.server.wait_for("sendMessage", to(ALICE), since=before)
    assert "supprimer vous-même" in poster.params["text"]
    assert bot.audit(message)[-1]["decision"] == "removal-too-old"


async def test_telegram_refusing_an_old_message_alerts_the_moderators_with_its_link(
    bot: Bot, clock: MovableClock, server: FakeTelegramServer, skew: dict[str, timedelta]
) -> None:
    message, token = await allowed_post(bot)
    # The bot's clock says 47 hours; Telegram's, two hours ahead, says 49: Telegram refuses.
    clock.advance(hours=47)
    skew["ahead"] = timedelta(hours=2)
    bot.consent.revoke(token, clock())
    before = len(server.calls)

    assert await bot.core.takedown.poll_once() == 1

    refusal = await server.wait_for("deleteMessage", since=before)
    assert int(refusal.params["message_id"]) == message["message_id"]
    assert not deleted(server, message)
    alert = await server.wait_for("sendMessage", to(MOD), since=before)
    assert f"/{message['message_id']}" in alert.params["text"]
    assert bot.audit(message)[-1]["decision"] == "removal-refused"


async def test_registry_down_is_retried_at_the_next_round(bot: Bot, clock: MovableClock) -> None:
    message, token = await allowed_post(bot)
    bot.consent.revoke(token, clock())
    bot.consent.feed_down = True
    assert await bot.core.takedown.poll_once() == 0
    assert not deleted(bot.server, message)

    bot.consent.feed_down = False
    clock.advance(seconds=10)
    assert await bot.core.takedown.poll_once() == 1
    assert deleted(bot.server, message)


async def test_a_platform_fault_is_retried_at_the_next_round(bot: Bot, clock: MovableClock) -> None:
    message, token = await allowed_post(bot)
    bot.consent.revoke(token, clock())
    bot.server.fail_next("deleteMessage", status=502, times=5)  # every attempt of one round
    assert await bot.core.takedown.poll_once() == 0
    assert not deleted(bot.server, message)

    assert await bot.core.takedown.poll_once() == 1
    assert deleted(bot.server, message)


async def test_a_restart_resumes_from_the_stored_cursor(
    server: FakeTelegramServer, tmp_path: Path, clock: MovableClock
) -> None:
    first = await start_bot(server, tmp_path / "data", clock=clock, revocation_poll_s=3600)
    try:
        message, token = await allowed_post(first)
        first.consent.revoke(first.granted_token(), clock())  # another consent: the cursor moves to it
        await first.core.takedown.poll_once()
        seen = first.consent.revocations[-1].revoked_at
        assert first.consent.revocation_reads[0] == clock() - timedelta(minutes=10)  # first start: margin
    finally:
        await stop_bot(first)

    # Withdrawn while the bot was stopped, a day ago; the bot comes back now.
    clock.advance(hours=1)
    withdrawn_at = clock()
    clock.advance(days=1)
    registry = FakeConsentLookup()
    registry.records = dict(first.consent.records)
    registry.revocations = list(first.consent.revocations)
    registry.revoke(token, withdrawn_at)
    second = await start_bot(server, tmp_path / "data", clock=clock, consent=registry, revocation_poll_s=3600)
    try:
        assert await second.core.takedown.poll_once() == 1
        assert registry.revocation_reads[0] == seen - OVERLAP
        assert deleted(server, message)
    finally:
        await stop_bot(second)


async def test_a_post_removed_on_an_edit_is_not_taken_down_again(bot: Bot, clock: MovableClock) -> None:
    message, token = await allowed_post(bot)
    bot.server.edit_caption(GROUP_ID, message["message_id"], "plus de jeton")
    await bot.settle()
    assert deleted(bot.server, message)
    told = len(texts_to(bot.server, ALICE))

    bot.consent.revoke(token, clock())
    assert await bot.core.takedown.poll_once() == 0
    assert len(texts_to(bot.server, ALICE)) == told


async def approve_the_item(bot: Bot) -> dict[str, Any]:
    """A moderator approves the item of the latest review notice: the bot's repost in the group."""
    notice = await bot.server.wait_for("sendMessage", lambda c: "reply_markup" in c.params)
    item = notice.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":", 2)[2]
    notice_id = max(m["message_id"] for m in bot.server.private_messages(MOD))
    bot.server.press_button(MOD, notice_id, MOD, f"cg:a:{item}")
    await bot.server.wait_for("editMessageText")
    reposts = [m for m in bot.server.messages_in(GROUP_ID) if m["from"]["is_bot"]]
    assert len(reposts) == 1
    return reposts[0]


async def approved_repost(bot: Bot, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A post quoting ``token`` quarantined (the registry down), then approved: it and the bot's repost."""
    bot.consent.down = True
    original = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-wound", caption=f"#consent {token}")
    await bot.server.wait_for("sendMessage", lambda c: "reply_markup" in c.params)
    await bot.settle()
    assert deleted(bot.server, original)
    assert bot.audit(original)[-1]["reason"] == "consent-unavailable"
    bot.consent.down = False
    return original, await approve_the_item(bot)


async def test_withdrawal_takes_down_the_repost_of_an_approved_item(bot: Bot, clock: MovableClock) -> None:
    token = bot.granted_token()
    original, repost = await approved_repost(bot, token)
    assert "Alice" in repost["caption"]
    assert token in repost["caption"]
    clock.advance(hours=3)
    bot.consent.revoke(token, clock())
    before = len(bot.server.calls)

    assert await bot.core.takedown.poll_once() == 1

    assert deleted(bot.server, repost)
    poster = await bot.server.wait_for("sendMessage", to(ALICE), since=before)
    assert "retiré son consentement" in poster.params["text"]
    moderators = await bot.server.wait_for("sendMessage", to(MOD), since=before)
    assert "Consentement retiré" in moderators.params["text"]
    events = bot.audit(repost)
    assert events[-1]["reason"] == "consent-withdrawn"
    assert events[-1]["verdict"] == "delete"
    assert events[-1]["poster"] == bot.audit(original)[0]["poster"]  # the original author
    assert events[-1]["token_fingerprint"] == bot.audit(original)[0]["token_fingerprint"]
    assert token.replace("-", "") not in str(events)
    assert await bot.core.takedown.poll_once() == 0  # read again: nothing more to do


async def test_an_approved_repost_without_a_token_is_not_taken_down(bot: Bot, clock: MovableClock) -> None:
    bot.server.post_photo(GROUP_ID, ALICE, b"SLIDE-fig3", caption="Figure 3")
    repost = await approve_the_item(bot)
    bot.consent.revoke(bot.granted_token(), clock())

    assert await bot.core.takedown.poll_once() == 0
    assert not deleted(bot.server, repost)
