"""The Telegram front end: registers the handlers, polls for updates, gathers albums, feeds the pipeline.

The bot polls with its own loop instead of PTB's Updater: an update is acknowledged to Telegram (the next
``getUpdates`` offset) only after the pipeline has persisted it, so a crash never loses a confirmed update.
Album items are held for a short window (the caption usually sits on one item) and are not acknowledged
before the album is persisted.

In webhook mode (several replicas, webhook.py) Telegram posts each update to the bot instead: the endpoint
hands it to :meth:`TelegramFrontend.accept_update`, which runs the same handlers and answers only once the
update's posts are persisted, so that Telegram redelivers whatever could not be.

The commands, the review buttons and the rights checks are parts of their own (commands.py, review.py,
rights.py), built here with the platform and the review service they need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Message, Update
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.consent.model import ChatRef
from bot.core.capture import CaptureDesk
from bot.core.deidentified import DeidentifiedOffers
from bot.core.pipeline import Moderator
from bot.core.ports import ConsoleLinks
from bot.core.review import ReviewService
from bot.domain import Post
from bot.platforms.telegram.buttons import CALLBACK_PATTERN
from bot.platforms.telegram.commands import Commands
from bot.platforms.telegram.consent import CHOICE_PATTERN, ConsentCommands
from bot.platforms.telegram.console import ConsoleCommand
from bot.platforms.telegram.deidentified import OFFER_PATTERN, OfferButton, TelegramOfferChannel
from bot.platforms.telegram.mapping import post_of
from bot.platforms.telegram.platform import TelegramPlatform, retry_seconds
from bot.platforms.telegram.review import ReviewButtons
from bot.platforms.telegram.rights import RightsGuard

log = logging.getLogger(__name__)

#: Seconds a judged album's items stay known, so that a redelivered item is not taken for a new album.
ALBUM_MEMORY_S = 600.0
#: The updates the bot asks for, with getUpdates and with setWebhook alike.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


@dataclass
class _Album:
    """The items of one album seen so far, while its window is open."""

    messages: dict[int, Message] = field(default_factory=dict)
    first_update_id: int = 0
    flushing: asyncio.Task[bool] | None = None  # True once the album's post is persisted


class TelegramFrontend:
    """Registers the handlers, polls for updates, gathers albums and serves the moderators' buttons."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        platform: TelegramPlatform,
        moderator: Moderator,
        review: ReviewService,
        *,
        album_window_s: float = 1.5,
        poll_timeout_s: int = 25,
        on_handled: Callable[[Any], Awaitable[None]] | None = None,
        capture: CaptureDesk | None = None,
        console: ConsoleLinks | None = None,
        offers: DeidentifiedOffers | None = None,
    ) -> None:
        self.application = application
        self.platform = platform
        self.moderator = moderator
        self.review = review
        self._album_window_s = album_window_s
        self._poll_timeout_s = poll_timeout_s
        self._albums: dict[str, _Album] = {}
        self._work: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._poll_exited = asyncio.Event()
        self._poll_exited.set()  # not polling yet
        self._poll_task: asyncio.Task[Any] | None = None
        self._waiting_for_updates = False
        self._current_update_id = 0
        self._unpersisted: int | None = None  # lowest update whose post could not be persisted
        self._batch: list[tuple[Post, int]] | None = None  # posts of the getUpdates batch being dispatched
        # Webhook mode: the album windows the update being dispatched waits for before it is answered.
        self._album_waits: list[asyncio.Task[bool]] | None = None
        # Polling: updates below this id are acknowledged (Telegram will not send them again); None until
        # the first poll, and in webhook mode, where an answered update is not sent again.
        self._acknowledged_below: int | None = None
        # Webhook requests arrive concurrently; their dispatch (cheap: the handlers only gather posts) takes
        # turns, as the polling loop's batch does, so that each request collects only its own posts.
        self._dispatching = asyncio.Lock()
        self._on_handled = on_handled
        self.rights = RightsGuard(platform, review)
        self.buttons = ReviewButtons(platform, review)
        self.commands = Commands(platform, review)
        self.consent = ConsentCommands(platform, capture)
        self.console = ConsoleCommand(platform, review, console, self.consent.groups)
        # De-identified reposts are offered on Telegram only once their confirm button has a handler here.
        self.offer_button = OfferButton(platform, offers) if offers is not None else None
        if offers is not None:
            offers.attach(platform.name, TelegramOfferChannel(platform))
        self._register()

    def _register(self) -> None:
        groups = filters.ChatType.GROUPS
        app = self.application
        commands = self.commands
        app.add_handler(CommandHandler("start", commands.start))
        app.add_handler(CommandHandler("help", commands.help))
        app.add_handler(CommandHandler("consent", self.consent.consent))
        app.add_handler(CommandHandler("withdraw", self.consent.withdraw))
        app.add_handler(CommandHandler("console", self.console.console))
        app.add_handler(CommandHandler("status", commands.status, filters=groups))
        app.add_handler(CommandHandler("queue", commands.queue, filters=groups))
        app.add_handler(CommandHandler("policy", commands.policy, filters=groups))
        # Every group message reaches _on_media, and mapping.post_of alone decides which carry media: a second
        # list of media filters here once let videos and video notes through unchecked (issue 10).
        app.add_handler(MessageHandler(groups & filters.UpdateType.MESSAGE, self._on_media))
        app.add_handler(MessageHandler(groups & filters.UpdateType.EDITED_MESSAGE, self._on_edit))
        app.add_handler(CallbackQueryHandler(self.buttons.on_button, pattern=CALLBACK_PATTERN))
        app.add_handler(CallbackQueryHandler(self.consent.on_choice, pattern=CHOICE_PATTERN))
        if self.offer_button is not None:
            app.add_handler(CallbackQueryHandler(self.offer_button.on_press, pattern=OFFER_PATTERN))
        app.add_handler(ChatMemberHandler(self.rights.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))

    # -- running ------------------------------------------------------------------------------------

    async def start(self, groups: list[ChatRef]) -> None:
        """Initialise PTB, check our rights in the known groups, resume unfinished work."""
        await self.application.initialize()
        await self.application.start()
        for chat in groups:
            self.consent.know_group(int(chat.chat_id), None)
            await self.rights.check_rights(chat)
        await self.moderator.resume()

    async def run_polling(self) -> None:
        """Poll until :meth:`stop`; acknowledge an update only once the pipeline persisted it."""
        self._poll_exited.clear()
        self._poll_task = asyncio.current_task()
        try:
            await self._poll_loop()
        except asyncio.CancelledError:
            if not self._stopping.is_set():
                raise
        finally:
            self._poll_exited.set()

    async def run_webhook(self, serving: contextlib.AbstractAsyncContextManager[object]) -> None:
        """Webhook mode, instead of :meth:`run_polling`: keep the endpoint ``serving`` until :meth:`stop`.

        ``serving`` (webhook.py's :meth:`~bot.platforms.telegram.webhook.TelegramWebhook.serving`) starts the
        HTTP server and registers the webhook; leaving it waits for the requests in flight.
        """
        self._poll_exited.clear()
        try:
            async with serving:
                await self._stopping.wait()
        finally:
            self._poll_exited.set()

    @property
    def albums_known(self) -> int:
        """Albums gathered or judged recently (they are forgotten ``ALBUM_MEMORY_S`` after their judgment)."""
        return len(self._albums)

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called (the webhook then turns new updates away for a redelivery)."""
        return self._stopping.is_set()

    async def accept_update(self, update: Update) -> bool:
        """Webhook mode: dispatch one update as the polling loop does; True once its posts are persisted.

        False when they could not be (the endpoint answers 5xx and Telegram sends the update again). An album
        item is answered after its album's window, once the album is persisted.
        """
        async with self._dispatching:
            self._batch, self._album_waits = [], []
            try:
                self._current_update_id = update.update_id
                await self.application.process_update(update)
            finally:
                batch, self._batch = self._batch, None
                albums, self._album_waits = self._album_waits, None
        if not await self._submit_many(batch):
            return False
        return all(await asyncio.gather(*albums))

    async def _poll_loop(self) -> None:
        offset: int | None = None
        while not self._stopping.is_set():
            # Backpressure: while the bot holds as many posts as it may, the next updates wait on Telegram's
            # side (unacknowledged, so never lost), not in this process's memory.
            await self._wait_for_room()
            if self._stopping.is_set():
                break
            room = max(1, self.moderator.backlog_limit - self.moderator.in_flight)
            albums_pending = any(a.flushing is not None for a in self._albums.values())
            try:
                self._waiting_for_updates = True
                updates = await self.platform.bot.get_updates(
                    offset=offset,
                    limit=min(100, room),
                    timeout=0 if albums_pending else self._poll_timeout_s,
                    allowed_updates=ALLOWED_UPDATES,
                )
            except RetryAfter as exc:
                await self._sleep(retry_seconds(exc))
                continue
            except (TimedOut, NetworkError) as exc:
                log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
                await self._sleep(1.0)
                continue
            finally:
                self._waiting_for_updates = False
            # The batch's posts are gathered while PTB dispatches its updates, then persisted in one
            # transaction before the offset moves on: a burst costs one commit, and nothing is acknowledged
            # before it is persisted.
            self._batch = []
            try:
                for update in updates:
                    self._current_update_id = update.update_id
                    await self.application.process_update(update)
            finally:
                batch, self._batch = self._batch, None
            await self._submit_many(batch)
            if offset is not None:
                self._acknowledged_below = offset  # what the getUpdates call just made acknowledged
            if updates:
                offset = updates[-1].update_id + 1
            if self._unpersisted is not None:
                # A post could not be persisted: do not acknowledge its update; fetch it again shortly.
                offset, self._unpersisted = self._unpersisted, None
                await self._sleep(1.0)
                continue
            pending = [a.first_update_id for a in self._albums.values() if a.flushing is not None]
            if pending:
                # Items of an album still in its window are not persisted yet: fetch them again next time
                # (they are recognised and not gathered twice) rather than acknowledge them.
                offset = min(pending)
                await self._sleep(0.2)

    async def _wait_for_room(self) -> None:
        room = asyncio.ensure_future(self.moderator.wait_for_room())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({room, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            room.cancel()
            stopping.cancel()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def stop(self) -> None:
        """Stop polling, let running work finish, shut PTB down."""
        self._stopping.set()
        if self._waiting_for_updates and self._poll_task is not None:
            # A long poll in flight holds nothing yet: its updates are unacknowledged and come back later.
            self._poll_task.cancel()
        # The last getUpdates must come back before PTB closes its HTTP client under it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._poll_exited.wait(), timeout=self._poll_timeout_s + 10)
        for album in list(self._albums.values()):
            if album.flushing is not None:
                await album.flushing
        if self._work:
            await asyncio.gather(*self._work, return_exceptions=True)
        await self.platform.aclose()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def idle(self) -> None:
        """Wait for in-flight posts (tests and the demo use it between steps)."""
        while self._work or any(a.flushing for a in self._albums.values()):
            await asyncio.gather(*self._work, *(a.flushing for a in self._albums.values() if a.flushing))

    # -- media --------------------------------------------------------------------------------------

    async def _on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None:
            return
        self.consent.know_group(message.chat.id, message.chat.title)
        if message.media_group_id:
            self._gather_album(message)
            return
        post = post_of([message], self.platform, edited=False)
        if post is not None:
            await self._submit(post, self._current_update_id)

    async def _on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.edited_message
        if message is None:
            return
        post = post_of([message], self.platform, edited=True)
        if post is not None:
            await self._submit(post, self._current_update_id)

    async def _submit(self, post: Post, update_id: int) -> bool:
        """Persist the post, then judge it; False (and the update left unacknowledged) if it cannot be.

        While a getUpdates batch is dispatched, the post joins the batch (persisted with it, after it).
        """
        if self._batch is not None:
            self._batch.append((post, update_id))
            return True
        return await self._submit_many([(post, update_id)])

    async def _submit_many(self, batch: list[tuple[Post, int]]) -> bool:
        if not batch:
            return True
        try:
            accepted = await self.moderator.accept_many([post for post, _ in batch])
        except Exception as exc:  # the database: the updates are fetched again rather than lost
            first = min(update_id for _, update_id in batch)
            log.error("%d post(s) could not be persisted (%s); their updates will be fetched again",
                      len(batch), type(exc).__name__)  # fmt: skip
            self._unpersisted = min(first, self._unpersisted or first)
            return False
        for (post, _), new in zip(batch, accepted, strict=True):
            if new:
                self._spawn(self._process(post))
        return True

    async def _process(self, post: Post) -> None:
        try:
            handled = await self.moderator.process(post)
        except Exception:  # one failing post must not stop the bot; it stays unfinished and resumes later
            log.exception("post %s failed in the pipeline", post.key)
            return
        if self._on_handled is not None:
            await self._on_handled(handled)

    def _gather_album(self, message: Message) -> None:
        key = f"{message.chat.id}:{message.media_group_id}"
        album = self._albums.setdefault(key, _Album(first_update_id=self._current_update_id))
        if message.message_id not in album.messages:  # else re-fetched while the window is open
            album.messages[message.message_id] = message
            if album.flushing is None:
                album.flushing = asyncio.create_task(self._flush_album(key))
        if self._album_waits is not None and album.flushing is not None:
            self._album_waits.append(album.flushing)

    async def _flush_album(self, key: str) -> bool:
        await asyncio.sleep(self._album_window_s)
        album = self._albums[key]
        messages = [album.messages[i] for i in sorted(album.messages)]
        post = post_of(messages, self.platform, edited=False)
        # Persisted now, on its own, never by joining a batch being dispatched: the album would count as
        # persisted before it is, and if that batch then failed, the re-fetched items would be taken for
        # repeats of an album already flushed and never persisted at all.
        if post is not None and not await self._submit_many([(post, album.first_update_id)]):
            del self._albums[key]  # gathered afresh when its updates come again
            return False
        album.flushing = None
        # Kept a while so that a late redelivery of one of its items is known (Telegram retries a webhook
        # for minutes), then forgotten: a long-running bot would otherwise keep every album it ever saw.
        asyncio.get_running_loop().call_later(ALBUM_MEMORY_S, self._forget_album, key, album)
        return True

    def _forget_album(self, key: str, album: _Album) -> None:
        if self._albums.get(key) is not album or album.flushing is not None:
            return
        if self._acknowledged_below is not None and album.first_update_id >= self._acknowledged_below:
            # Polling, and its updates not acknowledged yet: they come back, and must be recognised.
            asyncio.get_running_loop().call_later(ALBUM_MEMORY_S, self._forget_album, key, album)
            return
        del self._albums[key]

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.create_task(run())
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    # -- parts ------------------------------------------------------------------------------------------

    async def check_rights(self, chat: ChatRef) -> bool:
        """Whether the bot may delete messages in ``chat``; warns the group and its moderators if not."""
        return await self.rights.check_rights(chat)
