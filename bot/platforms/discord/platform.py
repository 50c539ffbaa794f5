"""The Platform port over discord.py: delete, message the poster, notify moderators, repost, re-download.

A thread's messages belong to the thread's channel while the policy is the parent channel's, so the
platform remembers where each judged message lives. Texts longer than Discord's 2,000-character limit go
out in several messages, split between paragraphs.
"""

from __future__ import annotations

import contextlib
import io
import logging
from datetime import timedelta
from typing import Any

import discord

from bot.consent.model import ChatRef, UserRef
from bot.domain import FetchBytes
from bot.platforms.discord.buttons import review_view
from bot.platforms.discord.mapping import PLATFORM, media_of

log = logging.getLogger(__name__)

#: Discord refuses a message longer than this (characters).
MESSAGE_LIMIT = 2000
_WEBHOOK_NAME = "consentguard"


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


class DiscordPlatform:
    """The Platform port over discord.py."""

    name = PLATFORM

    def __init__(self, client: discord.Client) -> None:
        self.client = client
        # A thread's messages belong to the thread's channel, while the policy is the parent channel's:
        # remember where each judged message lives (bounded: only recent messages are acted on).
        self._where: dict[str, int] = {}
        # Webhook ids known to be ours (reposts of approved posts) or someone else's (bridges, bots).
        self._own_webhooks: set[int] = set()
        self._foreign_webhooks: set[int] = set()

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
    ) -> bool:
        """Delete messages; False when Discord refuses one (already-deleted ones are fine)."""
        removed = True
        for message_id in message_ids:
            where = self._where.get(message_id) or (int(thread_id) if thread_id else None)
            channel = await self.channel(ChatRef(PLATFORM, str(where)) if where else chat)
            try:
                await channel.get_partial_message(int(message_id)).delete()
            except discord.NotFound:
                continue
            except discord.Forbidden:
                log.error("missing Manage Messages in %s: cannot delete %s", chat, message_id)
                removed = False
        return removed

    def deletion_window(self) -> timedelta | None:
        """Discord lets a bot with Manage Messages delete a message at any age."""
        return None

    def message_link(self, chat: ChatRef, message_id: str) -> str | None:
        """``https://discord.com/channels/<server>/<channel>/<message>`` when the channel is known."""
        where = self._where.get(message_id) or int(chat.chat_id)
        channel = self.client.get_channel(where)
        guild = getattr(channel, "guild", None)
        if guild is None:
            return None
        return f"https://discord.com/channels/{guild.id}/{where}/{message_id}"

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

    async def repost(
        self,
        chat: ChatRef,
        thread_id: str | None,
        author_name: str,
        content: str,
        images: tuple[tuple[str, bytes], ...],
    ) -> str:
        """Post approved images again, under the poster's name, through the channel's consentguard webhook.

        Returns the repost's message id (a withdrawal of its consent deletes it: Manage Messages suffices).
        """
        channel = await self.channel(chat)
        webhooks = await channel.webhooks()
        me = self.client.user
        webhook = next(
            (
                w
                for w in webhooks
                if w.name == _WEBHOOK_NAME and w.user is not None and me and w.user.id == me.id
            ),
            None,
        ) or await channel.create_webhook(name=_WEBHOOK_NAME)
        # Recorded before sending: the repost's MESSAGE_CREATE may arrive before webhook.send returns.
        self._own_webhooks.add(webhook.id)
        files = [
            discord.File(io.BytesIO(data), filename=f"image-{i}.jpg") for i, (_, data) in enumerate(images)
        ]
        thread = discord.Object(int(thread_id)) if thread_id else discord.utils.MISSING
        sent = await webhook.send(
            content[:MESSAGE_LIMIT], username=author_name[:80], files=files, thread=thread, wait=True
        )
        return str(sent.id)

    async def is_own_webhook(self, message: discord.Message) -> bool:
        """Whether a webhook message is one of our reposts: posted through a webhook the bot created.

        Recognised by the webhook's creator (Discord's ``user`` field), never by its name, which anyone
        with Manage Webhooks can copy. When Discord cannot tell us, the message is not ours: it is
        moderated (fail closed), at worst an approved repost is judged again.
        """
        webhook_id = message.webhook_id
        if webhook_id is None:
            return False
        if webhook_id in self._own_webhooks:
            return True
        if webhook_id in self._foreign_webhooks:
            return False
        me = self.client.user
        channel: Any = message.channel
        if isinstance(channel, discord.Thread):  # a thread's webhooks are its parent channel's
            channel = channel.parent or await self.channel(ChatRef(PLATFORM, str(channel.parent_id)))
        try:
            webhooks = await channel.webhooks()
        except (discord.HTTPException, AttributeError) as exc:
            log.warning("webhooks of channel %s unreadable (%s): webhook message moderated",
                        message.channel.id, type(exc).__name__)  # fmt: skip
            return False
        for webhook in webhooks:
            ours = me is not None and webhook.user is not None and webhook.user.id == me.id
            (self._own_webhooks if ours else self._foreign_webhooks).add(webhook.id)
        return webhook_id in self._own_webhooks

    def mention(self, user: UserRef, name: str) -> str:
        """A Discord mention."""
        return f"<@{user.user_id}>"

    def start_link(self) -> str | None:
        """Discord has no deep link to a DM; the notice asks to open DMs instead."""
        return None

    def fetcher(self, chat: ChatRef, image_id: str) -> FetchBytes:
        """Re-download a medium (``image_id`` is ``channel_id:message_id:<part>``, see mapping.media_of)."""

        async def fetch() -> bytes:
            channel_id, message_id, _ = image_id.split(":", 2)
            channel = await self.channel(ChatRef(PLATFORM, channel_id))
            message = await channel.fetch_message(int(message_id))
            for image in media_of(message, self.client):
                if image.image_id == image_id:
                    return await image.fetch()
            raise LookupError("attachment no longer available")

        return fetch
