"""The web console's ports over the running Discord client (wired by ``consentguard run``).

:class:`DiscordModeratorCheck` asks Discord, at every console request, the review buttons' rule (the
policy's moderators when it lists some, else Manage Messages in the channel now); :class:`DiscordReposter`
reposts an item approved in the console exactly as the Approve button does.
"""

from __future__ import annotations

import discord

from bot.consent.model import ChatRef, UserRef
from bot.core.review import Reviewer, ReviewService
from bot.domain import ApprovedPost
from bot.platforms.discord.mapping import PLATFORM
from bot.platforms.discord.platform import DiscordPlatform
from bot.platforms.discord.review import can_review, repost_approved


class DiscordModeratorCheck:
    """Whether a Discord user moderates a Discord channel right now (the review buttons' rule)."""

    def __init__(self, platform: DiscordPlatform, review: ReviewService) -> None:
        self.platform = platform
        self.review = review

    async def is_moderator(self, user: UserRef, chat: ChatRef) -> bool:
        """Asked of Discord now: Manage Messages in ``chat``, or one of its policy's moderators."""
        if user.platform != PLATFORM or chat.platform != PLATFORM or not user.user_id.isdigit():
            return False
        try:
            admin = await can_review(self.platform, chat, int(user.user_id))
        except discord.HTTPException:  # a channel the bot no longer sees: nobody reviews it from here
            return False
        return self.review.is_moderator(chat, Reviewer(user, str(user), platform_admin=admin))


class DiscordReposter:
    """Reposts an item approved in the console through the running client, as the Approve button does."""

    def __init__(self, platform: DiscordPlatform, review: ReviewService) -> None:
        self.platform = platform
        self.review = review

    def serves(self, chat: ChatRef) -> bool:
        """Groups of this platform."""
        return chat.platform == "discord"

    async def repost(self, approved: ApprovedPost, reviewer: Reviewer) -> None:
        """Repost the approved images in their channel; the repost is remembered for withdrawals."""
        await repost_approved(self.platform, self.review, approved, reviewer)
