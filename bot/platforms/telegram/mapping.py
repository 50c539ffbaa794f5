"""Telegram messages to the pipeline's neutral :class:`Post`.

Which file of a message is its image (and whether the Bot API lets us download it), and how the message's
chat, author, caption, album and topic are described.
"""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Message

from bot.consent.model import ChatRef, UserRef
from bot.core.ports import Platform
from bot.domain import Post, PostImage

#: The platform's name in chat and user references.
PLATFORM = "telegram"
#: The Bot API refuses to let bots download files over 20 MB (a self-hosted Bot API server lifts it).
DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024
#: File names read as DICOM even when the sender's client gave no DICOM MIME type.
DICOM_SUFFIXES = (".dcm", ".dicom")


def image_of(message: Message, platform: Platform, chat: ChatRef) -> PostImage | None:
    """The image a message carries (largest photo size, image/DICOM document, GIF, sticker frame)."""
    file_id: str | None = None
    size: int | None = None
    name = ""
    if message.photo:
        largest = message.photo[-1]
        file_id, size, name = largest.file_id, largest.file_size, f"photo-{message.message_id}.jpg"
    elif message.document is not None:
        document = message.document
        mime = (document.mime_type or "").lower()
        file_name = (document.file_name or "").lower()
        if mime.startswith("image/") or mime == "application/dicom" or file_name.endswith(DICOM_SUFFIXES):
            file_id, size, name = document.file_id, document.file_size, document.file_name or ""
    elif message.animation is not None:
        animation = message.animation
        if (animation.mime_type or "") == "image/gif":
            file_id, size, name = (
                animation.file_id,
                animation.file_size,
                animation.file_name or "animation.gif",
            )
        elif animation.thumbnail is not None:  # an MP4 "GIF": its thumbnail is a frame we can read
            file_id, size, name = animation.thumbnail.file_id, animation.thumbnail.file_size, "frame.jpg"
    elif message.sticker is not None:
        sticker = message.sticker
        if not sticker.is_animated and not sticker.is_video:
            file_id, size, name = sticker.file_id, sticker.file_size, "sticker.webp"
        elif sticker.thumbnail is not None:
            file_id, size, name = sticker.thumbnail.file_id, sticker.thumbnail.file_size, "sticker-frame.webp"
    if file_id is None:
        return None
    too_big = size is not None and size > DOWNLOAD_LIMIT_BYTES
    return PostImage(
        image_id=file_id,
        fetch=platform.fetcher(chat, file_id),
        file_name=name,
        size_bytes=size,
        unavailable_reason="over the Bot API's 20 MB download limit" if too_big else None,
        message_id=str(message.message_id),
    )


def post_of(messages: list[Message], platform: Platform, *, edited: bool) -> Post | None:
    """One post from a message or an album's messages; None when they carry no image or have no author."""
    first = messages[0]
    chat = ChatRef(PLATFORM, str(first.chat.id))
    images = [image for m in messages if (image := image_of(m, platform, chat)) is not None]
    if not images or first.from_user is None:
        return None
    captions = [m.caption for m in messages if m.caption]
    author = first.from_user
    return Post(
        chat=chat,
        message_id=str(first.message_id),
        author=UserRef(PLATFORM, str(author.id)),
        author_name=author.full_name,
        caption="\n".join(captions),
        images=tuple(images),
        sent_at=first.date.astimezone(UTC) if first.date else datetime.now(UTC),
        album_id=first.media_group_id,
        edited=edited,
        author_language=author.language_code,
        thread_id=str(first.message_thread_id)
        if first.message_thread_id and first.is_topic_message
        else None,
        chat_title=first.chat.title,
    )
