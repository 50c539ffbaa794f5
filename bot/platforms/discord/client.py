"""The discord.py client: turns messages into Posts for the pipeline and composes the Discord features.

It owns the gateway connections (one per shard, see :mod:`.sharding`) and the event handlers; the Platform
port (:mod:`.platform`), the review buttons (:mod:`.review`), the slash commands (:mod:`.commands`) and the
start-up permission check (:mod:`.permissions`) live in their own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import discord
from discord import app_commands

from bot.consent.model import ChatRef
from bot.core.capture import CaptureDesk
from bot.core.deidentified import DeidentifiedOffers
from bot.core.pipeline import HandledPost, Moderator
from bot.core.ports import ConsoleLinks
from bot.core.review import ReviewService
from bot.domain import Post
from bot.messages import choose_language
from bot.messages.discord_catalog import discord_texts
from bot.platforms.discord.buttons import ReviewButton
from bot.platforms.discord.commands import consentguard_commands
from bot.platforms.discord.deidentified import DiscordOfferChannel, OfferButton, OfferDesk
from bot.platforms.discord.mapping import PLATFORM, post_of
from bot.platforms.discord.permissions import check_permissions as report_permissions
from bot.platforms.discord.platform import DiscordPlatform
from bot.platforms.discord.review import ReviewDesk
from bot.platforms.discord.sharding import IdentifyPacer, check_shards

log = logging.getLogger(__name__)


class DiscordFrontend(discord.AutoShardedClient):
    """The discord.py client: turns messages into Posts, serves the review buttons and slash commands.

    Sharded: ``shard_count`` shards in all (None: Discord's recommendation), of which this process opens
    ``shard_ids`` (None: all). One shard is one gateway connection; events arrive on the guild's own.
    """

    def __init__(
        self,
        *,
        intents: discord.Intents | None = None,
        shard_count: int | None = None,
        shard_ids: list[int] | None = None,
        **options: Any,
    ) -> None:
        check_shards(shard_count, shard_ids)
        intents = intents or discord.Intents.default()
        intents.message_content = True  # captions carry the consent token
        if shard_ids is not None:  # discord.py's signature takes a list or nothing, not None
            options["shard_ids"] = shard_ids
        super().__init__(intents=intents, shard_count=shard_count, **options)
        self.identify_pacer = IdentifyPacer()
        self.tree = app_commands.CommandTree(self)
        self.platform = DiscordPlatform(self)
        self.moderator: Moderator | None = None
        self.review: ReviewService | None = None
        self.groups: list[ChatRef] = []
        self.handled: asyncio.Queue[HandledPost] = asyncio.Queue()
        self._work: set[asyncio.Task[None]] = set()
        # The review service is wired after the client is built (attach): the parts read it when used.
        self.desk = ReviewDesk(self.platform, lambda: self.review)
        self.offers: DeidentifiedOffers | None = None
        self.offer_desk = OfferDesk(lambda: self.offers)
        self.capture: CaptureDesk | None = None
        self.console: ConsoleLinks | None = None
        self.tree.add_command(
            consentguard_commands(
                self.platform,
                lambda: self.review,
                lambda: self.capture,
                lambda: (self.console, self.groups),
            )
        )

    def attach(
        self,
        moderator: Moderator,
        review: ReviewService,
        groups: list[ChatRef],
        capture: CaptureDesk | None = None,
        console: ConsoleLinks | None = None,
        offers: DeidentifiedOffers | None = None,
    ) -> None:
        """Wire the pipeline, review service, consent capture and console links (built after the platform).

        ``offers``: de-identified reposts are offered on Discord from now on (the confirm button is served).
        """
        self.moderator = moderator
        self.review = review
        self.groups = groups
        self.capture = capture
        self.console = console
        if offers is not None:
            offers.attach(PLATFORM, DiscordOfferChannel(self.platform))
            self.offers = offers

    async def setup_hook(self) -> None:
        """Persistent review buttons and slash commands, set up once per login."""
        self.add_dynamic_items(ReviewButton, OfferButton)
        with contextlib.suppress(discord.HTTPException):
            await self.tree.sync()

    async def launch_shards(self) -> None:
        """Open the shards, once Discord said how many it recommends and how many may identify at once."""
        try:
            recommended, _url, limits = await self.http.get_bot_gateway()
        except discord.GatewayNotFound:
            if self.shard_count is None:
                raise
            recommended, limits = self.shard_count, None  # a count was set: Discord's advice is optional
        if self.shard_count is None:
            # Set here rather than left to discord.py, which would then connect to the URL Discord names
            # and bypass a configured gateway proxy (``DiscordWebSocket.DEFAULT_GATEWAY``, see routing).
            self.shard_count = recommended
        if limits is not None:
            self.identify_pacer.max_concurrency = max(1, limits["max_concurrency"])
            if limits["remaining"] < len(self.shard_ids or range(self.shard_count)):
                log.warning("discord: %d session starts left today, reset in %d ms",
                            limits["remaining"], limits["reset_after"])  # fmt: skip
        log.info("discord: opening %s of %d shard(s), %d identify(s) at once",
                 self.shard_ids or "all", self.shard_count, self.identify_pacer.max_concurrency)  # fmt: skip
        await super().launch_shards()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait as long as Discord's identify limit requires (discord.py waits 5 s for every shard)."""
        await self.identify_pacer.wait(shard_id)

    async def on_ready(self) -> None:
        """Check our permissions in each configured channel and resume unfinished work (every shard ready)."""
        for chat in self.groups:
            if self._serves(chat):
                await self.check_permissions(chat)
        if self.moderator is not None:
            await self.moderator.resume()

    def _serves(self, chat: ChatRef) -> bool:
        """Whether this process receives the chat's guild.

        With some of the shards only, a channel absent from our cache is on another process's shards, which
        checks it (here it would look unreachable).
        """
        return self.shard_ids is None or self.get_channel(int(chat.chat_id)) is not None

    async def check_permissions(self, chat: ChatRef) -> bool:
        """Say what is missing (in the channel and to the owner, in the channel's language), if anything."""
        language = choose_language(self.review.policy(chat).language if self.review else None, None)
        return await report_permissions(self.platform, chat, discord_texts(language))

    # -- messages -----------------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """Judge a new message with media (members', other bots' and webhooks' alike)."""
        await self._judge(message, edited=False)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Judge an edited message again (token removed, image added...), cached or not.

        The one path for every edit: ``on_message_edit`` only fires for messages still in discord.py's
        cache, so an edit of an older message (or one sent while the bot was away) would go unseen.
        ``payload.message`` is the message as Discord sent it in MESSAGE_UPDATE (the full message, which
        discord.py 2.5+ requires to build it): no fetch, so no fetch failure to lose an edit to.
        """
        await self._judge(payload.message, edited=True)

    async def _judge(self, message: discord.Message, *, edited: bool) -> None:
        post = post_of(message, edited=edited, client=self)
        if post is None:
            return
        # Our own reposts of approved posts come back through our webhook: judged once is enough.
        if message.webhook_id is not None and await self.platform.is_own_webhook(message):
            return
        await self._submit(post)

    async def _submit(self, post: Post) -> None:
        if post.thread_id:
            self.platform.remember(post.message_id, int(post.thread_id))
        if self.moderator is None:
            return
        try:
            if not await self.moderator.accept(post):
                return
        except Exception as exc:  # the gateway does not deliver again: judge it now rather than lose it
            log.error("post %s could not be persisted (%s); judged without the work log", post.key,
                      type(exc).__name__)  # fmt: skip
        task = asyncio.create_task(self._process(post))
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _process(self, post: Post) -> None:
        assert self.moderator is not None  # noqa: S101 - _submit checked it
        try:
            handled = await self.moderator.process(post)
        except Exception:  # one failing post must not stop the bot; it resumes at the next start
            log.exception("post %s failed in the pipeline", post.key)
            return
        await self.handled.put(handled)

    async def idle(self) -> None:
        """Wait for in-flight posts."""
        while self._work:
            await asyncio.gather(*self._work)

    # -- review -------------------------------------------------------------------------------------

    async def on_review(self, interaction: discord.Interaction[Any], action: str, item_id: str) -> None:
        """A moderator pressed Approve, Reject or Show (see :class:`.review.ReviewDesk`)."""
        await self.desk.on_review(interaction, action, item_id)

    async def on_offer(self, interaction: discord.Interaction[Any], offer_id: str) -> None:
        """A poster pressed a de-identified offer's confirm button (see :class:`.deidentified.OfferDesk`)."""
        await self.offer_desk.on_offer(interaction, offer_id)
