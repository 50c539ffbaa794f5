"""Telegram, with python-telegram-bot v22: updates in, Posts to the pipeline, actions out.

The bot polls with its own loop instead of PTB's Updater: an update is acknowledged to Telegram (the next
``getUpdates`` offset) only after the pipeline has persisted it, so a crash never loses a confirmed update.
Album items are held for a short window (the caption usually sits on one item) and are not acknowledged
before the album is persisted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.consent.model import ChatRef, UserRef
from bot.domain import FetchBytes, Post, PostImage
from bot.messages import choose_language, consent_help
from bot.pipeline import Moderator
from bot.policy import Mode

log = logging.getLogger(__name__)

# Opt in to PTB 23's durations (timedelta) now: otherwise building a RetryAfter emits a deprecation warning
# on every flood-control answer.
os.environ.setdefault("PTB_TIMEDELTA", "true")

PLATFORM = "telegram"
#: The Bot API refuses to let bots download files over 20 MB (a self-hosted Bot API server lifts it).
DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024
_ADMIN_STATUSES = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
_DICOM_SUFFIXES = (".dcm", ".dicom")
_ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
T = TypeVar("T")


def build_application(
    token: str, base_url: str, base_file_url: str
) -> Application[Any, Any, Any, Any, Any, Any]:
    """A PTB Application without its Updater (we poll ourselves; see the module docstring)."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .updater(None)
        .build()
    )


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about reading retry_after as an int
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramPlatform:
    """The Platform port over the Bot API, with retries on flood control and network errors."""

    name = PLATFORM

    def __init__(
        self, bot: Bot, *, attempts: int = 5, backoff_s: float = 0.5, max_wait_s: float = 60.0
    ) -> None:
        self.bot = bot
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._max_wait_s = max_wait_s
        self._notices: dict[asyncio.Task[None], tuple[ChatRef, str]] = {}

    async def call(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """Run a Bot API call; retry 429 (after ``retry_after``), timeouts, 5xx and network errors."""
        for attempt in range(1, self._attempts + 1):
            try:
                return await action()
            except (BadRequest, Forbidden):
                raise  # the request itself is refused: retrying changes nothing
            except RetryAfter as exc:
                wait = min(_retry_seconds(exc), self._max_wait_s)
                log.warning("telegram %s: flood control, retrying in %.1f s", what, wait)
                if attempt == self._attempts:
                    raise
                await asyncio.sleep(wait)
            except (TimedOut, NetworkError) as exc:
                log.warning("telegram %s failed (%s), attempt %d", what, type(exc).__name__, attempt)
                if attempt == self._attempts:
                    raise
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- Platform port ------------------------------------------------------------------------------

    async def delete_messages(
        self, chat: ChatRef, message_ids: tuple[str, ...], thread_id: str | None = None
    ) -> None:
        """Delete messages one by one (already-deleted ones are fine)."""
        for message_id in message_ids:
            try:
                await self.call(
                    "deleteMessage", partial(self.bot.delete_message, int(chat.chat_id), int(message_id))
                )
            except BadRequest as exc:
                if "not found" not in str(exc).lower():
                    log.error("cannot delete message %s in %s: %s", message_id, chat, exc.message)

    async def send_private(self, user: UserRef, text: str) -> bool:
        """Message the user; False when they never started the bot (403)."""
        try:
            await self.call("sendMessage", lambda: self.bot.send_message(int(user.user_id), text))
        except Forbidden:
            return False
        return True

    async def send_group_notice(self, chat: ChatRef, text: str, ttl_s: int, thread_id: str | None) -> None:
        """Post a short notice, deleted after ``ttl_s`` seconds."""
        thread = int(thread_id) if thread_id else None
        message = await self.call(
            "sendMessage", lambda: self.bot.send_message(int(chat.chat_id), text, message_thread_id=thread)
        )
        self._delete_later(ttl_s, chat, str(message.message_id))

    async def notify_moderators(
        self, chat: ChatRef, review_chat: ChatRef | None, text: str, item_id: str | None
    ) -> None:
        """Send to the review chat, or privately to each administrator of the group; buttons for an item."""
        markup = review_buttons(item_id) if item_id else None
        targets: list[int]
        if review_chat is not None:
            targets = [int(review_chat.chat_id)]
        else:
            targets = [int(m.user_id) for m in await self.administrators(chat)]
        for target in targets:
            try:
                await self.call(
                    "sendMessage", partial(self.bot.send_message, target, text, reply_markup=markup)
                )
            except (Forbidden, BadRequest):
                log.info("a moderator of %s cannot be reached privately", chat)

    def mention(self, user: UserRef, name: str) -> str:
        """Telegram has no plain-text mention by id; the display name does."""
        return name

    def start_link(self) -> str | None:
        """The deep link that opens a private chat with the bot."""
        username = self.bot.username if self.bot._bot_user is not None else None
        return f"https://t.me/{username}?start=consentguard" if username else None

    def fetcher(self, chat: ChatRef, image_id: str) -> FetchBytes:
        """Download a file by its file id."""

        async def fetch() -> bytes:
            file = await self.call("getFile", lambda: self.bot.get_file(image_id))
            return bytes(await self.call("download", file.download_as_bytearray))

        return fetch

    # -- helpers used by the front end ----------------------------------------------------------------

    async def administrators(self, chat: ChatRef) -> list[UserRef]:
        """Human administrators of a group."""
        members = await self.call(
            "getChatAdministrators", lambda: self.bot.get_chat_administrators(int(chat.chat_id))
        )
        return [UserRef(PLATFORM, str(m.user.id)) for m in members if not m.user.is_bot]

    async def is_admin(self, chat: ChatRef, user_id: int) -> bool:
        """Whether ``user_id`` administers ``chat`` right now (checked at the time of asking)."""
        try:
            member = await self.call(
                "getChatMember", lambda: self.bot.get_chat_member(int(chat.chat_id), user_id)
            )
        except (BadRequest, Forbidden):
            return False
        return member.status in _ADMIN_STATUSES

    async def bot_can_delete(self, chat: ChatRef) -> bool:
        """Whether the bot is an administrator allowed to delete messages in ``chat``."""
        member = await self.call(
            "getChatMember", lambda: self.bot.get_chat_member(int(chat.chat_id), self.bot.id)
        )
        return _can_delete(member)

    def _delete_later(self, delay_s: float, chat: ChatRef, message_id: str) -> None:
        async def run() -> None:
            await asyncio.sleep(delay_s)
            with contextlib.suppress(TelegramError):
                await self.delete_messages(chat, (message_id,))
            self._notices.pop(task, None)

        task = asyncio.create_task(run())
        self._notices[task] = (chat, message_id)

    async def aclose(self) -> None:
        """Delete the group notices still waiting for their time-out now, rather than leave them up."""
        pending = list(self._notices.items())
        self._notices.clear()
        for task, (chat, message_id) in pending:
            task.cancel()
            with contextlib.suppress(TelegramError):
                await self.delete_messages(chat, (message_id,))
        await asyncio.gather(*(task for task, _ in pending), return_exceptions=True)


def _can_delete(member: ChatMember) -> bool:
    if member.status == ChatMemberStatus.OWNER:
        return True
    return member.status == ChatMemberStatus.ADMINISTRATOR and bool(
        getattr(member, "can_delete_messages", False)
    )


def review_buttons(item_id: str) -> InlineKeyboardMarkup:
    """Approve / Reject / Show for a quarantined item (callback data stays under Telegram's 64 bytes)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("✅ Approuver / Approve", callback_data=f"cg:a:{item_id}"),
                InlineKeyboardButton("🗑 Rejeter / Reject", callback_data=f"cg:r:{item_id}"),
            ],
            [InlineKeyboardButton("👁 Voir / Show", callback_data=f"cg:s:{item_id}")],
        ]
    )


# -- update -> Post ---------------------------------------------------------------------------------------


def _image_of(message: Message, platform: TelegramPlatform, chat: ChatRef) -> PostImage | None:
    """The image a message carries (largest photo size, image/DICOM document, GIF, sticker frame)."""
    file_id: str | None = None
    size: int | None = None
    name = ""
    if message.photo:
        largest = message.photo[-1]
        file_id, size, name = largest.file_id, largest.file_size, f"photo-{message.message_id}.jpg"
    elif message.document is not None:
        document = message.document
        mime = (document.mime_type or "").lower()
        file_name = (document.file_name or "").lower()
        if mime.startswith("image/") or mime == "application/dicom" or file_name.endswith(_DICOM_SUFFIXES):
            file_id, size, name = document.file_id, document.file_size, document.file_name or ""
    elif message.animation is not None:
        animation = message.animation
        if (animation.mime_type or "") == "image/gif":
            file_id, size, name = (
                animation.file_id,
                animation.file_size,
                animation.file_name or "animation.gif",
            )
        elif animation.thumbnail is not None:  # an MP4 "GIF": its thumbnail is a frame we can read
            file_id, size, name = animation.thumbnail.file_id, animation.thumbnail.file_size, "frame.jpg"
    elif message.sticker is not None:
        sticker = message.sticker
        if not sticker.is_animated and not sticker.is_video:
            file_id, size, name = sticker.file_id, sticker.file_size, "sticker.webp"
        elif sticker.thumbnail is not None:
            file_id, size, name = sticker.thumbnail.file_id, sticker.thumbnail.file_size, "sticker-frame.webp"
    if file_id is None:
        return None
    too_big = size is not None and size > DOWNLOAD_LIMIT_BYTES
    return PostImage(
        image_id=file_id,
        fetch=platform.fetcher(chat, file_id),
        file_name=name,
        size_bytes=size,
        unavailable_reason="over the Bot API's 20 MB download limit" if too_big else None,
        message_id=str(message.message_id),
    )


def _post_of(messages: list[Message], platform: TelegramPlatform, *, edited: bool) -> Post | None:
    first = messages[0]
    chat = ChatRef(PLATFORM, str(first.chat.id))
    images = [image for m in messages if (image := _image_of(m, platform, chat)) is not None]
    if not images or first.from_user is None:
        return None
    captions = [m.caption for m in messages if m.caption]
    author = first.from_user
    return Post(
        chat=chat,
        message_id=str(first.message_id),
        author=UserRef(PLATFORM, str(author.id)),
        author_name=author.full_name,
        caption="\n".join(captions),
        images=tuple(images),
        sent_at=first.date.astimezone(UTC) if first.date else datetime.now(UTC),
        album_id=first.media_group_id,
        edited=edited,
        author_language=author.language_code,
        thread_id=str(first.message_thread_id)
        if first.message_thread_id and first.is_topic_message
        else None,
        chat_title=first.chat.title,
    )


@dataclass
class _Album:
    messages: dict[int, Message] = field(default_factory=dict)
    first_update_id: int = 0
    flushing: asyncio.Task[None] | None = None


class TelegramFrontend:
    """Registers the handlers, polls for updates, gathers albums and serves the moderators' buttons."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        platform: TelegramPlatform,
        moderator: Moderator,
        *,
        album_window_s: float = 1.5,
        poll_timeout_s: int = 25,
        on_handled: Callable[[Any], Awaitable[None]] | None = None,
    ) -> None:
        self.application = application
        self.platform = platform
        self.moderator = moderator
        self._album_window_s = album_window_s
        self._poll_timeout_s = poll_timeout_s
        self._albums: dict[str, _Album] = {}
        self._work: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._poll_exited = asyncio.Event()
        self._poll_exited.set()  # not polling yet
        self._poll_task: asyncio.Task[Any] | None = None
        self._waiting_for_updates = False
        self._current_update_id = 0
        self._on_handled = on_handled
        self._register()

    def _register(self) -> None:
        groups = filters.ChatType.GROUPS
        media = filters.PHOTO | filters.Document.ALL | filters.ANIMATION | filters.Sticker.ALL
        app = self.application
        app.add_handler(CommandHandler("start", self._cmd_start))
        app.add_handler(CommandHandler("help", self._cmd_help))
        app.add_handler(CommandHandler("consent", self._cmd_consent))
        app.add_handler(CommandHandler("status", self._cmd_status, filters=groups))
        app.add_handler(CommandHandler("queue", self._cmd_queue, filters=groups))
        app.add_handler(CommandHandler("policy", self._cmd_policy, filters=groups))
        app.add_handler(MessageHandler(groups & media & filters.UpdateType.MESSAGE, self._on_media))
        app.add_handler(MessageHandler(groups & filters.UpdateType.EDITED_MESSAGE, self._on_edit))
        app.add_handler(CallbackQueryHandler(self._on_button, pattern=r"^cg:[ars]:"))
        app.add_handler(ChatMemberHandler(self._on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))

    # -- running ------------------------------------------------------------------------------------

    async def start(self, groups: list[ChatRef]) -> None:
        """Initialise PTB, check our rights in the known groups, resume unfinished work."""
        await self.application.initialize()
        await self.application.start()
        for chat in groups:
            await self.check_rights(chat)
        await self.moderator.resume()

    async def run_polling(self) -> None:
        """Poll until :meth:`stop`; acknowledge an update only once the pipeline persisted it."""
        self._poll_exited.clear()
        self._poll_task = asyncio.current_task()
        try:
            await self._poll_loop()
        except asyncio.CancelledError:
            if not self._stopping.is_set():
                raise
        finally:
            self._poll_exited.set()

    async def _poll_loop(self) -> None:
        offset: int | None = None
        while not self._stopping.is_set():
            albums_pending = any(a.flushing is not None for a in self._albums.values())
            try:
                self._waiting_for_updates = True
                updates = await self.platform.bot.get_updates(
                    offset=offset,
                    timeout=0 if albums_pending else self._poll_timeout_s,
                    allowed_updates=_ALLOWED_UPDATES,
                )
            except RetryAfter as exc:
                await self._sleep(_retry_seconds(exc))
                continue
            except (TimedOut, NetworkError) as exc:
                log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
                await self._sleep(1.0)
                continue
            finally:
                self._waiting_for_updates = False
            for update in updates:
                self._current_update_id = update.update_id
                await self.application.process_update(update)
            if updates:
                offset = updates[-1].update_id + 1
            pending = [a.first_update_id for a in self._albums.values() if a.flushing is not None]
            if pending:
                # Items of an album still in its window are not persisted yet: fetch them again next time
                # (they are recognised and not gathered twice) rather than acknowledge them.
                offset = min(pending)
                await self._sleep(0.2)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def stop(self) -> None:
        """Stop polling, let running work finish, shut PTB down."""
        self._stopping.set()
        if self._waiting_for_updates and self._poll_task is not None:
            # A long poll in flight holds nothing yet: its updates are unacknowledged and come back later.
            self._poll_task.cancel()
        # The last getUpdates must come back before PTB closes its HTTP client under it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._poll_exited.wait(), timeout=self._poll_timeout_s + 10)
        for album in list(self._albums.values()):
            if album.flushing is not None:
                await album.flushing
        if self._work:
            await asyncio.gather(*self._work, return_exceptions=True)
        await self.platform.aclose()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def idle(self) -> None:
        """Wait for in-flight posts (tests and the demo use it between steps)."""
        while self._work or any(a.flushing for a in self._albums.values()):
            await asyncio.gather(*self._work, *(a.flushing for a in self._albums.values() if a.flushing))

    # -- media --------------------------------------------------------------------------------------

    async def _on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None:
            return
        if message.media_group_id:
            self._gather_album(message)
            return
        post = _post_of([message], self.platform, edited=False)
        if post is not None:
            await self._submit(post)

    async def _on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.edited_message
        if message is None:
            return
        post = _post_of([message], self.platform, edited=True)
        if post is not None:
            await self._submit(post)

    async def _submit(self, post: Post) -> None:
        if not await self.moderator.accept(post):
            return
        self._spawn(self._process(post))

    async def _process(self, post: Post) -> None:
        try:
            handled = await self.moderator.process(post)
        except Exception:  # one failing post must not stop the bot; it stays unfinished and resumes later
            log.exception("post %s failed in the pipeline", post.key)
            return
        if self._on_handled is not None:
            await self._on_handled(handled)

    def _gather_album(self, message: Message) -> None:
        key = f"{message.chat.id}:{message.media_group_id}"
        album = self._albums.setdefault(key, _Album(first_update_id=self._current_update_id))
        if message.message_id in album.messages:
            return  # re-fetched while the window is open
        album.messages[message.message_id] = message
        if album.flushing is None:
            album.flushing = asyncio.create_task(self._flush_album(key))

    async def _flush_album(self, key: str) -> None:
        await asyncio.sleep(self._album_window_s)
        album = self._albums[key]
        messages = [album.messages[i] for i in sorted(album.messages)]
        post = _post_of(messages, self.platform, edited=False)
        if post is not None:
            await self._submit(post)
        album.flushing = None

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.create_task(run())
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    # -- rights -------------------------------------------------------------------------------------

    async def check_rights(self, chat: ChatRef) -> bool:
        """Say so in the group and to its moderators when the bot cannot delete messages there."""
        try:
            allowed = await self.platform.bot_can_delete(chat)
        except (BadRequest, Forbidden):
            log.error("the bot is not a member of %s", chat)
            return False
        if not allowed:
            await self._warn_rights(chat)
        return allowed

    async def _warn_rights(self, chat: ChatRef) -> None:
        policy = self.moderator.policies.for_chat(chat)
        text = _rights_warning(policy.language)
        log.error("the bot cannot delete messages in %s", chat)
        with contextlib.suppress(TelegramError):
            await self.platform.call(
                "sendMessage", lambda: self.platform.bot.send_message(int(chat.chat_id), text)
            )
        with contextlib.suppress(TelegramError):
            await self.platform.notify_moderators(chat, policy.review_chat, text, None)

    async def _on_my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None or change.chat.type == ChatType.PRIVATE:
            return
        member = change.new_chat_member
        if member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
            return
        if not _can_delete(member):
            await self._warn_rights(ChatRef(PLATFORM, str(change.chat.id)))

    # -- moderators' buttons ------------------------------------------------------------------------

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.data is None:
            return
        _, action, item_id = query.data.split(":", 2)
        try:
            item = await self.moderator.quarantined(item_id)
        except Exception:  # unknown or purged item
            await self._answer(
                query, "Élément introuvable ou déjà traité. / Item not found or already handled."
            )
            return
        if not await self.platform.is_admin(item.chat, query.from_user.id):
            await self._answer(query, "Réservé aux administrateurs du groupe. / Group administrators only.")
            return
        moderator = UserRef(PLATFORM, str(query.from_user.id))
        who = query.from_user.full_name
        try:
            if action == "a":
                await self._approve(item_id, moderator, who)
                await self._edit(query, f"✅ Approuvé par {who} et republié. / Approved by {who}, reposted.")
            elif action == "r":
                await self.moderator.reject(item_id, moderator)
                await self._edit(
                    query, f"🗑 Rejeté par {who}, image supprimée. / Rejected by {who}, image purged."
                )
            else:
                await self._show(query, item_id)
                return
        except Exception as exc:  # already decided by another moderator, purged by retention...
            log.info("review action on %s failed: %s", item_id, type(exc).__name__)
            await self._answer(query, "Déjà traité. / Already handled.")
            return
        await self._answer(query, "OK")

    async def _approve(self, item_id: str, moderator: UserRef, moderator_name: str) -> None:
        approved = await self.moderator.approve(item_id, moderator)
        chat_id = int(approved.chat.chat_id)
        thread = int(approved.thread_id) if approved.thread_id else None
        note = f"Publié par {approved.author_name}, approuvé par {moderator_name}."
        caption = f"{approved.caption}\n\n{note}" if approved.caption else note
        for index, (_, data) in enumerate(approved.images):
            send = partial(
                self.platform.bot.send_photo,
                chat_id,
                photo=data,
                caption=caption[:1024] if index == 0 else None,
                message_thread_id=thread,
            )
            await self.platform.call("sendPhoto", send)

    async def _show(self, query: CallbackQuery, item_id: str) -> None:
        images = await self.moderator.preview(item_id)
        try:
            for _, data in images:
                send = partial(self.platform.bot.send_photo, query.from_user.id, photo=data, has_spoiler=True)
                await self.platform.call("sendPhoto", send)
        except Forbidden:
            await self._answer(
                query, "Ouvrez d'abord une conversation privée avec le bot. / Start a private chat first."
            )
            return
        await self._answer(query, "Envoyé en privé. / Sent privately.")

    async def _answer(self, query: CallbackQuery, text: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.platform.call("answerCallbackQuery", lambda: query.answer(text, show_alert=True))

    async def _edit(self, query: CallbackQuery, text: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.platform.call("editMessageText", lambda: query.edit_message_text(text))

    # -- commands -----------------------------------------------------------------------------------

    def _language(self, update: Update) -> Any:
        chat = update.effective_chat
        policy_language = (
            self.moderator.policies.for_chat(ChatRef(PLATFORM, str(chat.id))).language if chat else None
        )
        user = update.effective_user
        return choose_language(policy_language, user.language_code if user else None)

    async def _reply(self, update: Update, text: str) -> None:
        if update.effective_message is not None:
            message = update.effective_message
            await self.platform.call("sendMessage", lambda: message.reply_text(text))

    async def _cmd_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        language = self._language(update)
        if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
            intro = (
                "Bonjour ! consentguard protège les patients : les images publiées sans consentement "
                "sont retirées des groupes de soignants. Vous recevrez ici les explications quand une de "
                "vos images est retirée."
                if language == "fr"
                else "Hello! consentguard protects patients: images posted without consent are removed from "
                "clinicians' groups. You will get the explanations here when one of your images is removed."
            )
            await self._reply(update, f"{intro}\n\n{consent_help(language)}")
        else:
            await self._cmd_help(update, context)

    async def _cmd_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        language = self._language(update)
        text = (
            "Commandes : /status (règle du groupe), /consent (citer un jeton de consentement), "
            "/queue et /policy (modérateurs)."
            if language == "fr"
            else "Commands: /status (the group's rule), /consent (quoting a consent token), "
            "/queue and /policy (moderators)."
        )
        await self._reply(update, text)

    async def _cmd_consent(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, consent_help(self._language(update)))

    async def _cmd_status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is None:
            return
        chat = ChatRef(PLATFORM, str(update.effective_chat.id))
        policy = self.moderator.policies.for_chat(chat)
        pending = len(await self.moderator.queue(chat))
        await self._reply(update, f"mode: {policy.mode.value} · quarantine: {pending}")

    async def _moderator_only(self, update: Update) -> ChatRef | None:
        if update.effective_chat is None or update.effective_user is None:
            return None
        chat = ChatRef(PLATFORM, str(update.effective_chat.id))
        if not await self.platform.is_admin(chat, update.effective_user.id):
            await self._reply(update, "Réservé aux modérateurs. / Moderators only.")
            return None
        return chat

    async def _cmd_queue(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = await self._moderator_only(update)
        if chat is None:
            return
        items = await self.moderator.queue(chat)
        if not items:
            await self._reply(update, "File vide. / Queue empty.")
            return
        lines = [f"{i.item_id[:8]} · {i.reason} · {','.join(i.finding_kinds) or '-'}" for i in items[:20]]
        await self._reply(update, "\n".join(lines))
        for item in items[:20]:
            await self.platform.notify_moderators(
                chat, chat, f"{item.item_id[:8]} · {item.reason}", item.item_id
            )

    async def _cmd_policy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = await self._moderator_only(update)
        if chat is None:
            return
        args = context.args or []
        if args:
            try:
                mode = Mode(args[0])
            except ValueError:
                await self._reply(update, "strict | identifying-only | monitor")
                return
            self.moderator.policies = self.moderator.policies.with_mode(chat, mode)
        await self._reply(update, f"mode: {self.moderator.policies.for_chat(chat).mode.value}")


def _rights_warning(language: str) -> str:
    if language == "en":
        return (
            "consentguard must be an administrator allowed to delete messages in this group; without that "
            "right, patient images posted without consent stay visible. Please ask an owner to grant it."
        )
    return (
        "consentguard doit être administrateur avec le droit de supprimer des messages dans ce groupe ; "
        "sans ce droit, les images de patients publiées sans consentement restent visibles. "
        "Merci de demander à un propriétaire du groupe de l'accorder."
    )
