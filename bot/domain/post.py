"""A post as every platform adapter describes it: the pipeline's input. Pure: no SDK, no I/O."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.consent.model import ChatRef, UserRef

#: Fetches an image's bytes from the platform (called off the hot path, may raise).
FetchBytes = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class PostImage:
    """One image of a post (a photo, an album item, a file, a frame source, a DICOM file)."""

    image_id: str  # platform file id, unique within the post
    fetch: FetchBytes = field(compare=False, repr=False)
    file_name: str = ""
    size_bytes: int | None = None
    #: Set by the adapter when the platform will not let the bot download it (Telegram's 20 MB limit).
    unavailable_reason: str | None = None
    #: The platform message that carries this image when it is not the post's own (album items).
    message_id: str | None = None
    #: A picture that comes with the message rather than being the poster's own: a link's preview (a web
    #: page's thumbnail), a sticker from a pack. Judged for what it shows (a face, a name, a failure fails
    #: closed), but strict mode's "every image needs consent" does not apply: sharing an article or a 👍
    #: sticker is not posting a patient's image.
    incidental: bool = False


@dataclass(frozen=True, slots=True)
class Post:
    """A message with images, as every platform adapter describes it."""

    chat: ChatRef
    message_id: str
    author: UserRef
    author_name: str  # display name, shown to moderators only
    caption: str
    images: tuple[PostImage, ...]
    sent_at: datetime
    album_id: str | None = None
    edited: bool = False
    #: Language the platform reports for the author ("fr", "en-GB"...), for the reminder.
    author_language: str | None = None
    thread_id: str | None = None
    chat_title: str | None = None

    @property
    def key(self) -> str:
        """Stable identity of this platform message (for at-most-once handling)."""
        return f"{self.chat}:{self.message_id}"

    @property
    def posts_media(self) -> bool:
        """Whether the poster posted a medium of their own (not only link previews or stickers)."""
        return any(not image.incidental for image in self.images)

    @property
    def message_ids(self) -> tuple[str, ...]:
        """Every platform message of the post (an album spans several), in order, without repeats."""
        ids = [self.message_id] + [image.message_id for image in self.images if image.message_id]
        return tuple(dict.fromkeys(ids))
