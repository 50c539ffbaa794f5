"""Per-group policy and the decision table. Pure: no I/O except reading the TOML policy file.

The decision table (also in the README, tested row by row in tests/bot/test_policy.py):

| consent                                   | detection    | strict             | identifying-only   |
|-------------------------------------------|--------------|--------------------|--------------------|
| valid (group, poster, date, purpose, count) | any        | allow + record use | allow + record use |
| revoked, expired, unknown, mistyped,      | identifying  | identifying action | identifying action |
|   out of scope, used up                   | clean/failed | quarantine         | quarantine         |
| none                                      | identifying  | identifying action | identifying action |
| none                                      | clean        | quarantine         | allow              |
| none                                      | failed       | quarantine + retry | quarantine + retry |
| the consent API could not answer          | any          | quarantine + retry | quarantine + retry |

"identifying action" is delete by default, quarantine when the group says so. A quoted token that does not
work means the poster believes the image needs consent, so it is removed even where consent is optional.
Monitor mode computes the strict verdict, removes nothing, and tells the moderators what would have happened.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.consent.model import ChatRef, Purpose, UserRef
from bot.domain import ConsentOutcome, ConsentState, Decision, DetectionOutcome, DetectionState, Verdict


class Mode(enum.StrEnum):
    """How strictly a group applies the consent rule."""

    STRICT = "strict"  # every image needs a valid consent (the law's rule; the default)
    IDENTIFYING_ONLY = "identifying-only"  # only images with identifying features need one
    MONITOR = "monitor"  # nothing removed; moderators see what would have happened


class PolicyError(ValueError):
    """The policy file is invalid; the message says where."""


@dataclass(frozen=True, slots=True)
class GroupPolicy:
    """One group's rules. Defaults are the safe choice."""

    mode: Mode = Mode.STRICT
    #: What to do with an identifying image without consent: delete (default) or quarantine.
    identifying_action: Verdict = Verdict.DELETE
    language: str = "fr"
    retention: timedelta = timedelta(days=7)
    purpose: Purpose = Purpose.ADVICE
    #: Where review notices go ("telegram:-100…"); None means the moderators' private chats.
    review_chat: ChatRef | None = None
    moderators: tuple[UserRef, ...] = ()
    repeat_offence_threshold: int = 3
    notice_ttl_s: int = 60


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """The default policy plus per-group overrides."""

    default: GroupPolicy = GroupPolicy()
    groups: Mapping[str, GroupPolicy] = field(default_factory=dict)

    def for_chat(self, chat: ChatRef) -> GroupPolicy:
        """The policy of ``chat`` (its own section, else the default)."""
        return self.groups.get(str(chat), self.default)

    def with_mode(self, chat: ChatRef, mode: Mode) -> PolicyBook:
        """A copy where ``chat`` uses ``mode`` (for the moderators' /policy command)."""
        groups = dict(self.groups)
        groups[str(chat)] = replace(self.for_chat(chat), mode=mode)
        return PolicyBook(self.default, groups)


_REMOVAL_STATES = frozenset(
    {
        ConsentState.MALFORMED,
        ConsentState.REVOKED,
        ConsentState.EXPIRED,
        ConsentState.UNKNOWN,
        ConsentState.OUT_OF_SCOPE,
        ConsentState.USED_UP,
    }
)


def decide(policy: GroupPolicy, consent: ConsentOutcome, detection: DetectionOutcome) -> Decision:
    """Apply the decision table (module docstring) to one post."""
    strict = policy.mode is not Mode.IDENTIFYING_ONLY
    decision = _table(policy, consent, detection, strict=strict)
    if policy.mode is Mode.MONITOR and decision.verdict is not Verdict.ALLOW:
        return replace(decision, verdict=Verdict.MONITOR, would_have=decision.verdict, notify_poster=False)
    return decision


def _table(
    policy: GroupPolicy, consent: ConsentOutcome, detection: DetectionOutcome, *, strict: bool
) -> Decision:
    def made(verdict: Verdict, reason: str, **extra: Any) -> Decision:
        return Decision(verdict=verdict, reason=reason, consent=consent, detection=detection, **extra)

    identifying = detection.state is DetectionState.IDENTIFYING
    if consent.state is ConsentState.VALID:
        return made(Verdict.ALLOW, "consent-valid", record_use=True, notify_poster=False)
    if consent.state is ConsentState.UNAVAILABLE:
        return made(Verdict.QUARANTINE, "consent-unavailable", retry=True)
    if consent.state in _REMOVAL_STATES:
        if identifying:
            return made(policy.identifying_action, f"consent-{consent.state.value}")
        return made(Verdict.QUARANTINE, f"consent-{consent.state.value}")
    # No token at all.
    if detection.state is DetectionState.FAILED:
        return made(Verdict.QUARANTINE, "detection-failed", retry=True)
    if identifying:
        return made(policy.identifying_action, "no-consent-identifying")
    if strict:
        return made(Verdict.QUARANTINE, "no-consent-strict")
    return made(Verdict.ALLOW, "no-consent-not-identifying", notify_poster=False)


# -- the TOML policy file ----------------------------------------------------------------------------

_KEYS = {
    "mode",
    "identifying_action",
    "language",
    "retention_days",
    "purpose",
    "review_chat",
    "moderators",
    "repeat_offence_threshold",
    "notice_ttl_s",
}


def load_policy_file(path: Path | None) -> PolicyBook:
    """Read a policy file (see config/policy.example.toml); None or a missing default gives the defaults."""
    if path is None:
        return PolicyBook()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file {path} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path}: {exc}") from exc
    return parse_policy(data, source=str(path))


def parse_policy(data: Mapping[str, Any], *, source: str = "policy") -> PolicyBook:
    """Build a PolicyBook from parsed TOML: a ``[default]`` table and ``[groups."platform:chat"]`` tables."""
    unknown = set(data) - {"default", "groups"}
    if unknown:
        raise PolicyError(f"{source}: unknown section(s) {sorted(unknown)}")
    default = _group(data.get("default", {}), GroupPolicy(), f"{source} [default]")
    groups: dict[str, GroupPolicy] = {}
    for name, table in dict(data.get("groups", {})).items():
        try:
            chat = ChatRef.parse(name)
        except ValueError as exc:
            raise PolicyError(f"{source}: group name {name!r}: {exc}") from exc
        groups[str(chat)] = _group(table, default, f"{source} [groups.{name!r}]")
    return PolicyBook(default, groups)


def _group(table: Mapping[str, Any], base: GroupPolicy, where: str) -> GroupPolicy:
    if not isinstance(table, Mapping):
        raise PolicyError(f"{where}: expected a table")
    unknown = set(table) - _KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(_KEYS)}")
    try:
        changes: dict[str, Any] = {}
        if "mode" in table:
            changes["mode"] = Mode(table["mode"])
        if "identifying_action" in table:
            action = Verdict(table["identifying_action"])
            if action not in (Verdict.DELETE, Verdict.QUARANTINE):
                raise ValueError("identifying_action must be 'delete' or 'quarantine'")
            changes["identifying_action"] = action
        if "language" in table:
            if table["language"] not in ("fr", "en"):
                raise ValueError("language must be 'fr' or 'en'")
            changes["language"] = table["language"]
        if "retention_days" in table:
            days = int(table["retention_days"])
            if not 0 < days <= 365:
                raise ValueError("retention_days must be between 1 and 365")
            changes["retention"] = timedelta(days=days)
        if "purpose" in table:
            changes["purpose"] = Purpose(table["purpose"])
        if "review_chat" in table:
            changes["review_chat"] = (
                ChatRef.parse(str(table["review_chat"])) if table["review_chat"] else None
            )
        if "moderators" in table:
            changes["moderators"] = tuple(UserRef.parse(str(m)) for m in table["moderators"])
        if "repeat_offence_threshold" in table:
            changes["repeat_offence_threshold"] = max(1, int(table["repeat_offence_threshold"]))
        if "notice_ttl_s" in table:
            changes["notice_ttl_s"] = max(5, int(table["notice_ttl_s"]))
    except (ValueError, TypeError) as exc:
        raise PolicyError(f"{where}: {exc}") from exc
    return replace(base, **changes)
