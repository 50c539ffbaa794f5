"""Discord (discord.py): the Platform port's adapter and the bot's client.

``client`` (the discord.py client and its event handlers), ``platform`` (the Platform port), ``mapping``
(messages to Posts), ``embeds`` (embed media, through Discord's media proxy only), ``review`` (review
buttons), ``commands`` (slash commands), ``permissions`` (start-up check), ``routing`` (where discord.py
connects).
"""

from bot.platforms.discord.client import DiscordFrontend
from bot.platforms.discord.mapping import post_of
from bot.platforms.discord.platform import DiscordPlatform
from bot.platforms.discord.routing import point_at

__all__ = ["DiscordFrontend", "DiscordPlatform", "point_at", "post_of"]
