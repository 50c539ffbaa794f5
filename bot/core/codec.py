"""The work log's payload: a Post's metadata (no image bytes), sealed (the caption may hold patient data).

The JSON schema is :class:`_PostPayload`; its field names and formats (references as ``platform:id`` text,
``sent_at`` in ISO 8601) are those payloads have always had, so that work accepted by an older version
still resumes after an upgrade.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator

from bot.consent.model import ChatRef, UserRef
from bot.core.ports import Platform
from bot.domain import Post, PostImage


def _parse_time(value: Any) -> datetime:
    # datetime.fromisoformat as before, not pydantic's parser: the Post gets the same tzinfo objects it had.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise ValueError("sent_at must be an ISO 8601 date and time")


_IsoDateTime = Annotated[
    datetime, PlainValidator(_parse_time), PlainSerializer(datetime.isoformat, return_type=str)
]


class _ImagePayload(BaseModel):
    """A PostImage without its fetch callable (the platform adapter makes a new one)."""

    # Ignore rather than forbid unknown keys: a payload written by a newer version still resumes here.
    model_config = ConfigDict(frozen=True)

    image_id: str
    file_name: str
    size_bytes: int | None
    unavailable_reason: str | None
    message_id: str | None
    incidental: bool = False  # absent from payloads written before incidental pictures were told apart


class _PostPayload(BaseModel):
    """A Post's metadata as stored in the work log (every field required, as older payloads have them)."""

    model_config = ConfigDict(frozen=True)

    chat: str
    message_id: str
    author: str
    author_name: str
    caption: str
    sent_at: _IsoDateTime
    album_id: str | None
    edited: bool
    author_language: str | None
    thread_id: str | None
    chat_title: str | None
    images: tuple[_ImagePayload, ...]


class PayloadCodec:
    """Serialises a Post's metadata for the work log, encrypted (the caption may hold patient data)."""

    def __init__(self, encrypt: Callable[[bytes], bytes], decrypt: Callable[[bytes], bytes]) -> None:
        self._encrypt = encrypt
        self._decrypt = decrypt

    def encode(self, post: Post) -> bytes:
        """Encrypted JSON of everything but the image bytes."""
        payload = _PostPayload(
            chat=str(post.chat),
            message_id=post.message_id,
            author=str(post.author),
            author_name=post.author_name,
            caption=post.caption,
            sent_at=post.sent_at,
            album_id=post.album_id,
            edited=post.edited,
            author_language=post.author_language,
            thread_id=post.thread_id,
            chat_title=post.chat_title,
            images=tuple(
                _ImagePayload(
                    image_id=image.image_id,
                    file_name=image.file_name,
                    size_bytes=image.size_bytes,
                    unavailable_reason=image.unavailable_reason,
                    message_id=image.message_id,
                    incidental=image.incidental,
                )
                for image in post.images
            ),
        )
        return self._encrypt(payload.model_dump_json().encode())

    def decode(self, payload: bytes, platforms: dict[str, Platform]) -> Post:
        """Rebuild the Post; image downloads are re-created by the platform adapter.

        Raises ValueError("undecodable work-log payload") for a payload that does not parse, and lets the
        decryption's own error through.
        """
        plaintext = self._decrypt(payload)
        try:
            body = _PostPayload.model_validate_json(plaintext)
            chat = ChatRef.parse(body.chat)
            platform = platforms[chat.platform]
            author = UserRef.parse(body.author)
        except (KeyError, ValueError) as exc:  # ValidationError is a ValueError; KeyError: unknown platform
            raise ValueError("undecodable work-log payload") from exc
        return Post(
            chat=chat,
            message_id=body.message_id,
            author=author,
            author_name=body.author_name,
            caption=body.caption,
            images=tuple(
                PostImage(
                    image_id=image.image_id,
                    fetch=platform.fetcher(chat, image.image_id),
                    file_name=image.file_name,
                    size_bytes=image.size_bytes,
                    unavailable_reason=image.unavailable_reason,
                    message_id=image.message_id,
                    incidental=image.incidental,
                )
                for image in body.images
            ),
            sent_at=body.sent_at,
            album_id=body.album_id,
            edited=body.edited,
            author_language=body.author_language,
            thread_id=body.thread_id,
            chat_title=body.chat_title,
        )
