"""De-identified reposts on Telegram: the private offer with its confirm button, and the repost in the group.

:class:`TelegramOfferChannel` is the :class:`~bot.core.deidentified.OfferChannel` port: it sends the masked
images and the offer privately, and posts the masked images in the group (and forum topic) with the
attribution as the caption. :class:`OfferButton` answers a press on the confirm button: the core checks that
the presser is the poster, that the offer is still there, and posts it once. The front end attaches both
when it is given the offers service, so an offer never goes out without a handler for its button.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from functools import partial

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.consent.model import UserRef
from bot.core.deidentified import ClaimedOffer, DeidentifiedOffers, Outcome
from bot.platforms.telegram.mapping import PLATFORM
from bot.platforms.telegram.platform import TelegramPlatform

log = logging.getLogger(__name__)

#: The confirm button's callback data: ``cgo:<offer id>`` (36 bytes, under Telegram's 64).
OFFER_PATTERN = r"^cgo:[0-9a-f]{32}$"
#: Telegram's caption limit.
_CAPTION_LIMIT = 1024


def offer_button(offer_id: str, label: str) -> InlineKeyboardMarkup:
    """The one button under an offer."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"cgo:{offer_id}")]])


class TelegramOfferChannel:
    """The OfferChannel port over the Bot API (through the platform's retrying :meth:`call`)."""

    def __init__(self, platform: TelegramPlatform) -> None:
        self.platform = platform

    async def send_offer(
        self, user: UserRef, text: str, offer_id: str, label: str, previews: Sequence[bytes]
    ) -> bool:
        """The masked images, then the offer and its button, privately; False: the user is unreachable."""
        bot = self.platform.bot
        chat_id = int(user.user_id)
        try:
            for data in previews:
                await self.platform.call("sendPhoto", partial(bot.send_photo, chat_id, photo=data))
            markup = offer_button(offer_id, label)
            await self.platform.call(
                "sendMessage", partial(bot.send_message, chat_id, text, reply_markup=markup)
            )
        except (Forbidden, BadRequest) as exc:
            log.info("offer %s cannot be sent privately (%s)", offer_id, type(exc).__name__)
            return False
        return True

    async def post_deidentified(self, claimed: ClaimedOffer, attribution: str) -> list[str]:
        """Post the masked images in the group, the attribution as the first one's caption; message ids."""
        bot = self.platform.bot
        offer = claimed.offer
        chat_id = int(offer.chat.chat_id)
        thread = int(offer.thread_id) if offer.thread_id else None
        sent: list[str] = []
        for index, data in enumerate(claimed.images):
            caption = attribution[:_CAPTION_LIMIT] if index == 0 else None
            photo = partial(bot.send_photo, chat_id, photo=data, caption=caption, message_thread_id=thread)
            sent.append(str((await self.platform.call("sendPhoto", photo)).message_id))
        return sent


class OfferButton:
    """Answers a press on an offer's confirm button."""

    def __init__(self, platform: TelegramPlatform, offers: DeidentifiedOffers) -> None:
        self.platform = platform
        self.offers = offers

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The poster (or anyone: the core checks) pressed the button of :func:`offer_button`."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        offer_id = query.data.removeprefix("cgo:")
        presser = UserRef(PLATFORM, str(query.from_user.id))
        confirmation = await self.offers.confirm(offer_id, presser, query.from_user.language_code)
        await self._answer(query, confirmation.text)
        if confirmation.outcome in (Outcome.POSTED, Outcome.EXPIRED):
            # The button has served (or can no longer): the offer's message says so, without it.
            await self._edit(query, confirmation.text)

    async def _answer(self, query: CallbackQuery, text: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.platform.call("answerCallbackQuery", lambda: query.answer(text, show_alert=True))

    async def _edit(self, query: CallbackQuery, text: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.platform.call("editMessageText", lambda: query.edit_message_text(text))
