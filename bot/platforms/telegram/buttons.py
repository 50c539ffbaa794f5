"""The review buttons under a moderator notice; their callback data carries the action and the item id.

Apart from the review handling (review.py), so that the platform, which attaches them to notices, and the
handling, which uses the platform to repost, do not import each other.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages.telegram_catalog import APPROVE_LABEL, REJECT_LABEL, SHOW_LABEL

CALLBACK_PATTERN = r"^cg:[ars]:"


def review_buttons(item_id: str) -> InlineKeyboardMarkup:
    """Approve / Reject / Show for a quarantined item (callback data stays under Telegram's 64 bytes)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(APPROVE_LABEL, callback_data=f"cg:a:{item_id}"),
                InlineKeyboardButton(REJECT_LABEL, callback_data=f"cg:r:{item_id}"),
            ],
            [InlineKeyboardButton(SHOW_LABEL, callback_data=f"cg:s:{item_id}")],
        ]
    )
