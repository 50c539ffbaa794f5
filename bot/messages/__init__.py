"""What the bot says, in French (the default) and English.

The poster's private reminder, the short group notice, the moderators' notices, and how to obtain a consent
token.

Every function returns plain text (no HTML, no Markdown) and takes only the decision and a few names: never
a caption, a token or image content.
"""

from bot.messages.catalog import Catalog, Language
from bot.messages.compose import (
    CATALOGS,
    DEFAULT_LANGUAGE,
    choose_language,
    consent_help,
    group_notice,
    kind_label,
    moderator_notice,
    monitor_notice,
    poster_reminder,
    queue_line,
    removal_refused_alert,
    repeat_offence_alert,
    review_hint,
    withdrawal_moderator_notice,
    withdrawal_poster_notice,
)
from bot.messages.discord_catalog import DiscordTexts, discord_texts
from bot.messages.telegram_catalog import TelegramTexts, telegram_texts

__all__ = [
    "CATALOGS",
    "DEFAULT_LANGUAGE",
    "Catalog",
    "DiscordTexts",
    "Language",
    "TelegramTexts",
    "choose_language",
    "consent_help",
    "discord_texts",
    "group_notice",
    "kind_label",
    "moderator_notice",
    "monitor_notice",
    "poster_reminder",
    "queue_line",
    "removal_refused_alert",
    "repeat_offence_alert",
    "review_hint",
    "telegram_texts",
    "withdrawal_moderator_notice",
    "withdrawal_poster_notice",
]
