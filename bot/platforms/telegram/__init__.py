"""Telegram (python-telegram-bot): the Platform port's adapter and the bot's front end.

platform.py talks to the Bot API, mapping.py turns messages into Posts, frontend.py polls (or webhook.py
receives) and feeds the pipeline, with commands.py, review.py (the moderators' buttons) and rights.py as its
parts.
"""

from bot.platforms.telegram.buttons import review_buttons
from bot.platforms.telegram.frontend import TelegramFrontend
from bot.platforms.telegram.platform import TelegramPlatform, build_application

__all__ = ["TelegramFrontend", "TelegramPlatform", "build_application", "review_buttons"]
