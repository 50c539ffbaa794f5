"""Ways around the bot on Telegram (issue 10), each tried end to end: real python-telegram-bot, the fake Bot
API server on 127.0.0.1, real SQLite, and the real scan engine with its face detector only.

In a strict group every post without consent is removed whatever detection says, so removal alone proves
little: each case also reads the audit log to check that detection really saw what the file hides (a face
three seconds into a video, patient tags in a DICOM named ``IM0001``...). Media come from tests/mediagen.py.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Callable
from functools import cache
from pathlib import Path

import pytest

from bot.sandbox.fake_telegram import Call, FakeTelegramServer
from bot.scanning import InlineScanner
from tests.bot.platforms.telegram_harness import ALICE, GROUP_ID, MOD, Bot, Json, start_bot, stop_bot
from tests.imagegen import encode, wound_like_image
from tests.mediagen import blank_wall, clean_video, dicom_bytes, face_jpeg, face_pdf_on_page, late_face_video

OVER_THE_DOWNLOAD_LIMIT = 20 * 1024 * 1024 + 1


# -- media, built once ----------------------------------------------------------------------------------


@cache
def mp4_late_face() -> bytes:
    return late_face_video(kind="mp4")


@cache
def webm_late_face() -> bytes:
    return late_face_video(kind="webm")


@cache
def clean_mp4() -> bytes:
    return clean_video(kind="mp4")


@cache
def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("patient.jpg", face_jpeg())
    return out.getvalue()


@cache
def blank_thumbnail(fmt: str = "JPEG") -> bytes:
    return encode(blank_wall(), fmt)


# -- the harness: tests/bot/platforms/telegram_harness.py, with the real engine --------------------------


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(MOD, "Modé", started_bot=True)
        fake.set_admin(GROUP_ID, MOD)
        fake.set_bot_rights(GROUP_ID, admin=True, can_delete_messages=True)
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer, scanner: InlineScanner, tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_bot(server, tmp_path / "data", scanner=scanner)  # the default: a strict group
    try:
        yield running
    finally:
        await stop_bot(running)


def deleted(server: FakeTelegramServer, message: Json) -> bool:
    return (GROUP_ID, message["message_id"]) in server.deleted


def to(chat_id: int) -> Callable[[Call], bool]:
    return lambda call: int(call.params.get("chat_id", 0)) == chat_id


def deleting(message: Json) -> Callable[[Call], bool]:
    wanted = (GROUP_ID, message["message_id"])
    return lambda call: (int(call.params["chat_id"]), int(call.params["message_id"])) == wanted


def medium_file_id(message: Json) -> str:
    """The file id of what a message shows (a photo's largest size)."""
    if "photo" in message:
        return str(message["photo"][-1]["file_id"])
    medium = next(
        message[key] for key in ("video", "video_note", "animation", "document", "sticker") if key in message
    )
    return str(medium["file_id"])


def fetched_file_ids(bot: Bot) -> set[str]:
    return {str(call.params["file_id"]) for call in bot.server.calls_of("getFile")}


async def removed_and_reminded(bot: Bot, message: Json) -> Json:
    """Wait for the removal of ``message`` and the poster's private reminder; the post's final audit event."""
    await bot.server.wait_for("deleteMessage", deleting(message), timeout=20)
    await bot.server.wait_for("sendMessage", to(ALICE), timeout=20)
    await bot.settle()
    assert deleted(bot.server, message)
    events = bot.audit(message)
    assert events, "the decision was not audited"
    return events[-1]


# -- ways around: detection must see what the file hides ------------------------------------------------

Poster = Callable[[FakeTelegramServer], Json]


def video_with_a_blank_thumbnail(server: FakeTelegramServer) -> Json:
    return server.post_video(GROUP_ID, ALICE, mp4_late_face(), "avis ?", thumbnail=blank_thumbnail())


def round_video_note(server: FakeTelegramServer) -> Json:
    return server.post_video_note(GROUP_ID, ALICE, mp4_late_face(), thumbnail=blank_thumbnail())


def mp4_animation(server: FakeTelegramServer) -> Json:
    return server.post_animation(GROUP_ID, ALICE, mp4_late_face(), thumbnail=blank_thumbnail())


def webm_video_sticker(server: FakeTelegramServer) -> Json:
    return server.post_sticker(
        GROUP_ID, ALICE, webm_late_face(), is_video=True, thumbnail=blank_thumbnail("WEBP")
    )


def dicom_named_im0001(server: FakeTelegramServer) -> Json:
    return server.post_document(GROUP_ID, ALICE, dicom_bytes(), "IM0001", "application/octet-stream")


def face_jpeg_named_scan_bin(server: FakeTelegramServer) -> Json:
    return server.post_document(GROUP_ID, ALICE, face_jpeg(), "scan.bin", "application/octet-stream")


def pdf_with_a_face_on_page_2(server: FakeTelegramServer) -> Json:
    return server.post_document(GROUP_ID, ALICE, face_pdf_on_page(2), "compte-rendu.pdf", "application/pdf")


def forwarded_video(server: FakeTelegramServer) -> Json:
    # Alice first sent it elsewhere (here, her private chat with the bot), then forwards it to the group.
    original = server.post_video(ALICE, ALICE, mp4_late_face(), thumbnail=blank_thumbnail())
    return server.forward_message(GROUP_ID, ALICE, ALICE, original["message_id"])


@pytest.mark.parametrize(
    ("post", "kind"),
    [
        pytest.param(video_with_a_blank_thumbnail, "face", id="video-face-after-a-blank-thumbnail"),
        pytest.param(round_video_note, "face", id="video-note"),
        pytest.param(mp4_animation, "face", id="mp4-animation"),
        pytest.param(webm_video_sticker, "face", id="webm-video-sticker"),
        pytest.param(dicom_named_im0001, "dicom_patient_tag", id="dicom-named-IM0001-octet-stream"),
        pytest.param(face_jpeg_named_scan_bin, "face", id="face-jpeg-named-scan.bin"),
        pytest.param(pdf_with_a_face_on_page_2, "face", id="pdf-face-on-page-2"),
        pytest.param(forwarded_video, "face", id="forwarded-video"),
    ],
)
async def test_a_hidden_identifying_medium_is_seen_and_removed(bot: Bot, post: Poster, kind: str) -> None:
    message = post(bot.server)
    event = await removed_and_reminded(bot, message)
    assert fetched_file_ids(bot) == {medium_file_id(message)}  # the file itself, never its thumbnail
    assert event["reason"] == "no-consent-identifying"
    assert kind in event["finding_kinds"]


# -- ways around: what cannot be checked is removed -------------------------------------------------------


async def test_a_zip_document_is_removed_as_uncheckable(bot: Bot) -> None:
    message = bot.server.post_document(GROUP_ID, ALICE, zip_bytes(), "photos.zip", "application/zip")
    event = await removed_and_reminded(bot, message)
    assert event["reason"] == "unchecked-file"
    reminder = [c for c in bot.server.calls_of("sendMessage") if to(ALICE)(c)][-1].params["text"]
    assert "ne peut pas regarder dans ce type de fichier" in reminder


async def test_a_document_over_the_download_limit_is_removed_unread(bot: Bot) -> None:
    data = b"\xff\xd8\xff" + b"\0" * OVER_THE_DOWNLOAD_LIMIT
    message = bot.server.post_document(GROUP_ID, ALICE, data, "IMG_0001.jpg", "image/jpeg")
    event = await removed_and_reminded(bot, message)
    assert event["reason"] == "detection-failed"
    assert not bot.server.calls_of("getFile")  # the Bot API would refuse it: not even asked


async def test_a_voice_note_is_a_file_the_bot_cannot_check(bot: Bot) -> None:
    message = bot.server.post_voice(GROUP_ID, ALICE, b"OggS\x00\x02" + bytes(200))
    event = await removed_and_reminded(bot, message)
    assert event["reason"] == "unchecked-file"


async def test_a_forwarded_story_the_bot_cannot_download_is_removed(bot: Bot) -> None:
    message = bot.server.forward_story(GROUP_ID, ALICE, story_chat_id=-1009999, story_id=5)
    event = await removed_and_reminded(bot, message)
    assert event["reason"] == "detection-failed"  # could not be checked: fails closed
    assert not bot.server.calls_of("getFile")


async def test_a_sticker_from_a_pack_showing_nobody_stays_up_in_a_strict_group(bot: Bot) -> None:
    # A 👍 sticker is not a patient's image: only what it shows is judged (the WebM sticker above with a face
    # is removed).
    sticker = encode(wound_like_image().resize((256, 256)), "WEBP")
    message = bot.server.post_sticker(GROUP_ID, ALICE, sticker)
    await bot.settle()
    assert fetched_file_ids(bot) == {medium_file_id(message)}
    assert bot.audit(message)[-1]["reason"] == "no-consent-not-identifying"
    assert not deleted(bot.server, message)


# -- and consent still works for these kinds --------------------------------------------------------------


async def test_a_video_with_valid_consent_stays_up(bot: Bot) -> None:
    caption = f"#consent {bot.granted_token()}"
    message = bot.server.post_video(GROUP_ID, ALICE, mp4_late_face(), caption, thumbnail=blank_thumbnail())
    await bot.settle()
    assert not deleted(bot.server, message)
    assert len(bot.consent.uses) == 1
    assert bot.audit(message)[-1]["reason"] == "consent-valid"


async def test_an_approved_video_goes_back_up_as_a_file_not_a_photo(bot: Bot) -> None:
    # A clean video without consent is held for review; Telegram's sendPhoto would refuse it on approval.
    bot.server.post_video(GROUP_ID, ALICE, clean_mp4(), "plaie J3", thumbnail=blank_thumbnail())
    notice = await bot.server.wait_for("sendMessage", lambda c: "reply_markup" in c.params, timeout=20)
    item = notice.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":", 2)[2]
    notice_id = max(m["message_id"] for m in bot.server.private_messages(MOD))
    bot.server.press_button(MOD, notice_id, MOD, f"cg:a:{item}")
    repost = await bot.server.wait_for("sendDocument", to(GROUP_ID), timeout=20)
    assert repost.params["document"].data == clean_mp4()
    assert "Modé" in repost.params["caption"]
    assert not bot.server.calls_of("sendPhoto")
