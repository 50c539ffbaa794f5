"""Telegram messages to the pipeline's neutral :class:`Post`.

Which file of a message the pipeline must look at (and whether the Bot API lets us download it), and how the
message's chat, author, caption, album and topic are described.

Every visual medium hands over its actual file, whatever name or MIME type the sender's client declared: the
scan engine tells the kind from the bytes and reports what it cannot check, and the policy removes that. A
thumbnail never stands in for its file, because it shows one frame the sender chose: a video can open on a
blank wall and show a face three seconds later (issue 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from telegram import Message

from bot.consent.model import ChatRef, UserRef
from bot.core.ports import Platform
from bot.domain import Post, PostImage

#: The platform's name in chat and user references.
PLATFORM = "telegram"
#: The Bot API refuses to let bots download files over 20 MB (a self-hosted Bot API server lifts it).
DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class MediaFile:
    """The file that holds what a message shows: its id, declared size and a name for the scan's hint."""

    file_id: str
    size: int | None
    name: str
    #: A sticker from a pack: judged for what it shows, outside strict mode's every-image rule.
    incidental: bool = False


def media_file_of(message: Message) -> MediaFile | None:
    """The file behind a message's photo, video, video note, animation, document or sticker; else None.

    Forwarded messages carry their media like any other, so they need no case of their own.
    """
    number = message.message_id
    if message.photo:
        largest = message.photo[-1]  # Telegram lists the sizes smallest first
        return MediaFile(largest.file_id, largest.file_size, f"photo-{number}.jpg")
    if message.video is not None:
        video = message.video
        return MediaFile(video.file_id, video.file_size, video.file_name or f"video-{number}.mp4")
    if message.video_note is not None:
        note = message.video_note
        return MediaFile(note.file_id, note.file_size, f"video-note-{number}.mp4")
    # Checked before the document: Telegram fills both for an animation (the same file, for old clients).
    if message.animation is not None:
        animation = message.animation
        return MediaFile(animation.file_id, animation.file_size, animation.file_name or f"animation-{number}")
    if message.document is not None:
        # Any document, whatever its MIME type or name: a DICOM sent as "IM0001", a JPEG named "scan.bin".
        document = message.document
        return MediaFile(document.file_id, document.file_size, document.file_name or f"document-{number}")
    # Audio and voice notes: the engine cannot look into them (speech can name a patient as well as a photo
    # can show one), so the group's unchecked_files setting decides, as for any file it cannot check.
    if message.audio is not None:
        audio = message.audio
        return MediaFile(audio.file_id, audio.file_size, audio.file_name or f"audio-{number}")
    if message.voice is not None:
        voice = message.voice
        return MediaFile(voice.file_id, voice.file_size, f"voice-{number}.ogg")
    if message.sticker is not None:
        sticker = message.sticker
        if sticker.is_animated:
            # TGS is vector Lottie, which no decoder of ours renders: its raster thumbnail is what we can see.
            thumb = sticker.thumbnail
            name = f"sticker-{number}.webp"
            return MediaFile(thumb.file_id, thumb.file_size, name, incidental=True) if thumb else None
        suffix = "webm" if sticker.is_video else "webp"
        return MediaFile(sticker.file_id, sticker.file_size, f"sticker-{number}.{suffix}", incidental=True)
    return None


#: Why a forwarded story or paid media cannot be checked (the pipeline fails closed on it).
UNREADABLE_MEDIA = "a story or paid media, which the Bot API does not let bots download"


def media_of(message: Message, platform: Platform, chat: ChatRef) -> PostImage | None:
    """The message's media file for the pipeline, marked unavailable when the Bot API will not serve it."""
    media = media_file_of(message)
    if media is None and (message.story is not None or message.paid_media is not None):
        # Group members see it; the bot cannot download it: a medium that cannot be checked, so removed.
        image_id = f"unreadable-{message.message_id}"
        return PostImage(
            image_id=image_id,
            fetch=platform.fetcher(chat, image_id),
            unavailable_reason=UNREADABLE_MEDIA,
            message_id=str(message.message_id),
        )
    if media is None:
        return None
    too_big = media.size is not None and media.size > DOWNLOAD_LIMIT_BYTES
    return PostImage(
        image_id=media.file_id,
        fetch=platform.fetcher(chat, media.file_id),
        file_name=media.name,
        size_bytes=media.size,
        # The pipeline fails closed on it: a file we may not download is a file we could not check.
        unavailable_reason="over the Bot API's 20 MB download limit" if too_big else None,
        message_id=str(message.message_id),
        incidental=media.incidental,
    )


def post_of(messages: list[Message], platform: Platform, *, edited: bool) -> Post | None:
    """One post from a message or an album's messages; None when they carry no media or have no author."""
    first = messages[0]
    chat = ChatRef(PLATFORM, str(first.chat.id))
    images = [image for m in messages if (image := media_of(m, platform, chat)) is not None]
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
