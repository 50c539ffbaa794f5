"""What the pipeline concludes about a post: consent, detection, and the policy's decision. Pure."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.consent.model import ScopeProblem, TokenProblem


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
    #: The poster had too many tokens looked up lately (bot.core.poster_limit): not asked, fails closed.
    RATE_LIMITED = "rate_limited"


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
    #: A file of a kind the bot cannot look into (an archive, an office document, audio): no retry can help,
    #: so the group's ``unchecked_files`` setting decides.
    UNCHECKABLE = "uncheckable"


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
    reason: str  # stable machine-readable reason, e.g. "no-consent-identifying" (see bot/core/policy.py)
    consent: ConsentOutcome
    detection: DetectionOutcome
    record_use: bool = False  # valid consent: record the use with the registry
    retry: bool = False  # a failure: quarantine now, try again later
    notify_poster: bool = True
    #: What the policy would have done outside monitor mode (for the moderators' notice).
    would_have: Verdict | None = None
