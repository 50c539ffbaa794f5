"""The bot's commands: /start and /help for everyone; /status, /queue and /policy in groups.

/consent and /withdraw live in consent.py.

Replies are in the person's language when the bot speaks it, else the group's (see
:func:`bot.messages.choose_language`). /queue and /policy are for the group's moderators, checked at the
time of asking.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.consent.model import ChatRef, UserRef
from bot.core.policy import Mode
from bot.core.review import Reviewer, ReviewService
from bot.messages import Language, TelegramTexts, choose_language, consent_help, queue_line, telegram_texts
from bot.platforms.telegram.mapping import PLATFORM
from bot.platforms.telegram.platform import TelegramPlatform

#: At most this many quarantined items are listed (and re-sent with their buttons) by /queue.
_QUEUE_LIMIT = 20


class Commands:
    """The command handlers; the front end registers them."""

    def __init__(self, platform: TelegramPlatform, review: ReviewService) -> None:
        self.platform = platform
        self.review = review

    def _language(self, update: Update) -> Language:
        chat = update.effective_chat
        policy_language = self.review.policy(ChatRef(PLATFORM, str(chat.id))).language if chat else None
        user = update.effective_user
        return choose_language(policy_language, user.language_code if user else None)

    def _texts(self, update: Update) -> TelegramTexts:
        return telegram_texts(self._language(update))

    async def _reply(self, update: Update, text: str) -> None:
        if update.effective_message is not None:
            message = update.effective_message
            await self.platform.call("sendMessage", lambda: message.reply_text(text))

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: in a private chat, what the bot does and how to quote a consent; in a group, /help."""
        language = self._language(update)
        if update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE:
            intro = telegram_texts(language).start_intro
            await self._reply(update, f"{intro}\n\n{consent_help(language)}")
        else:
            await self.help(update, context)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help: the commands."""
        await self._reply(update, self._texts(update).help)

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/status: the group's mode and how many of its images wait in quarantine."""
        if update.effective_chat is None:
            return
        chat = ChatRef(PLATFORM, str(update.effective_chat.id))
        policy = self.review.policy(chat)
        pending = await self.review.pending_count(chat)
        await self._reply(update, self._texts(update).status.format(mode=policy.mode.value, pending=pending))

    async def _moderator_only(self, update: Update) -> tuple[ChatRef, Reviewer] | None:
        if update.effective_chat is None or update.effective_user is None:
            return None
        chat = ChatRef(PLATFORM, str(update.effective_chat.id))
        user = update.effective_user
        reviewer = Reviewer(
            UserRef(PLATFORM, str(user.id)),
            user.full_name,
            platform_admin=await self.platform.is_admin(chat, user.id),
        )
        if not self.review.is_moderator(chat, reviewer):
            await self._reply(update, self._texts(update).moderators_only)
            return None
        return chat, reviewer

    async def queue(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/queue (moderators): list the quarantined items and send each again with its review buttons."""
        allowed = await self._moderator_only(update)
        if allowed is None:
            return
        chat, reviewer = allowed
        items = await self.review.queue(chat, reviewer)
        if not items:
            await self._reply(update, self._texts(update).queue_empty)
            return
        listed = items[:_QUEUE_LIMIT]
        lines = [queue_line(i.item_id, i.reason, i.finding_kinds) for i in listed]
        await self._reply(update, "\n".join(lines))
        for item in listed:
            await self.platform.notify_moderators(
                chat, chat, f"{item.item_id[:8]} · {item.reason}", item.item_id
            )

    async def policy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/policy [mode] (moderators): show the group's mode, or change it."""
        allowed = await self._moderator_only(update)
        if allowed is None:
            return
        chat, reviewer = allowed
        args = context.args or []
        if args:
            try:
                mode = Mode(args[0])
            except ValueError:
                await self._reply(update, self._texts(update).mode_usage)
                return
            await self.review.set_mode(chat, mode, reviewer)
        await self._reply(
            update, self._texts(update).mode_set.format(mode=self.review.policy(chat).mode.value)
        )
