"""The Platform port over the Bot API (python-telegram-bot v22), and the PTB Application the bot runs.

It deletes messages, messages people privately, posts group notices that go away after their time-out,
notifies moderators with review buttons, and answers the front end's questions about rights.

Every Bot API call goes through :meth:`TelegramPlatform.call`, which waits out flood control (429) and
retries time-outs, 5xx and network errors with an exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from telegram import Bot, ChatMember
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application, ApplicationBuilder

from bot.consent.model import ChatRef, UserRef
from bot.domain import FetchBytes
from bot.platforms.telegram.buttons import review_buttons
from bot.platforms.telegram.mapping import PLATFORM

log = logging.getLogger(__name__)

# Opt in to PTB 23's durations (timedelta) now: otherwise building a RetryAfter emits a deprecation warning
# on every flood-control answer.
os.environ.setdefault("PTB_TIMEDELTA", "true")

_ADMIN_STATUSES = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
#: Bot API deleteMessage: "a message can only be deleted if it was sent less than 48 hours ago".
DELETION_WINDOW = timedelta(hours=48)
T = TypeVar("T")


def build_application(
    token: str, base_url: str, base_file_url: str
) -> Application[Any, Any, Any, Any, Any, Any]:
    """A PTB Application without its Updater (the front end polls itself; see its module docstring)."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .updater(None)
        .build()
    )


def retry_seconds(exc: RetryAfter) -> float:
    """How long flood control asks us to wait, in seconds."""
    with warnings.catch_warnings():  # PTB 22 warns about reading retry_after as an int
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def can_delete(member: ChatMember) -> bool:
    """Whether this membership (the bot's) allows deleting other people's messages."""
    if member.status == ChatMemberStatus.OWNER:
        return True
    return member.status == ChatMemberStatus.ADMINISTRATOR and bool(
        getattr(member, "can_delete_messages", False)
    )


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
                wait = min(retry_seconds(exc), self._max_wait_s)
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
    ) -> bool:
        """Delete messages one by one; False when Telegram refuses one (already-deleted ones are fine)."""
        removed = True
        for message_id in message_ids:
            try:
                await self.call(
                    "deleteMessage", partial(self.bot.delete_message, int(chat.chat_id), int(message_id))
                )
            except BadRequest as exc:
                if "not found" not in str(exc).lower():
                    log.error("cannot delete message %s in %s: %s", message_id, chat, exc.message)
                    removed = False
            except Forbidden:
                log.error("cannot delete message %s in %s: the bot is not allowed there", message_id, chat)
                removed = False
        return removed

    def deletion_window(self) -> timedelta | None:
        """Telegram lets a bot delete a message only while it is less than 48 hours old."""
        return DELETION_WINDOW

    def message_link(self, chat: ChatRef, message_id: str) -> str | None:
        """``https://t.me/c/<id>/<message>`` for supergroups and channels (other chats have no link)."""
        if not chat.chat_id.startswith("-100"):
            return None
        return f"https://t.me/c/{chat.chat_id[4:]}/{message_id}"

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
        return can_delete(member)

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
