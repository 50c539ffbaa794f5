"""The Metrics port: what the pipeline counts and times for operators (adapter: bot.observability.prometheus).

Only platform-neutral, patient-free facts are measured: a verdict, a duration, a kind of consent API error.
Never a caption, a token, a user or chat id, a finding's text: labels come from small fixed sets, so that a
metrics backend holds nothing a patient could be identified by (and its label cardinality stays bounded).
"""

from __future__ import annotations

import enum
from typing import Protocol

from bot.errors import (
    ConsentApiProtocolError,
    ConsentApiRateLimitedError,
    ConsentApiUnavailableError,
    ConsentLookupError,
)


class ConsentErrorKind(enum.StrEnum):
    """Why the consent API gave no trustworthy answer: the label values of ``consent_error``."""

    #: Down, unreachable, too slow, or 5xx after every retry (ConsentApiUnavailableError).
    UNAVAILABLE = "unavailable"
    #: Still 429 after every retry (ConsentApiRateLimitedError).
    RATE_LIMITED = "rate-limited"
    #: An answer we do not understand, or our key refused (ConsentApiProtocolError).
    BAD_RESPONSE = "bad-response"
    #: Any other ConsentLookupError (a new adapter's own subclass).
    OTHER = "other"


class Metrics(Protocol):
    """What the pipeline reports; every call is cheap, synchronous and must never raise."""

    def post_judged(self, verdict: str) -> None:
        """A post got its verdict (``Verdict.value``) and it was carried out: once per post."""
        ...

    def detection_seconds(self, seconds: float) -> None:
        """One post's detection stage took ``seconds`` (all its images; waiting for a scan slot included)."""
        ...

    def consent_error(self, kind: str) -> None:
        """The consent API failed to answer a lookup or a use record; ``kind`` is a ConsentErrorKind."""
        ...


class NoMetrics:
    """Measures nothing: the default where no metrics backend is wired (tests, scan, demo)."""

    def post_judged(self, verdict: str) -> None:
        """Ignore the verdict."""

    def detection_seconds(self, seconds: float) -> None:
        """Ignore the duration."""

    def consent_error(self, kind: str) -> None:
        """Ignore the error."""


def consent_error_kind(exc: ConsentLookupError) -> ConsentErrorKind:
    """The label for a consent API error, from its class (never from its message, which may change)."""
    # Rate-limited first: should it ever become a kind of "unavailable", the more precise label still wins.
    if isinstance(exc, ConsentApiRateLimitedError):
        return ConsentErrorKind.RATE_LIMITED
    if isinstance(exc, ConsentApiUnavailableError):
        return ConsentErrorKind.UNAVAILABLE
    if isinstance(exc, ConsentApiProtocolError):
        return ConsentErrorKind.BAD_RESPONSE
    return ConsentErrorKind.OTHER
