"""The bot's own rights in its groups: it must be an administrator allowed to delete messages.

Checked at start-up for the known groups and whenever Telegram reports a change of the bot's membership
(``my_chat_member``); when the right is missing, the group and its moderators are told.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.consent.model import ChatRef
from bot.core.review import ReviewService
from bot.messages import telegram_texts
from bot.platforms.telegram.mapping import PLATFORM
from bot.platforms.telegram.platform import TelegramPlatform, can_delete

log = logging.getLogger(__name__)


class RightsGuard:
    """Checks that the bot may delete messages in a group, and warns the group and its moderators if not."""

    def __init__(self, platform: TelegramPlatform, review: ReviewService) -> None:
        self.platform = platform
        self.review = review

    async def check_rights(self, chat: ChatRef) -> bool:
        """Say so in the group and to its moderators when the bot cannot delete messages there."""
        try:
            allowed = await self.platform.bot_can_delete(chat)
        except (BadRequest, Forbidden):
            log.error("the bot is not a member of %s", chat)
            return False
        if not allowed:
            await self.warn(chat)
        return allowed

    async def warn(self, chat: ChatRef) -> None:
        """Tell the group and its moderators, in the group's language, that the delete right is missing."""
        policy = self.review.policy(chat)
        text = telegram_texts(policy.language).rights_warning
        log.error("the bot cannot delete messages in %s", chat)
        with contextlib.suppress(TelegramError):
            await self.platform.call(
                "sendMessage", lambda: self.platform.bot.send_message(int(chat.chat_id), text)
            )
        with contextlib.suppress(TelegramError):
            await self.platform.notify_moderators(chat, policy.review_chat, text, None)

    async def on_my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Warn when the bot is added to a group, or its rights there change, without the delete right."""
        change = update.my_chat_member
        if change is None or change.chat.type == ChatType.PRIVATE:
            return
        member = change.new_chat_member
        if member.status in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
            return
        if not can_delete(member):
            await self.warn(ChatRef(PLATFORM, str(change.chat.id)))
