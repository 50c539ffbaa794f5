"""Discord messages to neutral :class:`Post` values: every attachment, every embed medium, and forwards.

Every attachment goes to the pipeline whatever its name or declared type: the scan engine tells the kind
from the bytes (a face JPEG named ``scan.bin``, a DICOM file ``IM0001`` sent as octet-stream, a video), and
what it cannot check is handled by policy. Filtering here on names or MIME types was a way around the bot.

Forwards: a forwarded message carries the original's attachments and embeds in ``message_snapshots``; they
are images of the forwarding post. The snapshot's text is *not* the post's caption: a consent token must be
in the forwarder's own words (the original's token was given for the original poster, in its group).

Posts by webhooks (bridges, integrations) and by other bots are moderated like members' posts; the author
is the webhook's id (``discord:<webhook id>``), which a group may exempt in its policy. Only the bot's own
messages are skipped here; its own reposts through its webhook are recognised by the client
(:meth:`.platform.DiscordPlatform.is_own_webhook`), which needs Discord.

Discord removes a deleted message's attachments from its CDN within minutes, so each image carries a fetch
function that the pipeline calls before anything is deleted (it fetches first, then removes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import discord

from bot.consent.model import ChatRef, UserRef
from bot.domain import Post, PostImage
from bot.platforms.discord.embeds import embed_media

#: The platform name in every ChatRef and UserRef this package makes.
PLATFORM = "discord"


def _attachment_image(attachment: discord.Attachment, image_id: str, message_id: str) -> PostImage:
    async def fetch() -> bytes:
        return bytes(await attachment.read())

    return PostImage(
        image_id=image_id,
        fetch=fetch,
        file_name=attachment.filename,
        size_bytes=attachment.size,
        message_id=message_id,
    )


def media_of(message: discord.Message, client: discord.Client) -> list[PostImage]:
    """Every medium of a message: attachments, embeds, then those of forwarded snapshots.

    Image ids are ``channel_id:message_id:<part>`` (``<part>``: an attachment id, ``embed<n>``,
    ``fwd<k>-<attachment id>``, ``fwd<k>-embed<n>``), so that the platform can find one again.
    """
    prefix, message_id = f"{message.channel.id}:{message.id}:", str(message.id)
    images = [_attachment_image(a, f"{prefix}{a.id}", message_id) for a in message.attachments]
    images += embed_media(message.embeds, client, prefix=prefix, message_id=message_id)
    for k, snapshot in enumerate(message.message_snapshots):
        forwarded = f"{prefix}fwd{k}-"
        images += [_attachment_image(a, f"{forwarded}{a.id}", message_id) for a in snapshot.attachments]
        images += embed_media(snapshot.embeds, client, prefix=forwarded, message_id=message_id)
    return images


def _is_own(message: discord.Message, client: discord.Client) -> bool:
    me: Any = client.user
    return me is not None and message.author.id == me.id


def post_of(message: discord.Message, *, edited: bool, client: discord.Client) -> Post | None:
    """A Post for a guild message with any media (else None); never for the bot's own messages.

    Webhook and bot posts are included (see the module's note).
    """
    if message.guild is None or _is_own(message, client):
        return None
    images = tuple(media_of(message, client))
    if not images:
        return None
    channel = message.channel
    parent = getattr(channel, "parent_id", None)
    return Post(
        chat=ChatRef(PLATFORM, str(parent if isinstance(channel, discord.Thread) and parent else channel.id)),
        message_id=str(message.id),
        # A webhook's message has the webhook as author (its id; the name it posted under).
        author=UserRef(PLATFORM, str(message.author.id)),
        author_name=message.author.display_name,
        caption=message.content or "",
        images=images,
        sent_at=message.created_at.astimezone(UTC) if message.created_at else datetime.now(UTC),
        edited=edited,
        thread_id=str(channel.id) if isinstance(channel, discord.Thread) else None,
        chat_title=getattr(channel, "name", None),
    )
