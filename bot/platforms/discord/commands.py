"""The ``/consentguard status|queue|policy|consent|withdraw|console`` slash commands (consent.py, console.py).

Replies are ephemeral and in the member's Discord language when the bot speaks it, else the channel's.
The descriptions shown in Discord's command picker stay English (see bot/messages/discord_catalog.py).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.consent.model import ChatRef
from bot.core.policy import Mode
from bot.core.review import Reviewer, ReviewService
from bot.messages import DiscordTexts, queue_line
from bot.messages.discord_catalog import (
    COMMAND_CONSENT,
    COMMAND_CONSOLE,
    COMMAND_GROUP,
    COMMAND_POLICY,
    COMMAND_POLICY_MODE,
    COMMAND_QUEUE,
    COMMAND_STATUS,
    COMMAND_WITHDRAW,
    COMMAND_WITHDRAW_ARG,
)
from bot.platforms.discord.consent import CaptureSource, channel_ref
from bot.platforms.discord.consent import consent as capture_consent
from bot.platforms.discord.consent import withdraw as capture_withdraw
from bot.platforms.discord.console import ConsoleSource
from bot.platforms.discord.console import console as console_link
from bot.platforms.discord.mapping import PLATFORM
from bot.platforms.discord.platform import DiscordPlatform
from bot.platforms.discord.review import ReviewSource, reviewer_of, texts_for


def consentguard_commands(
    platform: DiscordPlatform,
    review_source: ReviewSource,
    capture_source: CaptureSource | None = None,
    console_source: ConsoleSource | None = None,
) -> app_commands.Group:
    """The command group; each command reads the review service when invoked (it is wired after start)."""
    group = app_commands.Group(name="consentguard", description=COMMAND_GROUP)

    async def moderating(
        interaction: discord.Interaction[Any],
    ) -> tuple[ReviewService, ChatRef, Reviewer, DiscordTexts] | None:
        """What a moderators' command needs, or None once the person was told it is for moderators."""
        chat = ChatRef(PLATFORM, str(interaction.channel_id))
        review = review_source()
        if review is None:
            return None
        texts = texts_for(review, chat, interaction)
        reviewer = await reviewer_of(platform, interaction, chat)
        if not review.is_moderator(chat, reviewer):
            await interaction.response.send_message(texts.moderators_only, ephemeral=True)
            return None
        return review, chat, reviewer, texts

    @group.command(name="status", description=COMMAND_STATUS)
    async def status(interaction: discord.Interaction[Any]) -> None:
        chat = ChatRef(PLATFORM, str(interaction.channel_id))
        review = review_source()
        if review is None:
            return
        texts = texts_for(review, chat, interaction)
        policy = review.policy(chat)
        pending = await review.pending_count(chat)
        await interaction.response.send_message(
            texts.status.format(mode=policy.mode.value, pending=pending), ephemeral=True
        )

    @group.command(name="queue", description=COMMAND_QUEUE)
    async def queue(interaction: discord.Interaction[Any]) -> None:
        allowed = await moderating(interaction)
        if allowed is None:
            return
        review, chat, reviewer, texts = allowed
        items = await review.queue(chat, reviewer)
        lines = [queue_line(i.item_id, i.reason, i.finding_kinds) for i in items[:20]]
        await interaction.response.send_message("\n".join(lines) or texts.queue_empty, ephemeral=True)

    @group.command(name="policy", description=COMMAND_POLICY)
    @app_commands.describe(mode=COMMAND_POLICY_MODE)
    async def policy(interaction: discord.Interaction[Any], mode: str | None = None) -> None:
        allowed = await moderating(interaction)
        if allowed is None:
            return
        review, chat, reviewer, texts = allowed
        if mode:
            try:
                await review.set_mode(chat, Mode(mode), reviewer)
            except ValueError:
                await interaction.response.send_message(texts.mode_choices, ephemeral=True)
                return
        current = review.policy(chat).mode.value
        await interaction.response.send_message(texts.mode.format(mode=current), ephemeral=True)

    @group.command(name="consent", description=COMMAND_CONSENT)
    async def consent(interaction: discord.Interaction[Any]) -> None:
        language = texts_for(review_source(), channel_ref(interaction), interaction).language
        desk = capture_source() if capture_source is not None else None
        await capture_consent(interaction, platform, desk, language)

    @group.command(name="withdraw", description=COMMAND_WITHDRAW)
    @app_commands.describe(token=COMMAND_WITHDRAW_ARG)
    async def withdraw(interaction: discord.Interaction[Any], token: str) -> None:
        language = texts_for(review_source(), channel_ref(interaction), interaction).language
        desk = capture_source() if capture_source is not None else None
        await capture_withdraw(interaction, desk, language, token)

    @group.command(name="console", description=COMMAND_CONSOLE)
    async def console(interaction: discord.Interaction[Any]) -> None:
        review = review_source()
        language = texts_for(review, channel_ref(interaction), interaction).language
        await console_link(interaction, platform, review, console_source, language)

    return group
