"""De-identified reposts on Telegram, end to end: real python-telegram-bot against the fake Bot API server.

An identifying photo in an identifying-only group is removed, the poster is told and offered a masked copy
privately; pressing the button posts the masked copy in the group (not the original bytes, without the
caption), purges the stored copy and audits the repost. Detection and rendering are fakes.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.core.deidentified import REPOST_DECISION
from bot.sandbox.fake_telegram import Call, FakeTelegramServer
from detectors.base import Finding, FindingKind
from detectors.engine import ScanReport
from tests.bot.platforms.telegram_harness import ALICE, BOB, GROUP_ID, Bot, start_bot, stop_bot

IDENTIFYING_ONLY = '[default]\nmode = "identifying-only"\n'
CAPTION = "Mme Dupont, plaie J3"


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 80, 80)).save(out, "JPEG")
    return out.getvalue()


ORIGINAL, MASKED = jpeg(210), jpeg(0)


class FaceScanner:
    """Every medium shows a face."""

    async def scan(self, data: bytes, name_hint: str) -> ScanReport:
        report = ScanReport()
        report.findings.append(Finding(FindingKind.FACE, "faces", 0.9, True, "human face"))
        return report

    async def aclose(self) -> None:
        return None


class FixedDeidentifier:
    """Renders every image as MASKED (the real rendering is tested in tests/detectors)."""

    async def render(self, data: bytes, name_hint: str) -> bytes | None:
        return MASKED


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(BOB, "Bob", started_bot=True, language_code="en")
        fake.set_bot_rights(GROUP_ID, admin=True, can_delete_messages=True)
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_bot(
        server, tmp_path / "data", IDENTIFYING_ONLY, FaceScanner(), deidentifier=FixedDeidentifier()
    )
    yield running
    await stop_bot(running)


def to(chat_id: int) -> Any:
    return lambda call: int(call.params.get("chat_id", 0)) == chat_id


def has_button(call: Call) -> bool:
    return "reply_markup" in call.params


async def offered(bot: Bot) -> tuple[int, str]:
    """Post the identifying photo; the offer's message id in Alice's chat and its button's data."""
    message = bot.server.post_photo(GROUP_ID, ALICE, ORIGINAL, caption=CAPTION)
    await bot.server.wait_for("sendMessage", lambda c: to(ALICE)(c) and has_button(c))
    assert (GROUP_ID, message["message_id"]) in bot.server.deleted
    offer = next(m for m in bot.server.private_messages(ALICE) if "reply_markup" in m)
    [[button]] = offer["reply_markup"]["inline_keyboard"]
    return offer["message_id"], button["callback_data"]


async def test_the_poster_is_offered_the_masked_copy_after_the_reminder(bot: Bot) -> None:
    await offered(bot)
    to_alice = [c for c in bot.server.calls if c.method in ("sendMessage", "sendPhoto") and to(ALICE)(c)]
    reminder, preview, offer = to_alice
    assert "226-13" in reminder.params["text"]
    assert preview.method == "sendPhoto"
    assert preview.params["photo"].data == MASKED
    assert "anonymisée" in offer.params["text"]
    assert bot.core.storage.offers.count() == 1
    assert not [c for c in bot.server.calls_of("sendPhoto") if to(GROUP_ID)(c)]


async def test_confirming_posts_the_masked_copy_in_the_group_without_the_caption(bot: Bot) -> None:
    offer_id, data = await offered(bot)
    bot.server.press_button(ALICE, offer_id, ALICE, data)

    repost = await bot.server.wait_for("sendPhoto", to(GROUP_ID))
    assert repost.params["photo"].data == MASKED
    assert repost.params["photo"].data != ORIGINAL
    caption = repost.params["caption"]
    assert caption == "Publié par Alice — version anonymisée par consentguard"
    assert "Dupont" not in caption
    answer = await bot.server.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Version anonymisée publiée."
    await bot.server.wait_for("editMessageText")
    assert "reply_markup" not in (bot.server.message(ALICE, offer_id) or {})
    assert bot.core.storage.offers.count() == 0
    original = [m for m in bot.server.messages_in(GROUP_ID) if not m["from"]["is_bot"]]
    assert original == []
    events = [e for e in _all_events(bot) if e["decision"] == REPOST_DECISION]
    assert len(events) == 1


async def test_someone_else_pressing_posts_nothing(bot: Bot) -> None:
    offer_id, data = await offered(bot)
    bot.server.press_button(ALICE, offer_id, BOB, data)
    answer = await bot.server.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Only the person who posted the image can confirm."
    assert not [c for c in bot.server.calls_of("sendPhoto") if to(GROUP_ID)(c)]
    assert bot.core.storage.offers.count() == 1


async def test_a_second_press_posts_nothing_more(bot: Bot) -> None:
    offer_id, data = await offered(bot)
    bot.server.press_button(ALICE, offer_id, ALICE, data)
    await bot.server.wait_for("editMessageText")
    with pytest.raises(ValueError, match="no button"):  # the message no longer carries it
        bot.server.press_button(ALICE, offer_id, ALICE, data)
    assert len([c for c in bot.server.calls_of("sendPhoto") if to(GROUP_ID)(c)]) == 1


def _all_events(bot: Bot) -> list[dict[str, Any]]:
    out = io.StringIO()
    bot.core.storage.audit.export(datetime(2000, 1, 1, tzinfo=UTC), "jsonl", out)
    return [json.loads(line) for line in out.getvalue().splitlines()]
