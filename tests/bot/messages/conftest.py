"""Builders shared by the message tests."""

from __future__ import annotations

from bot.domain import ConsentOutcome, ConsentState, Decision, DetectionOutcome, DetectionState, Verdict

NBSP = "\u00a0"


def plain(text: str) -> str:
    """The text with non-breaking spaces read as spaces, so that assertions stay readable."""
    return text.replace(NBSP, " ")


def decision(
    verdict: Verdict = Verdict.DELETE,
    consent: ConsentOutcome | None = None,
    detection: DetectionOutcome | None = None,
    *,
    would_have: Verdict | None = None,
    reason: str = "no-consent-identifying",
) -> Decision:
    """A decision with sensible defaults: no token, a face seen, deleted."""
    return Decision(
        verdict=verdict,
        reason=reason,
        consent=consent or ConsentOutcome(ConsentState.MISSING),
        detection=detection or DetectionOutcome(DetectionState.IDENTIFYING, frozenset({"face"})),
        would_have=would_have,
    )
