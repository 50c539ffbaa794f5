"""The consent record as the consent API describes it, and the pure scope check.

Pure: no I/O, no SDK. The reference registry, the HTTP client and the policy all speak these types.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class ConsentStatus(enum.StrEnum):
    """What the registry says of a token."""

    GRANTED = "granted"
    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


class Purpose(enum.StrEnum):
    """Why the patient allowed their image to be shared."""

    ADVICE = "advice"  # asking colleagues for an opinion on the case
    TEACHING = "teaching"
    PUBLICATION = "publication"


#: The group a consent covers when it covers any group of any platform.
ANY = "*"


def _split_ref(text: str, expected: str) -> tuple[str, str]:
    """``(platform, id)`` from ``platform:id``; the platform is case-insensitive."""
    platform, sep, ident = text.strip().partition(":")
    if not sep or not platform or not ident:
        raise ValueError(f"expected {expected}")
    return platform.lower(), ident


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat on a platform: ``telegram:-100123`` or ``discord:98765``; ``*`` as chat id means any chat."""

    platform: str
    chat_id: str

    @classmethod
    def parse(cls, text: str) -> ChatRef:
        """Parse ``PLATFORM:ID`` (or ``*`` for any chat of any platform)."""
        if text.strip() == ANY:
            return cls(ANY, ANY)
        return cls(*_split_ref(text, "PLATFORM:ID, for example telegram:-1001234"))

    def __str__(self) -> str:
        return ANY if self.platform == ANY else f"{self.platform}:{self.chat_id}"

    def covers(self, other: ChatRef) -> bool:
        """True when this reference (possibly a wildcard) includes ``other``."""
        if self.platform == ANY:
            return True
        return self.platform == other.platform and self.chat_id in (ANY, other.chat_id)


@dataclass(frozen=True, slots=True)
class UserRef:
    """A person on a platform: ``telegram:42``."""

    platform: str
    user_id: str

    @classmethod
    def parse(cls, text: str) -> UserRef:
        """Parse ``PLATFORM:USER_ID``."""
        return cls(*_split_ref(text, "PLATFORM:USER_ID, for example telegram:123456"))

    def __str__(self) -> str:
        return f"{self.platform}:{self.user_id}"

    def covers(self, other: UserRef) -> bool:
        """True when this reference (``platform:*`` = anyone on that platform) includes ``other``."""
        return self.platform == other.platform and self.user_id in (ANY, other.user_id)


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """What the consent API returns for a token. ``patient_ref`` is opaque: never a name."""

    status: ConsentStatus
    purposes: frozenset[Purpose] = frozenset()
    groups: tuple[ChatRef, ...] = ()
    clinicians: tuple[UserRef, ...] = ()
    valid_until: datetime | None = None
    max_images: int | None = None
    images_used: int = 0
    patient_ref: str = ""


@dataclass(frozen=True, slots=True)
class ConsentUse:
    """One image posted under a token (what the bot reports and the registry records)."""

    chat: ChatRef
    message_id: str
    image_sha256: str
    poster: UserRef
    purpose: Purpose


@dataclass(frozen=True, slots=True)
class Revocation:
    """A token revoked after the fact, known by its fingerprint (sha256 of the compact token)."""

    token_fingerprint: str
    revoked_at: datetime


class TokenProblem(enum.StrEnum):
    """Why something that looks like a token is not a valid one."""

    WRONG_LENGTH = "wrong_length"
    BAD_CHARACTER = "bad_character"
    BAD_CHECK = "bad_check"


class ScopeProblem(enum.StrEnum):
    """Why a consent does not cover a post. The values appear in reminders and the audit log."""

    REVOKED = "revoked"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    WRONG_GROUP = "wrong_group"
    WRONG_POSTER = "wrong_poster"
    WRONG_PURPOSE = "wrong_purpose"
    USED_UP = "used_up"


@dataclass(frozen=True, slots=True)
class ScopeRequest:
    """The post a consent is checked against."""

    chat: ChatRef
    poster: UserRef
    purpose: Purpose
    images: int
    at: datetime


def check_scope(record: ConsentRecord, request: ScopeRequest) -> ScopeProblem | None:
    """Return None when ``record`` covers ``request``, else the first problem found.

    Order matters for the reminder: the registry's own verdict (revoked, expired, unknown) first, then the
    date, then where, who, why and how many.
    """
    if record.status is ConsentStatus.REVOKED:
        return ScopeProblem.REVOKED
    if record.status is ConsentStatus.EXPIRED:
        return ScopeProblem.EXPIRED
    if record.status is ConsentStatus.UNKNOWN:
        return ScopeProblem.UNKNOWN
    if record.valid_until is not None and request.at >= record.valid_until:
        return ScopeProblem.EXPIRED
    if not any(group.covers(request.chat) for group in record.groups):
        return ScopeProblem.WRONG_GROUP
    # No clinician listed means nobody may post with it: a consent always names who shares the image.
    if not any(clinician.covers(request.poster) for clinician in record.clinicians):
        return ScopeProblem.WRONG_POSTER
    if request.purpose not in record.purposes:
        return ScopeProblem.WRONG_PURPOSE
    if record.max_images is not None and record.images_used + request.images > record.max_images:
        return ScopeProblem.USED_UP
    return None
