"""The moderators' review buttons: Approve, Reject and Show under a quarantine notice, and their answers.

Every press is authorised by :class:`~bot.core.review.ReviewService` at the time of pressing, with the
platform's answer about the person (are they an administrator of the item's group right now).
"""

from __future__ import annotations

import contextlib
import logging
from functools import partial

from telegram import CallbackQuery, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.consent.model import UserRef
from bot.core.review import Reviewer, ReviewService
from bot.domain import ApprovedPost
from bot.errors import QuarantineError, ReviewError
from bot.messages import TelegramTexts, choose_language, telegram_texts
from bot.platforms.telegram.mapping import PLATFORM
from bot.platforms.telegram.platform import TelegramPlatform
from detectors.sniff import MediaKind, sniff

log = logging.getLogger(__name__)


#: Kinds that go back as files without trying sendPhoto (the scan engine's sniffer knows them for sure). What
#: it cannot place (no signature, or bytes that decode as text) is tried as a photo; a refusal sends a file.
_FILE_KINDS = frozenset(MediaKind) - {MediaKind.IMAGE, MediaKind.UNKNOWN, MediaKind.TEXT}


def is_photo(data: bytes) -> bool:
    """Whether to repost ``data`` with sendPhoto; videos, PDF, DICOM, archives, GIF and HEIC go as files.

    Since issue 10 the quarantine holds any medium, not only photos: sending a video as a photo would fail
    after the item left the quarantine, and the post would be lost. GIF (sendPhoto would flatten it) and
    HEIC/AVIF (``ftyp`` stills) are images, sent as files.
    """
    return sniff(data) not in _FILE_KINDS and not data.startswith(b"GIF8") and data[4:8] != b"ftyp"


async def repost_approved(
    platform: TelegramPlatform, review: ReviewService, approved: ApprovedPost, reviewer: Reviewer
) -> None:
    """Send an approved item back to its group, and let the review service remember the repost.

    What the Approve button and the web console's approve both do (``approved`` comes from
    :meth:`~bot.core.review.ReviewService.approve`); the note is in the group's language.
    """
    texts = telegram_texts(review.policy(approved.chat).language)
    chat_id = int(approved.chat.chat_id)
    thread = int(approved.thread_id) if approved.thread_id else None
    note = texts.repost_note.format(author=approved.author_name, moderator=reviewer.name)
    caption = f"{approved.caption}\n\n{note}" if approved.caption else note
    sent: list[str] = []
    try:
        for index, (_, data) in enumerate(approved.images):
            first = caption[:1024] if index == 0 else None
            sent.append(await send_back(platform, chat_id, data, caption=first, thread=thread))
    finally:
        # What went up (all of it, or what did before a failure) is remembered when the caption quotes
        # a consent token: a withdrawal of that consent takes the repost down.
        await review.reposted(approved, sent)


async def send_back(
    platform: TelegramPlatform,
    chat_id: int,
    data: bytes,
    *,
    caption: str | None = None,
    thread: int | None = None,
    spoiler: bool = False,
) -> str:
    """Send quarantined bytes: a photo as a photo, anything else (a video, a PDF...) as a file.

    A file gets no spoiler: Telegram has none for documents, and it only opens when tapped anyway.
    Returns the id of the message sent.
    """
    bot = platform.bot
    if is_photo(data):
        photo = partial(
            bot.send_photo,
            chat_id,
            photo=data,
            caption=caption,
            message_thread_id=thread,
            has_spoiler=True if spoiler else None,
        )
        try:
            return str((await platform.call("sendPhoto", photo)).message_id)
        except BadRequest:
            # Bytes no sniffer placed (or a photo Telegram will not process): a file is always accepted,
            # and the item has already left the quarantine, so it must go back up one way or the other.
            log.warning("Telegram refused a quarantined item as a photo; sending it as a file")
    document = partial(
        bot.send_document,
        chat_id,
        document=data,
        filename="file",
        caption=caption,
        message_thread_id=thread,
    )
    return str((await platform.call("sendDocument", document)).message_id)


#: What the buttons' callback data looks like (``cg:<action>:<item id>``), for the handler's pattern.
class ReviewButtons:
    """Answers a press on a review button: approve (and repost), reject (and purge) or show privately."""

    def __init__(self, platform: TelegramPlatform, review: ReviewService) -> None:
        self.platform = platform
        self.review = review

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle a press on one of :func:`review_buttons`."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        _, action, item_id = query.data.split(":", 2)
        try:
            item = await self.review.item(item_id)
        except QuarantineError:  # unknown or purged item
            # Its group is unknown too: answer in the moderator's own language, else the default.
            unknown = telegram_texts(choose_language(None, query.from_user.language_code))
            await self._answer(query, unknown.item_not_found)
            return
        texts = telegram_texts(self.review.policy(item.chat).language)
        reviewer = Reviewer(
            UserRef(PLATFORM, str(query.from_user.id)),
            query.from_user.full_name,
            platform_admin=await self.platform.is_admin(item.chat, query.from_user.id),
        )
        if not self.review.is_moderator(item.chat, reviewer):
            await self._answer(query, texts.admins_only)
            return
        who = reviewer.name
        try:
            if action == "a":
                await self._approve(item_id, reviewer)
                await self._edit(query, texts.approved.format(moderator=who))
            elif action == "r":
                await self.review.reject(item_id, reviewer)
                await self._edit(query, texts.rejected.format(moderator=who))
            else:
                await self._show(query, item_id, reviewer, texts)
                return
        except (QuarantineError, ReviewError) as exc:  # decided by another moderator, purged by retention
            log.info("review action on %s failed: %s", item_id, type(exc).__name__)
            await self._answer(query, texts.already_handled)
            return
        except TelegramError as exc:  # the repost did not go up: the item is still held (reposted first)
            log.warning("repost of item %s failed (%s); it stays held", item_id, type(exc).__name__)
            await self._answer(query, texts.repost_failed)
            return
        await self._answer(query, texts.done)

    async def _approve(self, item_id: str, reviewer: Reviewer) -> None:
        repost = partial(repost_approved, self.platform, self.review, reviewer=reviewer)
        await self.review.approve(item_id, reviewer, repost)

    async def _show(
        self, query: CallbackQuery, item_id: str, reviewer: Reviewer, texts: TelegramTexts
    ) -> None:
        images = await self.review.preview(item_id, reviewer)
        try:
            for _, data in images:
                await send_back(self.platform, query.from_user.id, data, spoiler=True)
        except Forbidden:
            await self._answer(query, texts.open_private_chat_first)
            return
        await self._answer(query, texts.sent_privately)

    async def _answer(self, query: CallbackQuery, text: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.platform.call("answerCallbackQuery", lambda: query.answer(text, show_alert=True))

    async def _edit(self, query: CallbackQuery, text: str) -> None:
        with contextlib.suppress(TelegramError):
            await self.platform.call("editMessageText", lambda: query.edit_message_text(text))
