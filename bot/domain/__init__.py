"""The vocabulary every layer shares: posts, decisions, review items, audit events, the clock. Pure values.

A platform adapter turns an SDK update into a :class:`Post`; the pipeline turns it into a :class:`Decision`
and asks the adapter to carry it out; a quarantined post becomes a :class:`QuarantinedPost` for moderators.
"""

from bot.domain.audit import AuditEvent
from bot.domain.clock import Clock, utc_now
from bot.domain.decision import (
    ConsentOutcome,
    ConsentState,
    Decision,
    DetectionOutcome,
    DetectionState,
    Verdict,
)
from bot.domain.post import FetchBytes, Post, PostImage
from bot.domain.review import ApprovedPost, QuarantinedPost, QuarantineStatus

__all__ = [
    "ApprovedPost",
    "AuditEvent",
    "Clock",
    "ConsentOutcome",
    "ConsentState",
    "Decision",
    "DetectionOutcome",
    "DetectionState",
    "FetchBytes",
    "Post",
    "PostImage",
    "QuarantineStatus",
    "QuarantinedPost",
    "Verdict",
    "utc_now",
]
