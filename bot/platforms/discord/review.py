"""The review buttons of a moderator notice and what a click does: approve, reject, show.

The buttons are dynamic items whose custom id carries the quarantine item id: they work for every past
notice, across restarts, without keeping views in memory. Who may click is asked of Discord at the click
(Manage Messages in the item's channel), then :class:`~bot.core.review.ReviewService` decides and records.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import discord

from bot.consent.model import ChatRef, UserRef
from bot.core.review import Reviewer, ReviewService
from bot.domain import ApprovedPost
from bot.errors import QuarantineError, ReviewError
from bot.messages import choose_language
from bot.messages.discord_catalog import DiscordTexts, discord_texts
from bot.platforms.discord.mapping import PLATFORM
from bot.platforms.discord.platform import DiscordPlatform

log = logging.getLogger(__name__)

#: The review service once wired (the client is built before it, see DiscordFrontend.attach), else None.
ReviewSource = Callable[[], ReviewService | None]


def texts_for(
    review: ReviewService | None, chat: ChatRef | None, interaction: discord.Interaction[Any]
) -> DiscordTexts:
    """The answer's wording: in the clicker's Discord language when the bot speaks it, else the channel's."""
    group_language = review.policy(chat).language if review is not None and chat is not None else None
    return discord_texts(
        choose_language(group_language, str(interaction.locale) if interaction.locale else None)
    )


async def reviewer_of(
    platform: DiscordPlatform, interaction: discord.Interaction[Any], chat: ChatRef
) -> Reviewer:
    """The person pressing or typing, with what Discord says of their rights in ``chat`` now."""
    return Reviewer(
        UserRef(PLATFORM, str(interaction.user.id)),
        getattr(interaction.user, "display_name", str(interaction.user)),
        platform_admin=await can_review(platform, chat, interaction.user.id),
    )


async def can_review(platform: DiscordPlatform, chat: ChatRef, user_id: int) -> bool:
    """Whether Discord says ``user_id`` may manage messages in ``chat`` now (the review buttons' rule)."""
    channel = await platform.channel(chat)
    guild = getattr(channel, "guild", None)
    if guild is None:
        return False
    try:
        member = guild.get_member(user_id) or await guild.fetch_member(user_id)
    except discord.HTTPException:
        return False
    return bool(channel.permissions_for(member).manage_messages)


async def repost_approved(
    platform: DiscordPlatform, review: ReviewService, approved: ApprovedPost, reviewer: Reviewer
) -> None:
    """Repost an approved item in its channel and let the review service remember the repost.

    What the Approve button and the web console's approve both do; the note is in the channel's language
    (the whole channel reads it, not the moderator).
    """
    channel_texts = discord_texts(choose_language(review.policy(approved.chat).language, None))
    note = channel_texts.repost_note.format(moderator=reviewer.name)
    content = f"{approved.caption}\n{note}" if approved.caption else note
    repost = await platform.repost(
        approved.chat, approved.thread_id, approved.author_name, content, approved.images
    )
    # Under a consent token (quoted in the caption): a withdrawal takes the repost down.
    await review.reposted(approved, [repost])


class ReviewDesk:
    """Serves the review buttons: checks the clicker, calls the review service, answers in Discord."""

    def __init__(self, platform: DiscordPlatform, review: ReviewSource) -> None:
        self.platform = platform
        self._review = review

    async def on_review(self, interaction: discord.Interaction[Any], action: str, item_id: str) -> None:
        """A moderator pressed Approve (``a``), Reject (``r``) or Show (``s``)."""
        review = self._review()
        if review is None:
            return
        try:
            item = await review.item(item_id)
        except QuarantineError:
            texts = texts_for(review, None, interaction)
            await interaction.response.send_message(texts.already_handled, ephemeral=True)
            return
        texts = texts_for(review, item.chat, interaction)
        reviewer = await reviewer_of(self.platform, interaction, item.chat)
        if not review.is_moderator(item.chat, reviewer):
            await interaction.response.send_message(texts.moderators_only, ephemeral=True)
            return
        name = reviewer.name
        try:
            if action == "s":
                images = await review.preview(item_id, reviewer)
                files = [
                    discord.File(io.BytesIO(data), filename=f"image-{i}.jpg", spoiler=True)
                    for i, (_, data) in enumerate(images)
                ]
                await interaction.response.send_message(texts.preview, files=files, ephemeral=True)
                return
            if action == "a":
                repost = partial(repost_approved, self.platform, review, reviewer=reviewer)
                await review.approve(item_id, reviewer, repost)
                text = texts.approved.format(name=name)
            else:
                await review.reject(item_id, reviewer)
                text = texts.rejected.format(name=name)
        except (QuarantineError, ReviewError) as exc:
            log.info("review action on %s failed: %s", item_id, type(exc).__name__)
            await interaction.response.send_message(texts.already_handled, ephemeral=True)
            return
        except discord.HTTPException as exc:  # the repost did not go up: still held (approve reposts first)
            log.warning("repost of item %s failed (%s); it stays held", item_id, type(exc).__name__)
            await interaction.response.send_message(texts.repost_failed, ephemeral=True)
            return
        await interaction.response.edit_message(content=text, view=None)
