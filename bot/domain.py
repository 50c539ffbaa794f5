"""Platform-neutral values the pipeline works with. Pure: no SDK, no I/O.

A platform adapter turns an SDK update into a :class:`Post`; the pipeline turns it into a :class:`Decision`
and asks the adapter to carry it out.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.consent.model import ChatRef, ScopeProblem, UserRef
from bot.consent.token import TokenProblem

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
    def message_ids(self) -> tuple[str, ...]:
        """Every platform message of the post (an album spans several), in order, without repeats."""
        ids = [self.message_id] + [image.message_id for image in self.images if image.message_id]
        return tuple(dict.fromkeys(ids))


class Verdict(enum.StrEnum):
    """What happens to a post. Values are stable: they are in the audit log."""

    ALLOW = "allow"
    QUARANTINE = "quarantine"
    DELETE = "delete"
    MONITOR = "monitor"  # monitor mode: nothing removed, moderators told what would have happened


class ConsentState(enum.StrEnum):
    """The consent situation of a post, as the reminder explains it."""

    VALID = "valid"
    MISSING = "missing"
    MALFORMED = "malformed"
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    OUT_OF_SCOPE = "out_of_scope"
    USED_UP = "used_up"
    UNAVAILABLE = "unavailable"  # the consent API could not answer


@dataclass(frozen=True, slots=True)
class ConsentOutcome:
    """What the caption's token turned out to be."""

    state: ConsentState
    token_fingerprint: str | None = None  # keyed hash, never the token
    token_problem: TokenProblem | None = None
    scope_problem: ScopeProblem | None = None


class DetectionState(enum.StrEnum):
    """Whether detection gave a trustworthy answer for every image."""

    CLEAN = "clean"  # nothing identifying in any image
    IDENTIFYING = "identifying"
    FAILED = "failed"  # a detector failed, timed out, or an image could not be fetched or decoded


@dataclass(frozen=True, slots=True)
class DetectionOutcome:
    """What the detectors saw across all images of a post (kinds only, never content)."""

    state: DetectionState
    kinds: frozenset[str] = frozenset()
    failures: tuple[str, ...] = ()  # short reasons without patient data ("timeout", "CorruptImageError")


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer for a post, and what to tell whom."""

    verdict: Verdict
    reason: str  # stable machine-readable reason, e.g. "no-consent-identifying" (see bot/policy.py)
    consent: ConsentOutcome
    detection: DetectionOutcome
    record_use: bool = False  # valid consent: record the use with the registry
    retry: bool = False  # a failure: quarantine now, try again later
    notify_poster: bool = True
    #: What the policy would have done outside monitor mode (for the moderators' notice).
    would_have: Verdict | None = None
