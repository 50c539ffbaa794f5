"""What moderators review: a quarantined post and an approved one. Values only; the store is in storage."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from bot.consent.model import ChatRef, UserRef


class QuarantineStatus(enum.StrEnum):
    """Where a quarantined item stands. Only a pending item still holds images and a caption."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PURGED = "purged"  # deleted without a moderator: its retention ran out, or the bot settled it


@dataclass(frozen=True, slots=True)
class QuarantinedPost:
    """What the quarantine knows of an item, decrypted (images excepted: see ``images``)."""

    item_id: str
    chat: ChatRef
    message_id: str
    thread_id: str | None
    author: UserRef
    author_name: str = field(repr=False)
    #: The caption; None once the item is no longer pending (it was deleted with the images).
    caption: str | None = field(repr=False)
    sent_at: datetime
    finding_kinds: tuple[str, ...]
    reason: str
    language: str
    image_count: int
    created_at: datetime
    expires_at: datetime
    #: PURGED as soon as ``expires_at`` has passed, even before ``purge_expired`` deleted the blobs.
    status: QuarantineStatus
    key_id: str  # the key that encrypted the item (rotation: which items still need an old key)
    decided_at: datetime | None = None
    decided_by: UserRef | None = None


@dataclass(frozen=True, slots=True)
class ApprovedPost:
    """An approved item, decrypted for reposting; the quarantine has already deleted its copy."""

    item_id: str
    chat: ChatRef
    message_id: str
    thread_id: str | None
    author: UserRef
    author_name: str = field(repr=False)
    caption: str = field(repr=False)
    images: tuple[tuple[str, bytes], ...] = field(repr=False)  # (image id, bytes), in posting order
    language: str
