"""The web console's ports over the running Telegram front end (wired by ``consentguard run``).

:class:`TelegramModeratorCheck` asks Telegram, at every console request, the review buttons' rule (the
policy's moderators when it lists some, else the group's administrators now); :class:`TelegramReposter`
reposts an item approved in the console exactly as the Approve button does.
"""

from __future__ import annotations

from bot.consent.model import ChatRef, UserRef
from bot.core.review import Reviewer, ReviewService
from bot.domain import ApprovedPost
from bot.platforms.telegram.mapping import PLATFORM
from bot.platforms.telegram.platform import TelegramPlatform
from bot.platforms.telegram.review import repost_approved


class TelegramModeratorCheck:
    """Whether a Telegram user moderates a Telegram group right now (the review buttons' rule)."""

    def __init__(self, platform: TelegramPlatform, review: ReviewService) -> None:
        self.platform = platform
        self.review = review

    async def is_moderator(self, user: UserRef, chat: ChatRef) -> bool:
        """Asked of Telegram now: an administrator of ``chat``, or one of its policy's moderators."""
        if user.platform != PLATFORM or chat.platform != PLATFORM or not user.user_id.lstrip("-").isdigit():
            return False
        admin = await self.platform.is_admin(chat, int(user.user_id))
        return self.review.is_moderator(chat, Reviewer(user, str(user), platform_admin=admin))


class TelegramReposter:
    """Reposts an item approved in the console through the running bot, as the Approve button does."""

    def __init__(self, platform: TelegramPlatform, review: ReviewService) -> None:
        self.platform = platform
        self.review = review

    def serves(self, chat: ChatRef) -> bool:
        """Groups of this platform."""
        return chat.platform == "telegram"

    async def repost(self, approved: ApprovedPost, reviewer: Reviewer) -> None:
        """Send the approved images back to their group; the repost is remembered for withdrawals."""
        await repost_approved(self.platform, self.review, approved, reviewer)
