"""``/consentguard console`` on Discord: a one-time login link to the moderators' web console, ephemeral.

The link is scoped to the configured channels in which Discord says, at that moment, that the member may
review (the review buttons' rule: the policy's moderators when it lists some, else Manage Messages in the
channel). None: a refusal, no link. The link is never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import discord

from bot.consent.model import ChatRef, UserRef
from bot.core.ports import ConsoleLinks
from bot.core.review import ReviewService
from bot.messages.console_catalog import console_texts
from bot.platforms.discord.mapping import PLATFORM
from bot.platforms.discord.platform import DiscordPlatform
from bot.platforms.discord.review import reviewer_of

ConsoleSource = Callable[[], tuple[ConsoleLinks | None, Sequence[ChatRef]]]


async def console(
    interaction: discord.Interaction[Any],
    platform: DiscordPlatform,
    review: ReviewService | None,
    source: ConsoleSource | None,
    language: str,
) -> None:
    """Answer the member alone with a login link for the channels they moderate, or a refusal."""
    texts = console_texts(language)
    links, groups = source() if source is not None else (None, ())
    if links is None or review is None:
        await interaction.response.send_message(texts.not_a_moderator, ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    moderated: list[ChatRef] = []
    for chat in groups:
        try:
            reviewer = await reviewer_of(platform, interaction, chat)
        except discord.HTTPException:  # a channel the bot cannot see any more
            continue
        if review.is_moderator(chat, reviewer):
            moderated.append(chat)
    if not moderated:
        await interaction.followup.send(texts.not_a_moderator, ephemeral=True)
        return
    names = []
    for chat in moderated:
        try:
            name = getattr(await platform.channel(chat), "name", None)
        except discord.HTTPException:
            name = None
        names.append(f"#{name}" if name else texts.unnamed_group)
    url = links.issue_login_link(UserRef(PLATFORM, str(interaction.user.id)), moderated)
    text = texts.link.format(url=url, minutes=links.minutes, groups=", ".join(names))
    await interaction.followup.send(text, ephemeral=True)
