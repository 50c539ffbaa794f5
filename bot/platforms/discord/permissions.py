"""The start-up check of the bot's own permissions in each configured channel.

Without them the bot would fail silently at the first deletion, so what is missing is said at start-up, in
the channel and to the server's owner, in the channel's language.
"""

from __future__ import annotations

import contextlib
import logging

import discord

from bot.consent.model import ChatRef
from bot.messages.discord_catalog import DiscordTexts
from bot.platforms.discord.platform import DiscordPlatform

log = logging.getLogger(__name__)


async def check_permissions(platform: DiscordPlatform, chat: ChatRef, texts: DiscordTexts) -> bool:
    """Say what is missing (in the channel and to the owner) when we cannot moderate; True when nothing is."""
    try:
        channel = await platform.channel(chat)
    except discord.HTTPException:
        log.error("configured channel %s is not visible to the bot", chat)
        return False
    guild = getattr(channel, "guild", None)
    me = guild.me if guild is not None else None
    if me is None:
        return False
    permissions = channel.permissions_for(me)
    # Discord's own permission names, as its documentation and API spell them.
    missing = [
        name
        for name, ok in (
            ("Manage Messages", permissions.manage_messages),
            ("Manage Webhooks", permissions.manage_webhooks),
            ("Read Message History", permissions.read_message_history),
        )
        if not ok
    ]
    if not missing:
        return True
    text = texts.missing_permissions.format(missing=", ".join(missing))
    log.error("missing permissions in %s: %s", chat, ", ".join(missing))
    with contextlib.suppress(discord.HTTPException):
        await channel.send(text)
    with contextlib.suppress(discord.HTTPException):
        if guild is not None and guild.owner_id:
            owner = await platform.client.fetch_user(guild.owner_id)
            await owner.send(text)
    return False
