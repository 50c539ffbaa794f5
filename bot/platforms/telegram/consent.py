"""/consent and /withdraw on Telegram: consent capture and withdrawal, in the clinician's private chat only.

``/consent`` in a private chat lists the groups the bot moderates of which Telegram says the person is a
member (getChatMember), as buttons (straight to the form when there is one); the chosen group's form link
is sent privately, and once the patient signed, the token. ``/withdraw TOKEN`` asks the registry to revoke
on the clinician's behalf. In a group, both only answer "ask me in private" (a /withdraw message, which
carries a token, is deleted when the bot may). Without a capture desk (a registry without capture links),
``/consent`` explains how to obtain a token, as before.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.consent.capture import CaptureLinkError, CaptureRateLimitedError, WithdrawOutcome
from bot.consent.model import ChatRef, UserRef
from bot.consent.token import ConsentToken, parse_token
from bot.core.capture import CaptureDesk
from bot.errors import InvalidTokenError
from bot.messages import choose_language, consent_help
from bot.messages.capture_catalog import capture_texts
from bot.platforms.telegram.mapping import PLATFORM
from bot.platforms.telegram.platform import TelegramPlatform

log = logging.getLogger(__name__)

#: Callback data of a group button: ``cgc:<chat id>`` (well under Telegram's 64 bytes).
CHOICE_PATTERN = r"^cgc:-?\d+$"
_MEMBER_STATUSES = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
#: At most this many groups are offered as buttons.
_MAX_BUTTONS = 20


class ConsentCommands:
    """The /consent and /withdraw handlers and the group buttons; the front end registers them."""

    def __init__(self, platform: TelegramPlatform, desk: CaptureDesk | None) -> None:
        self.platform = platform
        self.desk = desk
        #: Groups the bot moderates: those of the policy file, and those it has seen posts in.
        self.groups: dict[int, str | None] = {}

    def know_group(self, chat_id: int, title: str | None) -> None:
        """Remember a group the bot moderates (and its title, when known)."""
        if title or chat_id not in self.groups:
            self.groups[chat_id] = title

    # -- handlers -------------------------------------------------------------------------------------

    async def consent(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/consent: a form for one of the person's groups, privately; in a group, "ask me in private"."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        language = choose_language(None, user.language_code)
        texts = capture_texts(language)
        if chat.type != ChatType.PRIVATE:
            await self._say(chat.id, texts.private_only)
            return
        if self.desk is None:
            await self._say(chat.id, consent_help(language))
            return
        groups = await self._groups_of(user.id)
        if not groups:
            await self._say(chat.id, texts.no_group)
        elif len(groups) == 1:
            chat_id, title = groups[0]
            await self._open(user.id, language, chat_id, title)
        else:
            buttons = [
                [InlineKeyboardButton(title or texts.unnamed_group, callback_data=f"cgc:{chat_id}")]
                for chat_id, title in groups[:_MAX_BUTTONS]
            ]
            markup = InlineKeyboardMarkup(buttons)
            await self.platform.call(
                "sendMessage",
                lambda: self.platform.bot.send_message(chat.id, texts.choose_group, reply_markup=markup),
            )

    async def on_choice(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group button: membership is asked again now, then the form is opened."""
        query = update.callback_query
        if query is None or query.data is None:
            return
        user = query.from_user
        language = choose_language(None, user.language_code)
        with contextlib.suppress(TelegramError):
            await self.platform.call("answerCallbackQuery", query.answer)
        chat_id = int(query.data.split(":", 1)[1])
        if chat_id not in self.groups or not await self._is_member(chat_id, user.id):
            await self._say(user.id, capture_texts(language).no_group)
            return
        await self._open(user.id, language, chat_id, await self._title(chat_id))

    async def withdraw(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/withdraw TOKEN in a private chat: the registry revokes on the clinician's behalf."""
        user, chat, message = update.effective_user, update.effective_chat, update.effective_message
        if user is None or chat is None:
            return
        language = choose_language(None, user.language_code)
        texts = capture_texts(language)
        if chat.type != ChatType.PRIVATE:
            if message is not None and context.args:  # a token posted in a group: take it down when we may
                with contextlib.suppress(TelegramError):
                    await self.platform.delete_messages(
                        ChatRef(PLATFORM, str(chat.id)), (str(message.message_id),)
                    )
            await self._say(chat.id, texts.private_only)
            return
        token = _token(context.args)
        if token is None:
            await self._say(chat.id, texts.withdraw_usage)
            return
        if self.desk is None:
            await self._say(chat.id, texts.unavailable)
            return
        try:
            outcome = await self.desk.withdraw(token, on_behalf_of=UserRef(PLATFORM, str(user.id)))
        except CaptureLinkError:
            await self._say(chat.id, texts.unavailable)
            return
        answer = {
            WithdrawOutcome.REVOKED: texts.withdrawn,
            WithdrawOutcome.NOT_YOURS: texts.withdraw_not_yours,
            WithdrawOutcome.UNKNOWN: texts.withdraw_unknown,
        }[outcome]
        await self._say(chat.id, answer)

    # -- parts ------------------------------------------------------------------------------------------

    async def _open(self, user_id: int, language: str, chat_id: int, title: str | None) -> None:
        assert self.desk is not None  # noqa: S101 - callers checked it
        texts = capture_texts(language)
        shown = title or texts.unnamed_group
        try:
            link = await self.desk.open(
                clinician=UserRef(PLATFORM, str(user_id)),
                chat=ChatRef(PLATFORM, str(chat_id)),
                language=texts.language,
                chat_title=title,
            )
        except CaptureRateLimitedError as exc:
            seconds = int(exc.retry_after or 60)
            await self._say(user_id, texts.rate_limited.format(seconds=seconds))
            return
        except CaptureLinkError:
            await self._say(user_id, texts.unavailable)
            return
        minutes = self.desk.minutes_left(link)
        await self._say(user_id, texts.link.format(url=link.url, title=shown, minutes=minutes))

        async def deliver(token: ConsentToken | None) -> None:
            if token is None:
                await self._say(user_id, texts.expired)
            else:
                await self._say(user_id, texts.signed.format(token=token.value, title=shown))

        self.desk.follow(link, deliver)

    async def _groups_of(self, user_id: int) -> list[tuple[int, str | None]]:
        groups = []
        for chat_id in list(self.groups):
            if await self._is_member(chat_id, user_id):
                groups.append((chat_id, await self._title(chat_id)))
        return groups

    async def _is_member(self, chat_id: int, user_id: int) -> bool:
        try:
            member = await self.platform.call(
                "getChatMember", lambda: self.platform.bot.get_chat_member(chat_id, user_id)
            )
        except (BadRequest, Forbidden):
            return False
        if member.status in _MEMBER_STATUSES:
            return True
        return member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))

    async def _title(self, chat_id: int) -> str | None:
        title = self.groups.get(chat_id)
        if title:
            return title
        try:
            chat = await self.platform.call("getChat", lambda: self.platform.bot.get_chat(chat_id))
        except (BadRequest, Forbidden):
            return None
        self.groups[chat_id] = chat.title
        return chat.title

    async def _say(self, chat_id: int, text: str) -> None:
        await self.platform.call("sendMessage", lambda: self.platform.bot.send_message(chat_id, text))


def _token(args: list[str] | None) -> ConsentToken | None:
    if not args:
        return None
    try:
        return parse_token(" ".join(args))
    except InvalidTokenError:
        return None
