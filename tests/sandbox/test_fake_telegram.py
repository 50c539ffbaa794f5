"""The fake Telegram server, exercised through the real python-telegram-bot over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.sandbox import FakeTelegramServer, UploadedFile

TOKEN = "123:ABC"  # noqa: S105 - the fake server's fake token
GROUP = -1001234567890
ALICE = 42
BOB = 43


@pytest.fixture(autouse=True)
def _timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (an error here) when a time period such as RetryAfter.retry_after is read as an
    # int; opting in to datetime.timedelta, as the production code should, removes the cause.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN, bot_username="consentguard_bot") as running:
        running.add_group(GROUP, "Dermatologie")
        running.add_user(ALICE, "Alice", username="alice")
        running.add_user(BOB, "Bob")
        yield running


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as client:
        yield client


def jpeg(width: int = 1000, height: int = 700) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 90)).save(out, format="JPEG")
    return out.getvalue()


async def test_initialize_calls_get_me(server: FakeTelegramServer) -> None:
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as client:
        assert client.username == "consentguard_bot"
        assert client.id == 123
    assert [call.method for call in server.calls] == ["getMe"]


async def test_get_updates_returns_injected_updates_and_acknowledges_by_offset(
    server: FakeTelegramServer, bot: Bot
) -> None:
    server.post_text(GROUP, ALICE, "bonjour")
    server.post_text(GROUP, BOB, "salut")

    first = await bot.get_updates()
    assert [u.message.text for u in first if u.message] == ["bonjour", "salut"]
    assert first[0].message is not None
    assert first[0].message.from_user is not None
    assert first[0].message.from_user.id == ALICE
    assert await bot.get_updates() == first  # not acknowledged yet

    assert await bot.get_updates(offset=first[-1].update_id + 1) == ()
    assert server.pending_updates == []
    server.post_text(GROUP, ALICE, "encore")
    (later,) = await bot.get_updates(offset=first[-1].update_id + 1)
    assert later.update_id == first[-1].update_id + 1


async def test_long_poll_returns_as_soon_as_an_update_is_injected(
    server: FakeTelegramServer, bot: Bot
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=30)))
    await server.wait_for("getUpdates")
    assert not poll.done()  # the server holds the request open

    server.post_photo(GROUP, ALICE, jpeg(), caption="lésion")
    async with asyncio.timeout(2):
        (update,) = await poll
    assert update.message is not None
    assert update.message.caption == "lésion"


async def test_a_cancelled_long_poll_is_released(server: FakeTelegramServer, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=30)))
    await server.wait_until(lambda: server.waiting_polls == 1)
    poll.cancel()  # what PTB's updater does on stop
    await server.wait_until(lambda: server.waiting_polls == 0, timeout=3)


async def test_stopping_the_server_ends_a_pending_long_poll() -> None:
    server = FakeTelegramServer(token=TOKEN)
    await server.__aenter__()
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as client:
        poll = asyncio.create_task(client.get_updates(timeout=dtm.timedelta(seconds=30)))
        await server.wait_for("getUpdates")
        async with asyncio.timeout(3):
            await server.__aexit__(None, None, None)
            assert await poll == ()


async def test_a_second_poller_ends_the_first_with_conflict(server: FakeTelegramServer, bot: Bot) -> None:
    # Two bot instances on one token: Telegram answers the older long poll with 409.
    first = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=30)))
    await server.wait_for("getUpdates")
    async with Bot(TOKEN, base_url=server.base_url) as other:
        assert await other.get_updates() == ()
    with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
        await first


async def test_allowed_updates_filters_update_kinds(server: FakeTelegramServer, bot: Bot) -> None:
    server.post_text(GROUP, ALICE, "ignored")
    sent = await bot.send_message(
        GROUP, "Revue", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    )
    server.press_button(GROUP, sent.message_id, ALICE, "ok")

    (update,) = await bot.get_updates(allowed_updates=["callback_query"])
    assert update.callback_query is not None
    assert server.calls_of("getUpdates")[0].params["allowed_updates"] == ["callback_query"]


async def test_send_message_to_a_user_who_never_started_the_bot_is_forbidden(
    server: FakeTelegramServer, bot: Bot
) -> None:
    with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
        await bot.send_message(ALICE, "Votre photo a été retirée.")
    assert server.private_messages(ALICE) == []

    server.command(ALICE, ALICE, "/start")  # writing to the bot opens the chat
    await bot.send_message(ALICE, "Votre photo a été retirée.")
    assert [m["text"] for m in server.private_messages(ALICE)] == ["Votre photo a été retirée."]


async def test_blocked_user_and_unknown_chat(server: FakeTelegramServer, bot: Bot) -> None:
    server.add_user(44, "Chloé", started_bot=True, blocked_bot=True)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await bot.send_message(44, "x")
    with pytest.raises(BadRequest, match=r"(?i)Chat not found"):
        await bot.send_message(999, "x")


async def test_deleting_a_message_twice_is_a_bad_request(server: FakeTelegramServer, bot: Bot) -> None:
    posted = server.post_photo(GROUP, ALICE, jpeg())
    mid = posted["message_id"]

    assert await bot.delete_message(GROUP, mid) is True
    with pytest.raises(BadRequest, match=r"(?i)Message to delete not found"):
        await bot.delete_message(GROUP, mid)
    assert (GROUP, mid) in server.deleted
    assert server.messages_in(GROUP) == []
    assert server.message(GROUP, mid) is None


async def test_deleting_others_messages_needs_the_right(server: FakeTelegramServer, bot: Bot) -> None:
    server.set_bot_rights(GROUP, admin=False, can_delete_messages=False)
    theirs = server.post_text(GROUP, ALICE, "photo de patient")
    ours = await bot.send_message(GROUP, "Rappel")

    with pytest.raises(BadRequest, match=r"(?i)Message can't be deleted"):
        await bot.delete_message(GROUP, theirs["message_id"])
    assert await bot.delete_message(GROUP, ours.message_id) is True
    assert [m["message_id"] for m in server.messages_in(GROUP)] == [theirs["message_id"]]


async def test_delete_messages_skips_missing_ones(server: FakeTelegramServer, bot: Bot) -> None:
    album = server.post_album(GROUP, ALICE, [jpeg(), jpeg()], caption="cas clinique")
    ids = [m["message_id"] for m in album]
    assert len({m["media_group_id"] for m in album}) == 1

    assert await bot.delete_messages(GROUP, [*ids, 999]) is True
    assert {(GROUP, mid) for mid in ids} <= server.deleted


async def test_photo_download_returns_the_injected_bytes(server: FakeTelegramServer, bot: Bot) -> None:
    data = jpeg(1000, 700)
    server.post_photo(GROUP, ALICE, data)
    (update,) = await bot.get_updates()
    assert update.message is not None
    sizes = update.message.photo
    assert [s.width for s in sizes] == [90, 320, 800, 1000]
    assert sizes[-1].height == 700

    largest = await bot.get_file(sizes[-1].file_id)
    assert bytes(await largest.download_as_bytearray()) == data
    thumbnail = await (await bot.get_file(sizes[0].file_id)).download_as_bytearray()
    with Image.open(io.BytesIO(bytes(thumbnail))) as image:
        assert max(image.size) == 90


async def download(bot: Bot, file_id: str) -> bytes:
    return bytes(await (await bot.get_file(file_id)).download_as_bytearray())


async def test_videos_notes_animations_stickers_documents_and_forwards_download_like_photos(
    server: FakeTelegramServer, bot: Bot
) -> None:
    wall, mp4, webm = jpeg(320, 240), b"\0\0\0\x18ftypmp42-video", b"\x1aE\xdf\xa3webm-sticker"
    server.post_video(GROUP, ALICE, mp4, "avis ?", thumbnail=wall, file_name="plaie.mp4")
    server.post_video_note(GROUP, ALICE, mp4, thumbnail=wall)
    server.post_animation(GROUP, ALICE, mp4, thumbnail=wall)
    server.post_sticker(GROUP, ALICE, webm, is_video=True, thumbnail=wall)
    server.post_document(GROUP, ALICE, b"DICM-bytes", "IM0001", "application/octet-stream")
    original = server.post_video(ALICE, ALICE, mp4, "vu en consultation")
    server.forward_message(GROUP, BOB, ALICE, original["message_id"])

    updates = await bot.get_updates()
    messages = [u.message for u in updates if u.message is not None and u.message.chat.id == GROUP]
    video, note, animation, sticker, document, forwarded = messages
    assert video.video is not None
    assert video.video.thumbnail is not None
    assert video.caption == "avis ?"
    assert (video.video.file_name, video.video.mime_type) == ("plaie.mp4", "video/mp4")
    assert await download(bot, video.video.file_id) == mp4
    assert await download(bot, video.video.thumbnail.file_id) == wall
    assert note.video_note is not None
    assert note.video_note.thumbnail is not None
    assert await download(bot, note.video_note.file_id) == mp4
    assert animation.animation is not None
    assert animation.animation.thumbnail is not None
    assert await download(bot, animation.animation.file_id) == mp4
    assert sticker.sticker is not None
    assert sticker.sticker.is_video
    assert await download(bot, sticker.sticker.file_id) == webm
    assert document.document is not None
    assert document.document.file_name == "IM0001"
    assert document.document.mime_type == "application/octet-stream"
    assert await download(bot, document.document.file_id) == b"DICM-bytes"
    assert forwarded.video is not None
    assert forwarded.forward_origin is not None
    assert forwarded.from_user is not None
    assert forwarded.from_user.id == BOB
    assert forwarded.caption == "vu en consultation"
    assert await download(bot, forwarded.video.file_id) == mp4


async def test_get_file_refuses_files_over_20_mb(server: FakeTelegramServer, bot: Bot) -> None:
    small_id, _ = server.add_file(b"%PDF-1.7", file_name="cr.pdf", mime_type="application/pdf")
    big_id, _ = server.add_file(b"\0" * (20 * 1024 * 1024 + 1), file_name="scan.tiff")

    assert bytes(await (await bot.get_file(small_id)).download_as_bytearray()) == b"%PDF-1.7"
    with pytest.raises(BadRequest, match=r"(?i)File is too big"):
        await bot.get_file(big_id)


async def test_uploads_round_trip_binary_data(server: FakeTelegramServer, bot: Bot) -> None:
    photo = jpeg(400, 300)
    sent = await bot.send_photo(GROUP, photo=photo, caption="floutée", has_spoiler=True)
    assert sent.has_media_spoiler is True
    assert sent.photo[-1].width == 400
    upload = server.calls_of("sendPhoto")[0].params["photo"]
    assert isinstance(upload, UploadedFile)
    assert upload.data == photo

    # Every byte value, CRLFs included, must survive the hand-written multipart parser.
    blob = bytes(range(256)) * 8 + b"\r\n\r\n--\r\n"
    document = await bot.send_document(GROUP, document=blob, filename="données.bin")
    assert document.document is not None
    assert document.document.file_name == "données.bin"
    downloaded = await (await bot.get_file(document.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == blob

    reused = await bot.send_photo(GROUP, photo=sent.photo[-1].file_id)
    assert reused.photo[-1].file_size == len(photo)


async def test_injected_429_raises_retry_after(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP, "trop vite")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert server.messages_in(GROUP) == []  # the failed call changed nothing

    await bot.send_message(GROUP, "ensuite")
    assert len(server.calls_of("sendMessage")) == 2


async def test_injected_server_errors_are_network_errors(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("deleteMessage", status=502, times=2)
    posted = server.post_text(GROUP, ALICE, "x")
    for _ in range(2):
        with pytest.raises(NetworkError, match=r"(?i)Bad Gateway"):
            await bot.delete_message(GROUP, posted["message_id"])
    assert await bot.delete_message(GROUP, posted["message_id"]) is True


async def test_inline_keyboard_round_trip(server: FakeTelegramServer, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Approuver", callback_data="approve:7")],
            [InlineKeyboardButton("Refuser", callback_data="reject:7")],
        ]
    )
    sent = await bot.send_message(GROUP, "Photo en quarantaine", reply_markup=keyboard)
    assert sent.reply_markup == keyboard

    server.set_admin(GROUP, BOB)
    server.press_button(GROUP, sent.message_id, BOB, "approve:7")
    (update,) = await bot.get_updates()
    query = update.callback_query
    assert query is not None
    assert query.data == "approve:7"
    assert query.from_user.id == BOB
    assert query.message is not None
    assert query.message.message_id == sent.message_id

    assert await query.answer("Approuvé") is True
    assert server.callback_answers[query.id]["text"] == "Approuvé"
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(ValueError, match=r"(?i)no button"):
        server.press_button(GROUP, sent.message_id, BOB, "forged")


async def test_edit_message_text_and_markup(server: FakeTelegramServer, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
    sent = await bot.send_message(GROUP, "En attente", reply_markup=keyboard)

    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("En attente", GROUP, sent.message_id, reply_markup=keyboard)
    edited = await bot.edit_message_text("Traité", GROUP, sent.message_id)
    assert isinstance(edited, type(sent))
    assert edited.text == "Traité"
    assert edited.reply_markup is None  # omitting reply_markup removes the keyboard, as on Telegram

    await bot.edit_message_reply_markup(GROUP, sent.message_id, reply_markup=keyboard)
    (stored,) = server.messages_in(GROUP)
    assert stored["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ok"


async def test_html_is_checked_and_stripped(server: FakeTelegramServer, bot: Bot) -> None:
    sent = await bot.send_message(GROUP, "<b>Photo retirée</b> &amp; archivée", parse_mode="HTML")
    assert sent.text == "Photo retirée & archivée"
    with pytest.raises(BadRequest, match=r"(?i)Unsupported start tag"):
        await bot.send_message(GROUP, "ligne<br>ligne", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)Can't find end tag"):
        await bot.send_message(GROUP, "<b>gras", parse_mode="HTML")


async def test_get_chat_member_and_administrators(server: FakeTelegramServer, bot: Bot) -> None:
    server.set_admin(GROUP, ALICE, can_delete_messages=True)
    server.set_admin(GROUP, 43, owner=True)

    alice = await bot.get_chat_member(GROUP, ALICE)
    assert isinstance(alice, ChatMemberAdministrator)
    assert alice.can_delete_messages
    assert isinstance(await bot.get_chat_member(GROUP, BOB), ChatMemberOwner)
    me = await bot.get_chat_member(GROUP, bot.id)
    assert isinstance(me, ChatMemberAdministrator)
    assert me.can_delete_messages

    server.set_bot_rights(GROUP, admin=False, can_delete_messages=False)
    assert isinstance(await bot.get_chat_member(GROUP, bot.id), ChatMemberMember)
    admins = await bot.get_chat_administrators(GROUP)
    assert {m.user.id for m in admins} == {ALICE, BOB}

    chat = await bot.get_chat(GROUP)
    assert chat.title == "Dermatologie"
    assert chat.type == "supergroup"


async def test_edits_and_membership_changes_are_updates(server: FakeTelegramServer, bot: Bot) -> None:
    server.add_group(-1009, "Forum", forum=True)
    posted = server.post_photo(-1009, ALICE, jpeg(), caption="avant", message_thread_id=5)
    server.edit_caption(-1009, posted["message_id"], "après")
    server.edit_media(-1009, posted["message_id"], jpeg(200, 100))
    server.my_chat_member(-1009, status="member")

    message, caption_edit, media_edit, membership = await bot.get_updates()
    assert message.message is not None
    assert message.message.is_topic_message
    assert caption_edit.edited_message is not None
    assert caption_edit.edited_message.caption == "après"
    assert media_edit.edited_message is not None
    assert media_edit.edited_message.photo[-1].width == 200
    assert membership.my_chat_member is not None
    assert membership.my_chat_member.new_chat_member.status == "member"
    with pytest.raises(BadRequest, match=r"(?i)can't be deleted"):
        await bot.delete_message(-1009, posted["message_id"])


async def test_commands_round_trip(server: FakeTelegramServer, bot: Bot) -> None:
    commands = [BotCommand("status", "État du bot"), BotCommand("consent", "Enregistrer un consentement")]
    assert await bot.set_my_commands(commands, language_code="fr") is True
    assert tuple(await bot.get_my_commands(language_code="fr")) == tuple(commands)
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Status", "majuscule")])

    server.command(GROUP, ALICE, "/status@consentguard_bot")
    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.parse_entities(["bot_command"]).popitem()[1] == "/status@consentguard_bot"


async def test_raw_http_error_shapes_and_json_bodies(server: FakeTelegramServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        unknown = await http.post(f"/bot{TOKEN}/sendTelepathy")
        assert unknown.status_code == 404
        assert unknown.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }

        wrong_token = await http.get("/bot999:nope/getMe")
        assert wrong_token.status_code == 401
        assert wrong_token.json()["ok"] is False

        server.fail_next("getMe", status=429, retry_after=3)
        limited = await http.get(f"/bot{TOKEN}/getMe")
        assert limited.status_code == 429
        assert limited.json()["parameters"] == {"retry_after": 3}

        sent = await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": GROUP, "text": "123"})
        assert sent.json()["result"]["text"] == "123"  # string parameters are never JSON-decoded


async def test_wait_for_times_out_with_what_it_saw(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.get_me()
    with pytest.raises(TimeoutError, match=r"(?i)getMe"):
        await server.wait_for("deleteMessage", timeout=0.05)
    call = await server.wait_for("getMe", predicate=lambda c: c.params == {})
    assert call.method == "getMe"


async def test_application_polls_handles_a_photo_and_stops_promptly(server: FakeTelegramServer) -> None:
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    seen = asyncio.Event()
    captions: list[str | None] = []

    async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        captions.append(update.effective_message.caption)
        seen.set()

    app.add_handler(MessageHandler(filters.PHOTO, on_photo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)

    server.post_photo(GROUP, ALICE, jpeg(), caption="avec consentement")
    async with asyncio.timeout(5):
        await seen.wait()
    assert captions == ["avec consentement"]

    async with asyncio.timeout(3):
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert server.pending_updates == []  # the final getUpdates acknowledged the photo


async def test_a_bug_in_the_fake_fails_the_test_on_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(params: object) -> object:
        raise KeyError("oops")

    server = FakeTelegramServer(token=TOKEN)
    await server.__aenter__()
    monkeypatch.setattr(server.api, "get_me", broken)
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get(f"/bot{TOKEN}/getMe")
    assert answer.status_code == 500
    with pytest.raises(RuntimeError, match="failed on a request") as caught:
        await server.__aexit__(None, None, None)
    assert isinstance(caught.value.__cause__, KeyError)


async def test_replies_quote_the_message_they_answer(server: FakeTelegramServer, bot: Bot) -> None:
    posted = server.post_text(GROUP, ALICE, "CONSENT-1234", message_thread_id=None)
    reply = await bot.send_message(GROUP, "Consentement trouvé", reply_to_message_id=posted["message_id"])
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "CONSENT-1234"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(GROUP, "x", reply_to_message_id=999)
