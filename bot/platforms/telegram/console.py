"""/console on Telegram: a one-time login link to the moderators' web console, in a private chat only.

The link is scoped to the groups the bot knows in which Telegram says, at that moment, that the person
moderates (the review buttons' rule: the policy's moderators when it lists some, else the group's
administrators). In a group, ``/console`` only answers "ask me in private", never with a link. The link
is never logged.
"""

from __future__ import annotations

from collections.abc import Mapping

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.consent.model import ChatRef, UserRef
from bot.core.ports import ConsoleLinks
from bot.core.review import Reviewer, ReviewService
from bot.messages import choose_language
from bot.messages.console_catalog import console_texts
from bot.platforms.telegram.mapping import PLATFORM
from bot.platforms.telegram.platform import TelegramPlatform


class ConsoleCommand:
    """The /console handler; ``groups`` is the front end's map of known groups (id → title)."""

    def __init__(
        self,
        platform: TelegramPlatform,
        review: ReviewService,
        links: ConsoleLinks | None,
        groups: Mapping[int, str | None],
    ) -> None:
        self.platform = platform
        self.review = review
        self.links = links
        self.groups = groups

    async def console(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/console: a login link for the groups the person moderates, privately; in a group, nothing more."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        texts = console_texts(choose_language(None, user.language_code))
        if chat.type != ChatType.PRIVATE:
            await self._say(chat.id, texts.private_only)
            return
        if self.links is None:  # a front end built without console links: no link to give
            await self._say(chat.id, texts.not_a_moderator)
            return
        moderator = UserRef(PLATFORM, str(user.id))
        moderated: list[tuple[ChatRef, str | None]] = []
        for chat_id, title in list(self.groups.items()):
            group = ChatRef(PLATFORM, str(chat_id))
            reviewer = Reviewer(
                moderator, user.full_name, platform_admin=await self.platform.is_admin(group, user.id)
            )
            if self.review.is_moderator(group, reviewer):
                moderated.append((group, title))
        if not moderated:
            await self._say(chat.id, texts.not_a_moderator)
            return
        url = self.links.issue_login_link(moderator, [group for group, _ in moderated])
        names = ", ".join(
            [await self._title(group, title) or texts.unnamed_group for group, title in moderated]
        )
        await self._say(chat.id, texts.link.format(url=url, minutes=self.links.minutes, groups=names))

    async def _title(self, group: ChatRef, known: str | None) -> str | None:
        if known:
            return known
        try:
            found = await self.platform.call(
                "getChat", lambda: self.platform.bot.get_chat(int(group.chat_id))
            )
        except (BadRequest, Forbidden):
            return None
        return found.title

    async def _say(self, chat_id: int, text: str) -> None:
        await self.platform.call("sendMessage", lambda: self.platform.bot.send_message(chat_id, text))
