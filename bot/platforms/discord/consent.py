"""``/consentguard consent`` and ``/consentguard withdraw`` on Discord: capture and withdrawal in chat.

``consent`` in a server channel answers the member alone (ephemeral) with a one-time consent form for that
channel; once the patient signed, the token comes as an ephemeral follow-up (by DM when the interaction has
expired). ``withdraw token:`` asks the registry to revoke on the member's behalf, answered ephemerally.
Without a capture desk (a registry without capture links), ``consent`` explains how to obtain a token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord

from bot.consent.capture import CaptureLinkError, CaptureRateLimitedError, WithdrawOutcome
from bot.consent.model import ChatRef, UserRef
from bot.consent.token import ConsentToken, parse_token
from bot.core.capture import CaptureDesk
from bot.errors import InvalidTokenError
from bot.messages import consent_help
from bot.messages.capture_catalog import capture_texts
from bot.platforms.discord.mapping import PLATFORM
from bot.platforms.discord.platform import DiscordPlatform

log = logging.getLogger(__name__)

CaptureSource = Callable[[], CaptureDesk | None]


def channel_ref(interaction: discord.Interaction[Any]) -> ChatRef:
    """The group a command is about: the channel, or a thread's parent channel (where the policy lives)."""
    channel = interaction.channel
    parent = getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else None
    return ChatRef(PLATFORM, str(parent or interaction.channel_id))


async def consent(
    interaction: discord.Interaction[Any], platform: DiscordPlatform, desk: CaptureDesk | None, language: str
) -> None:
    """Open a form for the channel's group and answer the member alone with its link."""
    texts = capture_texts(language)
    if interaction.guild_id is None:
        await interaction.response.send_message(texts.private_only, ephemeral=True)
        return
    if desk is None:
        await interaction.response.send_message(consent_help(texts.language), ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    chat = channel_ref(interaction)
    clinician = UserRef(PLATFORM, str(interaction.user.id))
    title = getattr(interaction.channel, "name", None)
    shown = f"#{title}" if title else texts.unnamed_group
    try:
        link = await desk.open(clinician=clinician, chat=chat, language=texts.language, chat_title=shown)
    except CaptureRateLimitedError as exc:
        seconds = int(exc.retry_after or 60)
        await interaction.followup.send(texts.rate_limited.format(seconds=seconds), ephemeral=True)
        return
    except CaptureLinkError:
        await interaction.followup.send(texts.unavailable, ephemeral=True)
        return
    minutes = desk.minutes_left(link)
    await interaction.followup.send(
        texts.link.format(url=link.url, title=shown, minutes=minutes), ephemeral=True
    )

    async def deliver(token: ConsentToken | None) -> None:
        text = texts.expired if token is None else texts.signed.format(token=token.value, title=shown)
        try:
            await interaction.followup.send(text, ephemeral=True)
        except discord.HTTPException:  # the interaction's 15 minutes are over: a direct message instead
            await platform.send_private(clinician, text)

    desk.follow(link, deliver)


async def withdraw(
    interaction: discord.Interaction[Any], desk: CaptureDesk | None, language: str, token: str
) -> None:
    """Revoke the consent of ``token`` on the member's behalf; the answer goes to them alone."""
    texts = capture_texts(language)
    try:
        parsed = parse_token(token)
    except InvalidTokenError:
        await interaction.response.send_message(texts.withdraw_usage, ephemeral=True)
        return
    if desk is None:
        await interaction.response.send_message(texts.unavailable, ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        outcome = await desk.withdraw(parsed, on_behalf_of=UserRef(PLATFORM, str(interaction.user.id)))
    except CaptureLinkError:
        await interaction.followup.send(texts.unavailable, ephemeral=True)
        return
    answer = {
        WithdrawOutcome.REVOKED: texts.withdrawn,
        WithdrawOutcome.NOT_YOURS: texts.withdraw_not_yours,
        WithdrawOutcome.UNKNOWN: texts.withdraw_unknown,
    }[outcome]
    await interaction.followup.send(answer, ephemeral=True)
