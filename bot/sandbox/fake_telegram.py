"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests and the offline demo.

The real python-telegram-bot talks to it over HTTP, so what is tested is what runs in production::

    async with FakeTelegramServer(token="123:ABC", bot_username="consentguard_bot") as server:
        server.add_group(-1001, "Dermato")
        server.add_user(42, "Alice")
        app = (
            ApplicationBuilder()
            .token(server.token)
            .base_url(server.base_url)
            .base_file_url(server.base_file_url)
            .build()
        )
        ...
        server.post_photo(-1001, 42, jpeg_bytes)
        await server.wait_for("deleteMessage")

Tests inject updates with the ``post_*`` helpers and :meth:`forward_message`, inspect what the bot did
through :attr:`calls`, :meth:`wait_for`, :meth:`messages_in` and :attr:`deleted`, and make Telegram fail
with :meth:`fail_next`. After a ``setWebhook`` the server posts each update to the webhook (with its secret,
redelivering on a non-2xx answer or a connection error, see fake_telegram_webhook.py) and getUpdates answers
409 Conflict, as Telegram does; :attr:`webhook_deliveries` lists the attempts.
Telegram's clock is injected (``clock=``, Unix seconds): it dates messages, and
deleteMessage refuses a message 48 hours old or older ("message can't be deleted for everyone"), as
Telegram does. Everything runs on the caller's event loop; the helpers are plain functions that wake
waiting long polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.registry.inprocess import serve_in_process
from bot.sandbox.fake_telegram_api import FakeBotApi
from bot.sandbox.fake_telegram_markup import callback_data_of
from bot.sandbox.fake_telegram_state import (
    SERVICE_USER,
    AdminRights,
    BotStatus,
    FakeGroup,
    FakeTelegramState,
    FakeUser,
    chat_member_json,
)
from bot.sandbox.fake_telegram_webhook import DeliveryAttempt, WebhookDelivery
from bot.sandbox.fake_telegram_wire import ApiError, JsonDict, Params, UploadedFile, ok, read_params

__all__ = ["Call", "DeliveryAttempt", "FakeTelegramServer", "UploadedFile"]

_ERROR_DESCRIPTIONS = {
    400: "Bad Request",
    403: "Forbidden",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


#: What a forward copies from the original message (its media and text; not its ids, author or markup).
_FORWARDED_FIELDS = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "video",
    "video_note",
    "animation",
    "document",
    "sticker",
)


@dataclass(frozen=True, slots=True)
class Call:
    """One Bot API request the server received (injected failures and unknown methods included).

    ``params`` holds the decoded parameters; uploads appear as :class:`UploadedFile` under their part
    name. ``at`` is ``time.monotonic()`` on arrival.
    """

    method: str
    params: JsonDict
    at: float


@dataclass(slots=True)
class _Failure:
    status: int
    retry_after: int
    description: str | None
    remaining: int


class FakeTelegramServer:
    """A fake Bot API server and its state; an async context manager that serves it on 127.0.0.1."""

    def __init__(
        self,
        token: str = "123:ABC",  # noqa: S107 - a fake token for a fake server
        bot_username: str = "consentguard_bot",
        *,
        bot_first_name: str = "ConsentGuard",
        clock: Callable[[], float] = time.time,
        webhook_retry_s: float = 0.05,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("a bot token looks like '<digits>:<secret>'")
        self.token = token
        # Telegram's own clock (Unix seconds): message dates, and the 48-hour limit on deleting them.
        self.state = FakeTelegramState(
            bot_id=int(bot_id), bot_username=bot_username, bot_first_name=bot_first_name, clock=clock
        )
        self.api = FakeBotApi(self.state)
        # Posts updates to the webhook while one is set (``webhook_retry_s`` between a failure and the retry).
        self.webhook = WebhookDelivery(self.state, retry_s=webhook_retry_s)
        self._delivering: asyncio.Task[None] | None = None
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._handle_method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{file_path:path}", self._handle_file, methods=["GET"]),
            ]
        )
        self._calls: list[Call] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._internal_errors: list[Exception] = []
        self._root_url: str | None = None
        self._stack: contextlib.AsyncExitStack | None = None

    def __repr__(self) -> str:
        # The token is a secret in production habits, even a fake one.
        return f"FakeTelegramServer(url={self._root_url!r}, bot={self.state.bot_user['username']!r})"

    # -- lifecycle -------------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("this FakeTelegramServer is already running")
        stack = contextlib.AsyncExitStack()
        self._root_url = await stack.enter_async_context(serve_in_process(self.app))
        self._stack = stack
        self._delivering = asyncio.create_task(self.webhook.run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Pending long polls must answer now: uvicorn waits for open requests before it stops.
        self.state.closing = True
        self.state.changed()
        delivering, self._delivering = self._delivering, None
        if delivering is not None:
            await delivering  # ends on closing, its deliveries in flight cancelled
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        if self._internal_errors and exc is None:
            raise RuntimeError("the fake Telegram server failed on a request") from self._internal_errors[0]

    @property
    def url(self) -> str:
        """The server's root URL, ``http://127.0.0.1:PORT``."""
        if self._root_url is None:
            raise RuntimeError("the server is not running: use 'async with FakeTelegramServer(...)'")
        return self._root_url

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url()`` / ``Bot(base_url=...)``; PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url()``; PTB appends the token."""
        return f"{self.url}/file/bot"

    @property
    def bot_id(self) -> int:
        """The bot's user id (the digits of the token)."""
        return int(self.state.bot_user["id"])

    @property
    def bot_user(self) -> JsonDict:
        """The bot's ``User`` object."""
        return dict(self.state.bot_user)

    # -- chats, users, rights and files ----------------------------------------------------------------

    def add_group(self, chat_id: int, title: str, *, supergroup: bool = True, forum: bool = False) -> None:
        """Create a group in which the bot is an administrator allowed to delete messages."""
        self.state.groups[chat_id] = FakeGroup(chat_id, title, supergroup=supergroup, forum=forum)

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        username: str | None = None,
        language_code: str | None = "fr",
        started_bot: bool = False,
        blocked_bot: bool = False,
    ) -> None:
        """Create a user; the bot can message them privately only once they ``started_bot``."""
        self.state.users[user_id] = FakeUser(
            user_id,
            first_name,
            username=username,
            language_code=language_code,
            started_bot=started_bot,
            blocked_bot=blocked_bot,
        )

    def set_admin(
        self, chat_id: int, user_id: int, *, can_delete_messages: bool = True, owner: bool = False
    ) -> None:
        """Make a known user an administrator (or the owner) of a group."""
        self.state.user(user_id)
        self.state.group(chat_id).admins[user_id] = AdminRights(can_delete_messages, owner)

    def remove_member(self, chat_id: int, user_id: int) -> None:
        """A known user is not (or no longer) a member of a group: getChatMember says "left"."""
        self.state.user(user_id)
        group = self.state.group(chat_id)
        group.admins.pop(user_id, None)
        group.outsiders.add(user_id)

    def set_bot_rights(self, chat_id: int, *, admin: bool, can_delete_messages: bool) -> None:
        """Set what getChatMember(bot) answers, and so whether deleting others' messages succeeds."""
        group = self.state.group(chat_id)
        group.bot_status = "administrator" if admin else "member"
        group.bot_can_delete = admin and can_delete_messages

    def add_file(
        self, data: bytes, *, file_name: str | None = None, mime_type: str | None = None
    ) -> tuple[str, str]:
        """Store bytes as a document; return its ``(file_id, file_unique_id)``."""
        stored = self.state.store_file(data, "documents", file_name=file_name, mime_type=mime_type)
        return stored.file_id, stored.file_unique_id

    # -- injected updates ------------------------------------------------------------------------------

    def _post(
        self, chat_id: int, user_id: int, *, message_thread_id: int | None = None, **content: Any
    ) -> JsonDict:
        user = self.state.user(user_id)
        if chat_id == user_id:
            user.started_bot = True  # writing to the bot opens the private chat
        elif chat_id not in self.state.groups:
            raise ValueError(f"unknown group {chat_id}: call add_group() first")
        message = self.state.new_message(
            chat_id, user.to_json(), message_thread_id=message_thread_id, **content
        )
        self.state.push_update("message", message)
        return copy.deepcopy(message)

    def post_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JsonDict:
        """A user writes ``text`` (in a group, or privately when ``chat_id == user_id``)."""
        reply_to = None
        if reply_to_message_id is not None:
            reply_to = self.state.message(chat_id, reply_to_message_id)
            if reply_to is None:
                raise ValueError(f"no visible message {reply_to_message_id} in chat {chat_id}")
            reply_to = {key: value for key, value in reply_to.items() if key != "reply_to_message"}
        return self._post(
            chat_id, user_id, message_thread_id=message_thread_id, text=text, reply_to_message=reply_to
        )

    def command(
        self, chat_id: int, user_id: int, text: str, *, message_thread_id: int | None = None
    ) -> JsonDict:
        """A user sends a command such as ``/status`` or ``/start@bot arg`` (with its bot_command entity)."""
        if not text.startswith("/"):
            raise ValueError("a command starts with '/'")
        length = len(text.split(maxsplit=1)[0])
        return self._post(
            chat_id,
            user_id,
            message_thread_id=message_thread_id,
            text=text,
            entities=[{"type": "bot_command", "offset": 0, "length": length}],
        )

    def post_photo(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        media_group_id: str | None = None,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A user posts a photo: PhotoSizes of increasing size, the largest holding ``data`` as is."""
        return self._post(
            chat_id,
            user_id,
            message_thread_id=message_thread_id,
            photo=self.state.photo_sizes(data),
            caption=caption,
            media_group_id=media_group_id,
        )

    def post_album(
        self,
        chat_id: int,
        user_id: int,
        photos: list[bytes],
        caption: str | None = None,
        *,
        message_thread_id: int | None = None,
    ) -> list[JsonDict]:
        """A user posts an album: one message per photo sharing a media_group_id, caption on the first."""
        group_id = f"album{self.state.next_id()}"
        return [
            self.post_photo(
                chat_id,
                user_id,
                data,
                caption=caption if index == 0 else None,
                media_group_id=group_id,
                message_thread_id=message_thread_id,
            )
            for index, data in enumerate(photos)
        ]

    def post_document(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        media_group_id: str | None = None,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A user posts a file (a photo sent "as file" keeps its bytes and EXIF, as on Telegram)."""
        return self._post(
            chat_id,
            user_id,
            message_thread_id=message_thread_id,
            document=self.state.document(data, file_name, mime_type),
            caption=caption,
            media_group_id=media_group_id,
        )

    def post_animation(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        *,
        file_name: str = "animation.mp4",
        mime_type: str = "video/mp4",
        thumbnail: bytes | None = None,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A user posts a GIF/animation (Telegram also fills ``document`` for old clients)."""
        animation = self.state.animation(data, file_name, mime_type, thumbnail=thumbnail)
        document = {key: animation[key] for key in animation if key not in {"width", "height", "duration"}}
        return self._post(
            chat_id,
            user_id,
            message_thread_id=message_thread_id,
            animation=animation,
            document=document,
            caption=caption,
        )

    def post_sticker(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        *,
        emoji: str = "\N{SLIGHTLY SMILING FACE}",
        is_animated: bool = False,
        is_video: bool = False,
        thumbnail: bytes | None = None,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A user posts a sticker: a static WebP, or a WebM (``is_video``) or TGS (``is_animated``) one."""
        sticker = self.state.sticker(
            data, emoji=emoji, is_animated=is_animated, is_video=is_video, thumbnail=thumbnail
        )
        return self._post(chat_id, user_id, message_thread_id=message_thread_id, sticker=sticker)

    def post_video(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        caption: str | None = None,
        *,
        thumbnail: bytes | None = None,
        file_name: str | None = None,
        mime_type: str = "video/mp4",
        width: int = 320,
        height: int = 240,
        duration: int = 4,
        media_group_id: str | None = None,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A user posts a video; ``thumbnail`` (image bytes) is the frame Telegram shows before playing it."""
        video = self.state.video(
            data,
            file_name=file_name,
            mime_type=mime_type,
            thumbnail=thumbnail,
            width=width,
            height=height,
            duration=duration,
        )
        return self._post(
            chat_id,
            user_id,
            message_thread_id=message_thread_id,
            video=video,
            caption=caption,
            media_group_id=media_group_id,
        )

    def post_video_note(
        self,
        chat_id: int,
        user_id: int,
        data: bytes,
        *,
        thumbnail: bytes | None = None,
        length: int = 320,
        duration: int = 4,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A user posts a round video note (it has no caption, name or MIME type on Telegram)."""
        note = self.state.video_note(data, thumbnail=thumbnail, length=length, duration=duration)
        return self._post(chat_id, user_id, message_thread_id=message_thread_id, video_note=note)

    def forward_message(
        self,
        chat_id: int,
        user_id: int,
        from_chat_id: int,
        message_id: int,
        *,
        message_thread_id: int | None = None,
    ) -> JsonDict:
        """A user forwards a visible message into ``chat_id``: same media and caption, plus its origin."""
        original = self.state.message(from_chat_id, message_id)
        if original is None:
            raise ValueError(f"no visible message {message_id} in chat {from_chat_id}")
        content = {key: copy.deepcopy(original[key]) for key in _FORWARDED_FIELDS if key in original}
        origin: JsonDict = {"type": "user", "date": original["date"], "sender_user": original["from"]}
        return self._post(
            chat_id, user_id, message_thread_id=message_thread_id, forward_origin=origin, **content
        )

    def post_voice(self, chat_id: int, user_id: int, data: bytes, duration: int = 3) -> JsonDict:
        """A user records a voice note (OGG/Opus on Telegram; any bytes here)."""
        stored = self.state.store_file(data, "voice", mime_type="audio/ogg")
        return self._post(chat_id, user_id, voice={**stored.reference(), "duration": duration})

    def forward_story(self, chat_id: int, user_id: int, story_chat_id: int, story_id: int) -> JsonDict:
        """A user forwards a story (from a channel or a user): members see it, bots get only its reference."""
        story_chat: JsonDict = {"id": story_chat_id, "type": "channel", "title": "Un service"}
        origin: JsonDict = {"type": "chat", "date": int(self.state.clock()), "sender_chat": story_chat}
        return self._post(chat_id, user_id, story={"chat": story_chat, "id": story_id}, forward_origin=origin)

    def _edit(self, chat_id: int, message_id: int, changes: JsonDict) -> JsonDict:
        message = self.state.message(chat_id, message_id)
        if message is None:
            raise ValueError(f"no visible message {message_id} in chat {chat_id}")
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(self.state.clock())
        self.state.push_update("edited_message", message)
        return copy.deepcopy(message)

    def edit_caption(self, chat_id: int, message_id: int, new_caption: str | None) -> JsonDict:
        """The author edits a caption (``None`` removes it): an ``edited_message`` update."""
        return self._edit(chat_id, message_id, {"caption": new_caption, "caption_entities": None})

    def edit_media(self, chat_id: int, message_id: int, data: bytes) -> JsonDict:
        """The author replaces a message's photo, video, file or animation: an ``edited_message`` update."""
        message = self.state.message(chat_id, message_id)
        if message is None:
            raise ValueError(f"no visible message {message_id} in chat {chat_id}")
        if "photo" in message:
            return self._edit(chat_id, message_id, {"photo": self.state.photo_sizes(data)})
        if "video" in message:
            old = message["video"]
            video = self.state.video(
                data,
                file_name=old.get("file_name"),
                mime_type=old.get("mime_type", "video/mp4"),
                thumbnail=None,
                width=old["width"],
                height=old["height"],
                duration=old["duration"],
            )
            return self._edit(chat_id, message_id, {"video": video})
        if "animation" in message:
            old = message["animation"]
            animation = self.state.animation(data, old.get("file_name", "animation.mp4"), old["mime_type"])
            return self._edit(chat_id, message_id, {"animation": animation})
        if "document" in message:
            old = message["document"]
            document = self.state.document(data, old.get("file_name"), old.get("mime_type"))
            return self._edit(chat_id, message_id, {"document": document})
        raise ValueError(f"message {message_id} in chat {chat_id} has no media to replace")

    def press_button(self, chat_id: int, message_id: int, user_id: int, callback_data: str) -> JsonDict:
        """A user presses an inline button of a bot message: a ``callback_query`` update (returned)."""
        message = self.state.message(chat_id, message_id)
        if message is None or not self.state.is_from_bot(message):
            raise ValueError(f"no visible bot message {message_id} in chat {chat_id}")
        # Telegram only delivers data that is on the keyboard; a test pressing anything else is a bug.
        if callback_data not in callback_data_of(message.get("reply_markup")):
            raise ValueError(f"message {message_id} has no button with callback_data {callback_data!r}")
        query_id = f"{self.bot_id}{self.state.next_id():08d}"
        query: JsonDict = {
            "id": query_id,
            "from": self.state.user(user_id).to_json(),
            "message": message,
            "chat_instance": str(abs(chat_id)),
            "data": callback_data,
        }
        self.state.open_callback_queries[query_id] = query
        return copy.deepcopy(self.state.push_update("callback_query", query)["callback_query"])

    def my_chat_member(
        self,
        chat_id: int,
        *,
        status: BotStatus,
        can_delete_messages: bool = False,
        by_user_id: int | None = None,
    ) -> JsonDict:
        """The bot's own membership changes (promoted, demoted, removed): a ``my_chat_member`` update."""
        group = self.state.group(chat_id)
        old = self.state.member_json(chat_id, self.bot_id)
        group.bot_status = status
        group.bot_can_delete = status == "administrator" and can_delete_messages
        actor = self.state.user(by_user_id).to_json() if by_user_id is not None else SERVICE_USER
        change: JsonDict = {
            "chat": group.to_json(),
            "from": actor,
            "date": int(self.state.clock()),
            "old_chat_member": old,
            "new_chat_member": chat_member_json(
                self.state.bot_user, status, can_delete_messages=group.bot_can_delete
            ),
        }
        return copy.deepcopy(self.state.push_update("my_chat_member", change)["my_chat_member"])

    # -- failures --------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        *,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error instead of running them.

        429 carries ``parameters.retry_after`` (PTB raises ``RetryAfter``); 500/502/503/504 play the
        network-ish failures (``NetworkError``); 400/403 take ``description`` for a specific refusal.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        failure = _Failure(status, retry_after, description, times)
        self._failures.setdefault(method.lower(), deque()).append(failure)

    def _injected_failure(self, method: str) -> ApiError | None:
        queue = self._failures.get(method.lower())
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining == 0:
            queue.popleft()
        if failure.status == 429:
            text = failure.description or f"Too Many Requests: retry after {failure.retry_after}"
            return ApiError(429, text, retry_after=failure.retry_after)
        text = failure.description or _ERROR_DESCRIPTIONS.get(failure.status, "Error")
        return ApiError(failure.status, text)

    # -- inspection ------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every Bot API request received so far, in order (a copy)."""
        return list(self._calls)

    def calls_of(self, method: str) -> list[Call]:
        """The requests of one method (case-insensitive)."""
        return [call for call in self._calls if call.method.lower() == method.lower()]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        # A parameter rather than asyncio.timeout() around the call, so the error can list what came.
        timeout: float = 10.0,  # noqa: ASYNC109
        *,
        since: int = 0,
    ) -> Call:
        """The first call of ``method`` (from index ``since`` of :attr:`calls`) matching ``predicate``.

        Already-received calls count, so there is no race with the bot; waits without polling, and
        raises ``TimeoutError`` listing the methods seen.
        """
        wanted = method.lower()
        checked = since
        try:
            async with asyncio.timeout(timeout):
                while True:
                    signal = self.state.signal
                    for call in self._calls[checked:]:
                        if call.method.lower() == wanted and (predicate is None or predicate(call)):
                            return call
                    checked = max(checked, len(self._calls))
                    await signal.wait()
        except TimeoutError:
            seen = [call.method for call in self._calls[since:]]
            raise TimeoutError(f"no matching {method} call within {timeout}s; received {seen}") from None

    def message(self, chat_id: int, message_id: int) -> JsonDict | None:
        """A visible message (a copy), or None when unknown or deleted."""
        message = self.state.message(chat_id, message_id)
        return copy.deepcopy(message) if message is not None else None

    def messages_in(self, chat_id: int) -> list[JsonDict]:
        """The visible (not deleted) messages of a chat, the bot's included, oldest first (copies)."""
        return [
            copy.deepcopy(message)
            for message_id, message in self.state.messages.get(chat_id, {}).items()
            if (chat_id, message_id) not in self.state.deleted
        ]

    def private_messages(self, user_id: int) -> list[JsonDict]:
        """What the bot sent to a user's private chat and has not deleted, oldest first."""
        return [message for message in self.messages_in(user_id) if self.state.is_from_bot(message)]

    @property
    def deleted(self) -> frozenset[tuple[int, int]]:
        """Every deleted ``(chat_id, message_id)``."""
        return frozenset(self.state.deleted)

    @property
    def callback_answers(self) -> dict[str, JsonDict]:
        """The parameters of each answerCallbackQuery, by callback query id."""
        return copy.deepcopy(self.state.callback_answers)

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet acknowledged by a getUpdates offset."""
        return copy.deepcopy(self.state.updates)

    @property
    def waiting_polls(self) -> int:
        """How many getUpdates long polls the server is holding open now."""
        return self.api.waiting_polls

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait, without polling, until ``condition()`` holds (it is re-checked on every change)."""
        await self.state.wait_until(condition, timeout)

    @property
    def webhook_url(self) -> str:
        """The URL of the last setWebhook ("" when none)."""
        return self.state.webhook_url

    @property
    def webhook_deliveries(self) -> list[DeliveryAttempt]:
        """Every POST of an update to the webhook so far, in order (a copy)."""
        return list(self.webhook.attempts)

    # -- HTTP ------------------------------------------------------------------------------------------

    async def _handle_method(self, request: Request) -> Response:
        token = request.path_params["token"]
        method = request.path_params["method"]
        if token != self.token:
            return ApiError(401, "Unauthorized").to_response()
        try:
            values, uploads = await read_params(request)
        except ApiError as exc:
            return exc.to_response()
        self._calls.append(Call(method, {**values, **uploads}, time.monotonic()))
        self.state.changed()
        handler = self.api.handler(method)
        if handler is None:
            return ApiError(404, "Not Found: method not found").to_response()
        failure = self._injected_failure(method)
        if failure is not None:
            return failure.to_response()
        try:
            return ok(await handler(Params(values, uploads, request)))
        except ApiError as exc:
            return exc.to_response()
        except Exception as exc:
            # A bug of the fake itself: answer like a broken Telegram, and fail the test on exit.
            self._internal_errors.append(exc)
            return JSONResponse(
                {"ok": False, "error_code": 500, "description": f"Internal Server Error: {exc!r}"},
                status_code=500,
            )

    async def _handle_file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return ApiError(401, "Unauthorized").to_response()
        stored = self.state.files_by_path.get(request.path_params["file_path"])
        if stored is None:
            return ApiError(404, "Not Found").to_response()
        return Response(stored.data, media_type=stored.mime_type or "application/octet-stream")
