"""One audit event: what was decided about a post, by whom. The log that stores it is in storage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.consent.model import UserRef


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """One thing worth recording about a post. People are given in clear; the log pseudonymises them."""

    platform: str
    chat_id: str
    message_id: str
    poster: UserRef
    verdict: str  # a Verdict value
    reason: str  # the policy's machine-readable reason
    kinds: Sequence[str] = ()  # finding kinds, never content
    consent_state: str | None = None  # a ConsentState value
    token_fingerprint: str | None = None  # already a keyed hash: stored as given
    moderator: UserRef | None = None
    decision: str | None = None  # "approved", "rejected"... for a moderator's action
    time: datetime | None = None  # when it happened; None: when recorded
    posted_at: datetime | None = None  # when the post was sent (removal times); None: not a post
