"""Discord, with discord.py 2.x: messages with image attachments in, Posts to the pipeline, actions out.

Discord removes a deleted message's attachments from its CDN within minutes, so images are downloaded before
anything is deleted (the pipeline fetches first, then removes). The review buttons are dynamic items whose
custom id carries the quarantine item id: they work for every past notice, across restarts, without keeping
views in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
from datetime import UTC, datetime
from typing import Any

import discord
import yarl
from discord import app_commands

from bot.consent.model import ChatRef, UserRef
from bot.domain import FetchBytes, Post, PostImage
from bot.messages import choose_language, consent_help
from bot.pipeline import HandledPost, Moderator
from bot.policy import Mode

log = logging.getLogger(__name__)

PLATFORM = "discord"
MESSAGE_LIMIT = 2000
_DICOM_SUFFIXES = (".dcm", ".dicom")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif")
_WEBHOOK_NAME = "consentguard"


def point_at(api_base_url: str, gateway_url: str | None) -> None:
    """Point discord.py at a REST (and gateway) proxy or a local server; discord.py reads class attributes."""
    discord.http.Route.BASE = api_base_url.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def _chunks(text: str) -> list[str]:
    """Split a long text on paragraph boundaries under Discord's 2,000-character limit."""
    parts: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if len(candidate) <= MESSAGE_LIMIT:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(paragraph) > MESSAGE_LIMIT:
            parts.append(paragraph[:MESSAGE_LIMIT])
            paragraph = paragraph[MESSAGE_LIMIT:]
        current = paragraph
    if current:
        parts.append(current)
    return parts


def _is_image(attachment: discord.Attachment) -> bool:
    name = attachment.filename.lower()
    kind = (attachment.content_type or "").lower()
    return (
        kind.startswith("image/")
        or kind == "application/dicom"
        or name.endswith(_DICOM_SUFFIXES + _IMAGE_SUFFIXES)
    )


class ReviewButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"cg:(?P<action>[ars]):(?P<item>[0-9a-f]{32})"
):
    """Approve / Reject / Show for one quarantined item; the custom id carries the item id."""

    def __init__(self, action: str, item_id: str) -> None:
        labels = {"a": ("Approuver / Approve", discord.ButtonStyle.success),
                  "r": ("Rejeter / Reject", discord.ButtonStyle.danger),
                  "s": ("Voir / Show", discord.ButtonStyle.secondary)}  # fmt: skip
        label, style = labels[action]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"cg:{action}:{item_id}"))
        self.action = action
        self.item_id = item_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ReviewButton:
        """Rebuild the button from a click on any past notice."""
        return cls(match["action"], match["item"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the click to the front end (the client that received the interaction)."""
        if isinstance(interaction.client, DiscordFrontend):
            await interaction.client.on_review(interaction, self.action, self.item_id)


def review_view(item_id: str) -> discord.ui.View:
    """The buttons of a moderator notice."""
    view = discord.ui.View(timeout=None)
    for action in ("a", "r", "s"):
        view.add_item(ReviewButton(action, item_id))
    return view


class DiscordPlatform:
    """The Platform port over discord.py."""

    name = PLATFORM

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        # A thread's messages belong to the thread's channel, while the policy is the parent channel's:
        # remember where each judged message lives (bounded: only recent messages are acted on).
        self._where: dict[str, int] = {}

    def remember(self, message_id: str, channel_id: int) -> None:
        """Record the channel a message lives in (a thread under a policed channel)."""
        self._where[message_id] = channel_id
        if len(self._where) > 10_000:
            for key in list(self._where)[:1000]:
                del self._where[key]

    async def channel(self, chat: ChatRef) -> Any:
        """A channel or thread by id (cached, else fetched)."""
        channel = self.client.get_channel(int(chat.chat_id))
        return channel if channel is not None else await self.client.fetch_channel(int(chat.chat_id))

    async def delete_messages(
        self, chat: ChatRef, message_ids: tuple[str, ...], thread_id: str | None = None
    ) -> None:
        """Delete messages; already-deleted ones are fine."""
        for message_id in message_ids:
            where = self._where.get(message_id) or (int(thread_id) if thread_id else None)
            channel = await self.channel(ChatRef(PLATFORM, str(where)) if where else chat)
            try:
                await channel.get_partial_message(int(message_id)).delete()
            except discord.NotFound:
                continue
            except discord.Forbidden:
                log.error("missing Manage Messages in %s: cannot delete %s", chat, message_id)

    async def send_private(self, user: UserRef, text: str) -> bool:
        """DM the user; False when their DMs are closed (403, code 50007)."""
        try:
            member = self.client.get_user(int(user.user_id)) or await self.client.fetch_user(
                int(user.user_id)
            )
            for part in _chunks(text):
                await member.send(part)
        except discord.Forbidden:
            return False
        except discord.NotFound:
            return False
        return True

    async def send_group_notice(self, chat: ChatRef, text: str, ttl_s: int, thread_id: str | None) -> None:
        """A short notice in the channel, deleted after ``ttl_s`` seconds."""
        channel = await self.channel(ChatRef(PLATFORM, thread_id) if thread_id else chat)
        await channel.send(text, delete_after=ttl_s, allowed_mentions=discord.AllowedMentions(users=True))

    async def notify_moderators(
        self, chat: ChatRef, review_chat: ChatRef | None, text: str, item_id: str | None
    ) -> None:
        """Post in the review channel (with buttons for an item), else DM the server's owner."""
        view = review_view(item_id) if item_id else None
        parts = _chunks(text)
        if review_chat is not None:
            channel = await self.channel(review_chat)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                await channel.send(part, view=view if last and view is not None else discord.utils.MISSING)
            return
        origin = await self.channel(chat)
        owner = getattr(getattr(origin, "guild", None), "owner_id", None)
        if owner is not None:
            with contextlib.suppress(discord.HTTPException):
                user = await self.client.fetch_user(owner)
                for index, part in enumerate(parts):
                    last = index == len(parts) - 1
                    await user.send(part, view=view if last and view is not None else discord.utils.MISSING)

    def mention(self, user: UserRef, name: str) -> str:
        """A Discord mention."""
        return f"<@{user.user_id}>"

    def start_link(self) -> str | None:
        """Discord has no deep link to a DM; the notice asks to open DMs instead."""
        return None

    def fetcher(self, chat: ChatRef, image_id: str) -> FetchBytes:
        """Re-download an attachment (``image_id`` is ``channel_id:message_id:attachment_id``)."""

        async def fetch() -> bytes:
            channel_id, message_id, attachment_id = image_id.split(":")
            channel = await self.channel(ChatRef(PLATFORM, channel_id))
            message = await channel.fetch_message(int(message_id))
            for attachment in message.attachments:
                if str(attachment.id) == attachment_id:
                    return bytes(await attachment.read())
            for embed_image in _embed_images(message, self.client):
                if embed_image.image_id == image_id:
                    return await embed_image.fetch()
            raise LookupError("attachment no longer available")

        return fetch


def _attachment_image(message: discord.Message, attachment: discord.Attachment) -> PostImage:
    async def fetch() -> bytes:
        return bytes(await attachment.read())

    return PostImage(
        image_id=f"{message.channel.id}:{message.id}:{attachment.id}",
        fetch=fetch,
        file_name=attachment.filename,
        size_bytes=attachment.size,
        message_id=str(message.id),
    )


#: Hosts whose image embeds are Discord's own copies of uploaded files. Other hosts are not fetched: the bot
#: must not become a way to make requests to arbitrary addresses.
_DISCORD_MEDIA_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})


def _own_media(url: str | None) -> bool:
    if not url:
        return False
    host = yarl.URL(url).host
    return host in _DISCORD_MEDIA_HOSTS or host == yarl.URL(discord.http.Route.BASE).host


def _embed_images(message: discord.Message, client: discord.Client) -> list[PostImage]:
    images = []
    for index, embed in enumerate(message.embeds):
        url = (
            embed.image.url
            if embed.image and embed.image.url
            else embed.thumbnail.url
            if embed.thumbnail
            else None
        )
        if embed.type not in ("image", "rich", "gifv") or not _own_media(url):
            continue
        assert url is not None  # noqa: S101 - _own_media checked it

        async def fetch(source: str = url) -> bytes:
            return bytes(await client.http.get_from_cdn(source))

        images.append(
            PostImage(
                image_id=f"{message.channel.id}:{message.id}:embed{index}",
                fetch=fetch,
                file_name=yarl.URL(url).name,
                message_id=str(message.id),
            )
        )
    return images


def post_of(message: discord.Message, *, edited: bool, client: discord.Client | None = None) -> Post | None:
    """A Post for a guild message with image attachments or image embeds of uploaded files (else None)."""
    if message.guild is None or message.author.bot:
        return None
    attached = [_attachment_image(message, a) for a in message.attachments if _is_image(a)]
    images = tuple(attached + (_embed_images(message, client) if client is not None else []))
    if not images:
        return None
    channel = message.channel
    parent = getattr(channel, "parent_id", None)
    return Post(
        chat=ChatRef(PLATFORM, str(parent if isinstance(channel, discord.Thread) and parent else channel.id)),
        message_id=str(message.id),
        author=UserRef(PLATFORM, str(message.author.id)),
        author_name=message.author.display_name,
        caption=message.content or "",
        images=images,
        sent_at=message.created_at.astimezone(UTC) if message.created_at else datetime.now(UTC),
        edited=edited,
        thread_id=str(channel.id) if isinstance(channel, discord.Thread) else None,
        chat_title=getattr(channel, "name", None),
    )


class DiscordFrontend(discord.Client):
    """The discord.py client: turns messages into Posts, serves the review buttons and slash commands."""

    def __init__(self, *, intents: discord.Intents | None = None, **options: Any) -> None:
        intents = intents or discord.Intents.default()
        intents.message_content = True  # captions carry the consent token
        super().__init__(intents=intents, **options)
        self.tree = app_commands.CommandTree(self)
        self.platform = DiscordPlatform(self)
        self.moderator: Moderator | None = None
        self.groups: list[ChatRef] = []
        self.handled: asyncio.Queue[HandledPost] = asyncio.Queue()
        self._work: set[asyncio.Task[None]] = set()
        self._register_commands()

    def attach(self, moderator: Moderator, groups: list[ChatRef]) -> None:
        """Wire the pipeline (built after the platform, which it needs)."""
        self.moderator = moderator
        self.groups = groups

    async def setup_hook(self) -> None:
        """Persistent review buttons and slash commands, set up once per login."""
        self.add_dynamic_items(ReviewButton)
        with contextlib.suppress(discord.HTTPException):
            await self.tree.sync()

    async def on_ready(self) -> None:
        """Check our permissions in each configured channel and resume unfinished work."""
        for chat in self.groups:
            await self.check_permissions(chat)
        if self.moderator is not None:
            await self.moderator.resume()

    async def check_permissions(self, chat: ChatRef) -> bool:
        """Say what is missing (in the channel and to the owner) when we cannot moderate it."""
        try:
            channel = await self.platform.channel(chat)
        except discord.HTTPException:
            log.error("configured channel %s is not visible to the bot", chat)
            return False
        guild = getattr(channel, "guild", None)
        me = guild.me if guild is not None else None
        if me is None:
            return False
        permissions = channel.permissions_for(me)
        missing = [
            name
            for name, ok in (
                ("Manage Messages", permissions.manage_messages),
                ("Manage Webhooks", permissions.manage_webhooks),
                ("Read Message History", permissions.read_message_history),
            )
            if not ok
        ]
        if not missing:
            return True
        text = (
            "consentguard ne peut pas modérer ce salon : il manque " + ", ".join(missing) + ". "
            "/ consentguard cannot moderate this channel: missing " + ", ".join(missing) + "."
        )
        log.error("missing permissions in %s: %s", chat, ", ".join(missing))
        with contextlib.suppress(discord.HTTPException):
            await channel.send(text)
        with contextlib.suppress(discord.HTTPException):
            if guild is not None and guild.owner_id:
                owner = await self.fetch_user(guild.owner_id)
                await owner.send(text)
        return False

    # -- messages -----------------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        """Judge a new message with images."""
        post = post_of(message, edited=False, client=self)
        if post is not None:
            await self._submit(post)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        """Judge an edited message again (token removed, attachment removed...)."""
        post = post_of(after, edited=True, client=self)
        if post is not None:
            await self._submit(post)

    async def _submit(self, post: Post) -> None:
        if post.thread_id:
            self.platform.remember(post.message_id, int(post.thread_id))
        if self.moderator is None or not await self.moderator.accept(post):
            return
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
        """A moderator pressed Approve, Reject or Show."""
        moderator = self.moderator
        if moderator is None:
            return
        try:
            item = await moderator.quarantined(item_id)
        except Exception:
            await interaction.response.send_message("Déjà traité. / Already handled.", ephemeral=True)
            return
        if not await self._can_review(interaction, item.chat):
            await interaction.response.send_message(
                "Réservé aux membres ayant « Gérer les messages ». / Manage Messages required.",
                ephemeral=True,
            )
            return
        who = UserRef(PLATFORM, str(interaction.user.id))
        name = getattr(interaction.user, "display_name", str(interaction.user))
        try:
            if action == "s":
                images = await moderator.preview(item_id)
                files = [
                    discord.File(io.BytesIO(data), filename=f"image-{i}.jpg", spoiler=True)
                    for i, (_, data) in enumerate(images)
                ]
                await interaction.response.send_message("Aperçu / Preview", files=files, ephemeral=True)
                return
            if action == "a":
                approved = await moderator.approve(item_id, who)
                await self._repost(
                    approved.chat,
                    approved.thread_id,
                    approved.author_name,
                    name,
                    approved.caption,
                    approved.images,
                )
                text = f"✅ Approuvé par {name}, republié. / Approved by {name}, reposted."
            else:
                await moderator.reject(item_id, who)
                text = f"🗑 Rejeté par {name}, image supprimée. / Rejected by {name}, image purged."
        except Exception as exc:
            log.info("review action on %s failed: %s", item_id, type(exc).__name__)
            await interaction.response.send_message("Déjà traité. / Already handled.", ephemeral=True)
            return
        await interaction.response.edit_message(content=text, view=None)

    async def _can_review(self, interaction: discord.Interaction[Any], chat: ChatRef) -> bool:
        channel = await self.platform.channel(chat)
        guild = getattr(channel, "guild", None)
        if guild is None:
            return False
        try:
            member = guild.get_member(interaction.user.id) or await guild.fetch_member(interaction.user.id)
        except discord.HTTPException:
            return False
        return bool(channel.permissions_for(member).manage_messages)

    async def _repost(
        self,
        chat: ChatRef,
        thread_id: str | None,
        author_name: str,
        moderator_name: str,
        caption: str,
        images: tuple[tuple[str, bytes], ...],
    ) -> None:
        channel = await self.platform.channel(chat)
        webhooks = await channel.webhooks()
        webhook = next(
            (w for w in webhooks if w.name == _WEBHOOK_NAME), None
        ) or await channel.create_webhook(name=_WEBHOOK_NAME)
        note = f"(approuvé par {moderator_name} / approved by {moderator_name})"
        content = f"{caption}\n{note}" if caption else note
        files = [
            discord.File(io.BytesIO(data), filename=f"image-{i}.jpg") for i, (_, data) in enumerate(images)
        ]
        thread = discord.Object(int(thread_id)) if thread_id else discord.utils.MISSING
        await webhook.send(content[:MESSAGE_LIMIT], username=author_name[:80], files=files, thread=thread)

    # -- slash commands -----------------------------------------------------------------------------

    def _register_commands(self) -> None:
        group = app_commands.Group(
            name="consentguard", description="consentguard: patient images and consent"
        )

        @group.command(name="status", description="This channel's rule and quarantine count")
        async def status(interaction: discord.Interaction[Any]) -> None:
            chat = ChatRef(PLATFORM, str(interaction.channel_id))
            if self.moderator is None:
                return
            policy = self.moderator.policies.for_chat(chat)
            pending = len(await self.moderator.queue(chat))
            await interaction.response.send_message(
                f"mode: {policy.mode.value} · quarantine: {pending}", ephemeral=True
            )

        @group.command(name="queue", description="Quarantined posts awaiting review (moderators)")
        async def queue(interaction: discord.Interaction[Any]) -> None:
            chat = ChatRef(PLATFORM, str(interaction.channel_id))
            if self.moderator is None or not await self._can_review(interaction, chat):
                await interaction.response.send_message("Manage Messages required.", ephemeral=True)
                return
            items = await self.moderator.queue(chat)
            lines = [f"{i.item_id[:8]} · {i.reason} · {','.join(i.finding_kinds) or '-'}" for i in items[:20]]
            await interaction.response.send_message("\n".join(lines) or "Queue empty.", ephemeral=True)

        @group.command(name="policy", description="Show or change this channel's mode (moderators)")
        @app_commands.describe(mode="strict, identifying-only or monitor")
        async def policy(interaction: discord.Interaction[Any], mode: str | None = None) -> None:
            chat = ChatRef(PLATFORM, str(interaction.channel_id))
            if self.moderator is None or not await self._can_review(interaction, chat):
                await interaction.response.send_message("Manage Messages required.", ephemeral=True)
                return
            if mode:
                try:
                    self.moderator.policies = self.moderator.policies.with_mode(chat, Mode(mode))
                except ValueError:
                    await interaction.response.send_message(
                        "strict | identifying-only | monitor", ephemeral=True
                    )
                    return
            current = self.moderator.policies.for_chat(chat).mode.value
            await interaction.response.send_message(f"mode: {current}", ephemeral=True)

        @group.command(name="consent", description="How to obtain and quote a consent token")
        async def consent(interaction: discord.Interaction[Any]) -> None:
            chat = ChatRef(PLATFORM, str(interaction.channel_id))
            language = choose_language(
                self.moderator.policies.for_chat(chat).language if self.moderator else None,
                str(interaction.locale) if interaction.locale else None,
            )
            await interaction.response.send_message(consent_help(language), ephemeral=True)

        self.tree.add_command(group)
