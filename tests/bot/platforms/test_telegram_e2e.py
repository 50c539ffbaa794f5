"""The Telegram adapter end to end: real python-telegram-bot against the fake Bot API server on 127.0.0.1.

Detection is stubbed (image bytes say what they show), consent is a fake registry; storage is real SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.consent.model import ConsentRecord, ConsentStatus
from bot.consent.token import new_token
from bot.platforms.telegram import frontend as frontend_module
from bot.sandbox.fake_telegram import Call, FakeTelegramServer
from tests.bot.platforms.telegram_harness import ALICE, BOB, GROUP, GROUP_ID, MOD, Bot, start_bot, stop_bot


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(BOB, "Bob", started_bot=False, language_code="en")
        fake.add_user(MOD, "Modé", started_bot=True)
        fake.set_admin(GROUP_ID, MOD)
        fake.set_bot_rights(GROUP_ID, admin=True, can_delete_messages=True)
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_bot(server, tmp_path / "data")
    yield running
    await stop_bot(running)


def deleted(server: FakeTelegramServer, message: dict[str, Any]) -> bool:
    return (GROUP_ID, message["message_id"]) in server.deleted


def to(chat_id: int) -> Any:
    return lambda call: int(call.params.get("chat_id", 0)) == chat_id


# -- the policy table through Telegram ---------------------------------------------------------------


async def test_face_without_consent_is_deleted_and_the_poster_told_privately(bot: Bot) -> None:
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-selfie", caption="avis ?")
    await bot.server.wait_for("deleteMessage")
    reminder = await bot.server.wait_for("sendMessage", to(ALICE))
    assert deleted(bot.server, message)
    assert "226-13" in reminder.params["text"]
    assert "visage" in reminder.params["text"]


async def test_valid_consent_keeps_the_post_and_records_the_use(bot: Bot) -> None:
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-wound", caption=f"#consent {bot.granted_token()}")
    await bot.settle()
    assert not deleted(bot.server, message)
    assert len(bot.consent.uses) == 1


async def test_revoked_token_removes_the_post(bot: Bot) -> None:
    token = new_token()
    bot.consent.records[token.compact] = ConsentRecord(status=ConsentStatus.REVOKED)
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-1", caption=f"#consent {token.value}")
    reminder = await bot.server.wait_for("sendMessage", to(ALICE))
    assert deleted(bot.server, message)
    assert "révoqu" in reminder.params["text"]


async def test_clean_image_without_consent_is_quarantined_for_review(bot: Bot) -> None:
    message = bot.server.post_photo(GROUP_ID, ALICE, b"SLIDE-fig2", caption="Fig. 2")
    notice = await bot.server.wait_for("sendMessage", lambda c: "reply_markup" in c.params)
    assert deleted(bot.server, message)
    assert int(notice.params["chat_id"]) == MOD  # no review chat configured: the admins privately


async def test_image_sent_as_a_file_and_dicom_documents_are_checked(bot: Bot) -> None:
    png = bot.server.post_document(GROUP_ID, ALICE, b"NAME-label", "label.png", "image/png")
    dicom = bot.server.post_document(GROUP_ID, ALICE, b"NAME-dicom", "ct.dcm", "application/octet-stream")
    await bot.server.wait_until(lambda: deleted(bot.server, png) and deleted(bot.server, dicom))


async def test_file_over_the_download_limit_fails_closed(bot: Bot) -> None:
    message = bot.server.post_document(
        GROUP_ID, ALICE, b"x" * (20 * 1024 * 1024 + 1), "big.jpg", "image/jpeg"
    )
    await bot.server.wait_until(lambda: deleted(bot.server, message))
    assert not bot.server.calls_of("getFile")


# -- albums and edits -------------------------------------------------------------------------------------


async def test_album_token_on_one_item_covers_the_whole_album(bot: Bot) -> None:
    items = bot.server.post_album(
        GROUP_ID, ALICE, [b"FACE-a", b"CLEAN-b", b"NAME-c"], caption=f"#consent {bot.granted_token()}"
    )
    await bot.server.wait_until(lambda: len(bot.consent.uses) == 3)
    assert not any(deleted(bot.server, item) for item in items)


async def test_album_without_token_is_removed_whole(bot: Bot) -> None:
    items = bot.server.post_album(GROUP_ID, ALICE, [b"CLEAN-a", b"FACE-b"])
    await bot.server.wait_until(lambda: all(deleted(bot.server, item) for item in items))
    await bot.server.wait_for("sendMessage", to(ALICE))


async def test_a_judged_album_is_forgotten_after_a_while_not_kept_for_ever(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Forgotten at once after the judgment, but only once its updates are acknowledged: before that,
    # getUpdates brings them again and they must be recognised, not gathered as a new album.
    monkeypatch.setattr(frontend_module, "ALBUM_MEMORY_S", 0.01)
    items = bot.server.post_album(GROUP_ID, ALICE, [b"CLEAN-a", b"FACE-b"])
    await bot.server.wait_until(lambda: all(deleted(bot.server, item) for item in items))
    await bot.settle()
    await bot.server.wait_until(lambda: bot.frontend.albums_known == 0)
    removals = [call.params["message_id"] for call in bot.server.calls_of("deleteMessage")]
    assert sorted(removals) == sorted(item["message_id"] for item in items)  # judged once, not again


async def test_removing_the_token_in_an_edit_removes_the_post(bot: Bot) -> None:
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-1", caption=f"#consent {bot.granted_token()}")
    await bot.server.wait_until(lambda: len(bot.consent.uses) == 1)
    bot.server.edit_caption(GROUP_ID, message["message_id"], "légende corrigée")
    await bot.server.wait_until(lambda: deleted(bot.server, message))


# -- telling people -------------------------------------------------------------------------------------


async def test_poster_who_never_started_the_bot_gets_a_short_group_notice_that_goes_away(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    running = await start_bot(server, tmp_path / "data", "[default]\nnotice_ttl_s = 5\n")
    try:
        server.post_photo(GROUP_ID, BOB, b"FACE-1")
        notice = await server.wait_for("sendMessage", to(GROUP_ID))
        assert "t.me/consentguard_bot?start=" in notice.params["text"]
        assert "226-13" not in notice.params["text"]
        notice_id = next(m for m in server.messages_in(GROUP_ID) if m["from"]["is_bot"])["message_id"]
        await server.wait_until(lambda: (GROUP_ID, notice_id) in server.deleted, timeout=15)
    finally:
        await stop_bot(running)


async def test_missing_delete_right_is_reported_at_start_up(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    server.set_bot_rights(GROUP_ID, admin=False, can_delete_messages=False)
    running = await start_bot(server, tmp_path / "data")
    try:
        warning = await server.wait_for("sendMessage", to(GROUP_ID))
        assert "supprimer des messages" in warning.params["text"]
        await server.wait_for("sendMessage", to(MOD))
    finally:
        await stop_bot(running)


async def test_being_demoted_is_reported(bot: Bot) -> None:
    bot.server.my_chat_member(GROUP_ID, status="member", can_delete_messages=False)
    warning = await bot.server.wait_for("sendMessage", to(GROUP_ID))
    assert "administrateur" in warning.params["text"]


# -- moderator review -----------------------------------------------------------------------------------


async def _quarantined_notice(bot: Bot) -> tuple[Call, str]:
    bot.server.post_photo(GROUP_ID, ALICE, b"SLIDE-fig3", caption="Figure 3")
    notice = await bot.server.wait_for("sendMessage", lambda c: "reply_markup" in c.params)
    markup = notice.params["reply_markup"]
    data = markup["inline_keyboard"][0][0]["callback_data"]
    return notice, data.split(":", 2)[2]


def _notice_message_id(bot: Bot) -> int:
    return max(m["message_id"] for m in bot.server.private_messages(MOD))


async def test_only_administrators_may_press_the_review_buttons(bot: Bot) -> None:
    _, item = await _quarantined_notice(bot)
    mark = len(bot.server.calls)
    bot.server.press_button(MOD, _notice_message_id(bot), ALICE, f"cg:a:{item}")
    answer = await bot.server.wait_for("answerCallbackQuery", since=mark)
    assert "administrat" in answer.params["text"].lower()
    assert not bot.server.calls_of("sendPhoto")
    assert len(bot.core.storage.quarantine.pending(GROUP)) == 1


async def test_approve_reposts_with_the_poster_and_moderator_names(bot: Bot) -> None:
    _, item = await _quarantined_notice(bot)
    bot.server.press_button(MOD, _notice_message_id(bot), MOD, f"cg:a:{item}")
    repost = await bot.server.wait_for("sendPhoto", to(GROUP_ID))
    assert "Alice" in repost.params["caption"]
    assert "Modé" in repost.params["caption"]
    await bot.server.wait_for("editMessageText")
    assert bot.core.storage.quarantine.pending(GROUP) == []


async def test_an_approved_item_telegram_refuses_as_a_photo_goes_back_as_a_file(bot: Bot) -> None:
    _, item = await _quarantined_notice(bot)
    bot.server.fail_next("sendPhoto", 400, description="Bad Request: IMAGE_PROCESS_FAILED")
    bot.server.press_button(MOD, _notice_message_id(bot), MOD, f"cg:a:{item}")
    repost = await bot.server.wait_for("sendDocument", to(GROUP_ID))
    assert repost.params["document"].data == b"SLIDE-fig3"
    assert "Modé" in repost.params["caption"]
    # Reposted first, purged after: the copy goes once the repost is up.
    await bot.server.wait_until(lambda: bot.core.storage.quarantine.pending(GROUP) == [])


async def test_a_repost_that_fails_leaves_the_item_held(bot: Bot) -> None:
    _, item = await _quarantined_notice(bot)
    bot.server.fail_next("sendPhoto", 403, description="Forbidden: bot was kicked from the group chat")
    bot.server.press_button(MOD, _notice_message_id(bot), MOD, f"cg:a:{item}")
    answer = await bot.server.wait_for("answerCallbackQuery")
    assert "republication a échoué" in answer.params["text"]
    assert not bot.server.calls_of("sendDocument")
    [held] = bot.core.storage.quarantine.pending(GROUP)  # nothing lost: approve again, or reject
    assert held.item_id == item
    assert bot.core.storage.quarantine.images(item)[0][1] == b"SLIDE-fig3"


async def test_show_sends_the_image_with_a_spoiler_and_reject_purges(bot: Bot) -> None:
    _, item = await _quarantined_notice(bot)
    notice_id = _notice_message_id(bot)
    bot.server.press_button(MOD, notice_id, MOD, f"cg:s:{item}")
    shown = await bot.server.wait_for("sendPhoto", to(MOD))
    assert shown.params.get("has_spoiler") in (True, "true", "True")
    bot.server.press_button(MOD, notice_id, MOD, f"cg:r:{item}")
    await bot.server.wait_for("editMessageText")
    assert bot.core.storage.quarantine.pending(GROUP) == []


async def test_commands(bot: Bot) -> None:
    bot.server.command(GROUP_ID, ALICE, "/status")
    status = await bot.server.wait_for("sendMessage", to(GROUP_ID))
    assert "strict" in status.params["text"]
    mark = len(bot.server.calls)
    bot.server.command(GROUP_ID, ALICE, "/policy monitor")
    refused = await bot.server.wait_for("sendMessage", to(GROUP_ID), since=mark)
    assert "modérateurs" in refused.params["text"].lower()
    mark = len(bot.server.calls)
    bot.server.command(GROUP_ID, MOD, "/policy monitor")
    changed = await bot.server.wait_for("sendMessage", to(GROUP_ID), since=mark)
    assert "monitor" in changed.params["text"]
    mark = len(bot.server.calls)
    bot.server.command(ALICE, ALICE, "/start")
    start = await bot.server.wait_for("sendMessage", to(ALICE), since=mark)
    assert "#consent" in start.params["text"]


# -- resilience ---------------------------------------------------------------------------------------------


async def test_flood_control_is_waited_out_and_the_delete_happens(bot: Bot) -> None:
    bot.server.fail_next("deleteMessage", status=429, retry_after=1)
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-1")
    await bot.server.wait_until(lambda: deleted(bot.server, message), timeout=15)
    assert len(bot.server.calls_of("deleteMessage")) == 2


async def test_restart_does_not_handle_a_message_twice(server: FakeTelegramServer, tmp_path: Path) -> None:
    first = await start_bot(server, tmp_path / "data")
    server.post_photo(GROUP_ID, ALICE, b"FACE-1")
    await server.wait_for("deleteMessage")
    await first.settle()
    await stop_bot(first)
    deletes = len(server.calls_of("deleteMessage"))

    second = await start_bot(server, tmp_path / "data")
    try:
        server.post_photo(GROUP_ID, ALICE, b"CLEAN-after-restart", caption="x")
        await server.wait_until(lambda: len(server.calls_of("deleteMessage")) == deletes + 1)
        await second.settle()
        assert len(server.calls_of("deleteMessage")) == deletes + 1  # the first photo was not redone
    finally:
        await stop_bot(second)


async def test_an_update_is_acknowledged_only_after_it_was_persisted(bot: Bot) -> None:
    bot.server.post_photo(GROUP_ID, ALICE, b"FACE-1")
    await bot.server.wait_for("deleteMessage")
    polls = bot.server.calls_of("getUpdates")
    offsets = [int(c.params.get("offset", 0) or 0) for c in polls]
    assert offsets == sorted(offsets)


# -- the remaining rows of the policy table -----------------------------------------------------------------


async def test_consent_registry_down_quarantines_never_allows(bot: Bot) -> None:
    token = bot.granted_token()
    bot.consent.down = True
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-1", caption=f"#consent {token}")
    await bot.server.wait_for("sendMessage", lambda c: "reply_markup" in c.params)
    assert deleted(bot.server, message)


async def test_detector_failure_quarantines(bot: Bot) -> None:
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FAIL-timeout")
    await bot.server.wait_for("sendMessage", lambda c: "reply_markup" in c.params)
    assert deleted(bot.server, message)


async def test_identifying_only_group_lets_a_clean_image_through(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    running = await start_bot(server, tmp_path / "data", '[default]\nmode = "identifying-only"\n')
    try:
        clean = server.post_photo(GROUP_ID, ALICE, b"CLEAN-slide")
        face = server.post_photo(GROUP_ID, ALICE, b"FACE-1")
        await server.wait_until(lambda: deleted(server, face))
        await running.settle()
        assert not deleted(server, clean)
    finally:
        await stop_bot(running)


async def test_monitor_group_removes_nothing_and_tells_the_moderators(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    running = await start_bot(server, tmp_path / "data", '[default]\nmode = "monitor"\n')
    try:
        face = server.post_photo(GROUP_ID, ALICE, b"FACE-1")
        notice = await server.wait_for("sendMessage", to(MOD))
        assert "delete" in notice.params["text"].lower() or "supprim" in notice.params["text"].lower()
        assert not deleted(server, face)
    finally:
        await stop_bot(running)


# -- faults ----------------------------------------------------------------------------------------------


async def test_an_update_whose_post_cannot_be_persisted_is_fetched_again(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    moderator = bot.frontend.moderator
    accept_many = moderator.accept_many
    attempts = 0

    async def locked_once(posts: Any) -> list[bool]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise sqlite3.OperationalError("database is locked")
        return await accept_many(posts)

    monkeypatch.setattr(moderator, "accept_many", locked_once)
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-selfie", caption="avis ?")
    await bot.server.wait_until(lambda: deleted(bot.server, message), timeout=15)
    assert attempts == 2  # not acknowledged the first time: Telegram gave it again


async def test_a_removal_telegram_refuses_alerts_the_moderators_with_a_link(bot: Bot) -> None:
    bot.server.set_bot_rights(GROUP_ID, admin=True, can_delete_messages=False)
    message = bot.server.post_photo(GROUP_ID, ALICE, b"FACE-selfie", caption="avis ?")
    alert = await bot.server.wait_for("sendMessage", lambda c: "t.me/c/" in str(c.params.get("text", "")))
    assert f"/{message['message_id']}" in alert.params["text"]
    assert not deleted(bot.server, message)
    reminder = await bot.server.wait_for("sendMessage", to(ALICE))
    assert "n’a pas pu la supprimer" in reminder.params["text"]
