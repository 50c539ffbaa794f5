"""Discord messages to neutral :class:`Post` values: image attachments and image embeds of uploaded files.

Discord removes a deleted message's attachments from its CDN within minutes, so each image carries a fetch
function that the pipeline calls before anything is deleted (it fetches first, then removes).
"""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import yarl

from bot.consent.model import ChatRef, UserRef
from bot.domain import Post, PostImage

#: The platform name in every ChatRef and UserRef this package makes.
PLATFORM = "discord"
_DICOM_SUFFIXES = (".dcm", ".dicom")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif")

#: Hosts whose image embeds are Discord's own copies of uploaded files. Other hosts are not fetched: the bot
#: must not become a way to make requests to arbitrary addresses.
_DISCORD_MEDIA_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})


def _is_image(attachment: discord.Attachment) -> bool:
    name = attachment.filename.lower()
    kind = (attachment.content_type or "").lower()
    return (
        kind.startswith("image/")
        or kind == "application/dicom"
        or name.endswith(_DICOM_SUFFIXES + _IMAGE_SUFFIXES)
    )


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


def _own_media(url: str | None) -> bool:
    if not url:
        return False
    host = yarl.URL(url).host
    return host in _DISCORD_MEDIA_HOSTS or host == yarl.URL(discord.http.Route.BASE).host


def embed_images(message: discord.Message, client: discord.Client) -> list[PostImage]:
    """The message's image embeds that are Discord's own copies of uploaded files (other hosts skipped)."""
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
    images = tuple(attached + (embed_images(message, client) if client is not None else []))
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
