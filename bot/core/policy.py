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
| none                                      | uncheckable  | unchecked action   | unchecked action   |
| the consent API could not answer          | any          | quarantine + retry | quarantine + retry |
| the poster's lookup limit is spent        | any          | quarantine + retry | quarantine + retry |

"identifying action" is delete by default, quarantine when the group says so. "unchecked action" applies to
files the bot cannot look into (archives, office documents, audio): quarantine by default (removed, held for
the moderators), delete, or allow where a group accepts that risk. Posts by an exempted poster (an
integration's webhook, a bridge the moderators trust) are allowed without a look. A quoted token that does not
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
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from bot.consent.model import ChatRef, Purpose, UserRef
from bot.domain import ConsentOutcome, ConsentState, Decision, DetectionOutcome, DetectionState, Verdict
from bot.errors import PolicyError


class Mode(enum.StrEnum):
    """How strictly a group applies the consent rule."""

    STRICT = "strict"  # every image needs a valid consent (the law's rule; the default)
    IDENTIFYING_ONLY = "identifying-only"  # only images with identifying features need one
    MONITOR = "monitor"  # nothing removed; moderators see what would have happened


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
    #: What to do with a file the bot cannot check, without valid consent: quarantine, delete or allow.
    unchecked_files: Verdict = Verdict.QUARANTINE
    #: Posters never moderated (integrations, trusted bridges), by reference ("discord:<webhook id>").
    exempt_posters: tuple[UserRef, ...] = ()


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


class Policies:
    """The policies in force: the policy file's book plus the moderators' changes.

    Shared by the pipeline (read at every post) and the review service (which changes it): a change is
    effective at once.
    """

    def __init__(self, book: PolicyBook) -> None:
        self._book = book

    @property
    def book(self) -> PolicyBook:
        """The current book (immutable; replaced as a whole on each change)."""
        return self._book

    @property
    def groups(self) -> Mapping[str, GroupPolicy]:
        """Groups that have a policy of their own."""
        return self._book.groups

    def for_chat(self, chat: ChatRef) -> GroupPolicy:
        """The policy of ``chat`` now."""
        return self._book.for_chat(chat)

    def set(self, chat: ChatRef, policy: GroupPolicy) -> None:
        """Put ``policy`` in force for ``chat``."""
        groups = dict(self._book.groups)
        groups[str(chat)] = policy
        self._book = PolicyBook(self._book.default, groups)


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
    if consent.state is ConsentState.RATE_LIMITED:
        return made(Verdict.QUARANTINE, "consent-rate-limited", retry=True)
    if consent.state in _REMOVAL_STATES:
        if identifying:
            return made(policy.identifying_action, f"consent-{consent.state.value}")
        return made(Verdict.QUARANTINE, f"consent-{consent.state.value}")
    # No token at all.
    if detection.state is DetectionState.UNCHECKABLE:
        allowed = policy.unchecked_files is Verdict.ALLOW
        return made(policy.unchecked_files, "unchecked-file", notify_poster=not allowed)
    if detection.state is DetectionState.FAILED:
        return made(Verdict.QUARANTINE, "detection-failed", retry=True)
    if identifying:
        return made(policy.identifying_action, "no-consent-identifying")
    if strict:
        return made(Verdict.QUARANTINE, "no-consent-strict")
    return made(Verdict.ALLOW, "no-consent-not-identifying", notify_poster=False)


# -- the TOML policy file and stored group settings ------------------------------------------------

_DEFAULT = GroupPolicy()


def _chat_ref(text: str) -> str | None:
    # Checked here so that a bad reference is reported with its key; normalised ("" means none).
    return str(ChatRef.parse(text)) if text else None


def _user_ref(text: str) -> str:
    return str(UserRef.parse(text))


class GroupPolicySchema(BaseModel):
    """One group's settings as written: a policy file's table, or the JSON of a stored group setting.

    Every key is optional in a policy file; the keys it sets are :attr:`model_fields_set`, and the others
    are inherited (from ``[default]`` for a group table). Defaults mirror :class:`GroupPolicy`'s.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = _DEFAULT.mode
    identifying_action: Literal["delete", "quarantine"] = "delete"
    language: Literal["fr", "en"] = "fr"
    retention_days: int = Field(default=_DEFAULT.retention.days, ge=1, le=365)
    purpose: Purpose = _DEFAULT.purpose
    #: "" (or absent) means the moderators' private chats.
    review_chat: Annotated[str, AfterValidator(_chat_ref)] | None = None
    moderators: tuple[Annotated[str, AfterValidator(_user_ref)], ...] = ()
    repeat_offence_threshold: int = _DEFAULT.repeat_offence_threshold
    notice_ttl_s: int = _DEFAULT.notice_ttl_s
    unchecked_files: Literal["quarantine", "delete", "allow"] = "quarantine"
    exempt_posters: tuple[Annotated[str, AfterValidator(_user_ref)], ...] = ()

    # The two floors clamp rather than refuse: policy files have always been read that way, and a file that
    # loaded before must load after.
    @field_validator("repeat_offence_threshold")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        return max(1, value)

    @field_validator("notice_ttl_s")
    @classmethod
    def _at_least_five(cls, value: int) -> int:
        return max(5, value)

    def apply_to(self, base: GroupPolicy) -> GroupPolicy:
        """``base`` with the keys this table sets; the keys it leaves out keep ``base``'s values."""
        converted: dict[str, Any] = {
            "mode": self.mode,
            "identifying_action": Verdict(self.identifying_action),
            "language": self.language,
            "retention": timedelta(days=self.retention_days),
            "purpose": self.purpose,
            "review_chat": ChatRef.parse(self.review_chat) if self.review_chat else None,
            "moderators": tuple(UserRef.parse(text) for text in self.moderators),
            "repeat_offence_threshold": self.repeat_offence_threshold,
            "notice_ttl_s": self.notice_ttl_s,
            "unchecked_files": Verdict(self.unchecked_files),
            "exempt_posters": tuple(UserRef.parse(text) for text in self.exempt_posters),
        }
        renamed = {"retention_days": "retention"}
        given = {renamed.get(name, name) for name in self.model_fields_set}
        return replace(base, **{name: value for name, value in converted.items() if name in given})

    @classmethod
    def of(cls, policy: GroupPolicy, *, source: str = "group policy") -> GroupPolicySchema:
        """The complete settings of ``policy`` (every key set); raises :class:`PolicyError` if unwritable."""
        if policy.retention % timedelta(days=1):
            raise PolicyError(f"{source}: key 'retention': a whole number of days is needed")
        values = {
            "mode": policy.mode,
            "identifying_action": policy.identifying_action.value,
            "language": policy.language,
            "retention_days": policy.retention.days,
            "purpose": policy.purpose,
            "review_chat": str(policy.review_chat) if policy.review_chat else None,
            "moderators": [str(moderator) for moderator in policy.moderators],
            "repeat_offence_threshold": policy.repeat_offence_threshold,
            "notice_ttl_s": policy.notice_ttl_s,
            "unchecked_files": policy.unchecked_files.value,
            "exempt_posters": [str(poster) for poster in policy.exempt_posters],
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise policy_error(source, exc) from None


class _PolicyFile(BaseModel):
    """A whole policy file: ``[default]`` and ``[groups."platform:chat"]`` tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: GroupPolicySchema = GroupPolicySchema()
    groups: dict[str, GroupPolicySchema] = Field(default_factory=dict)


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
    try:
        document = _PolicyFile.model_validate(data)
    except ValidationError as exc:
        raise policy_error(source, exc, document=True) from None
    default = document.default.apply_to(GroupPolicy())
    groups: dict[str, GroupPolicy] = {}
    for name, table in document.groups.items():
        try:
            chat = ChatRef.parse(name)
        except ValueError as exc:
            raise PolicyError(f"{source}: group name {name!r}: {exc}") from exc
        groups[str(chat)] = table.apply_to(default)
    return PolicyBook(default, groups)


def group_policy_to_json(policy: GroupPolicy, *, source: str = "group policy") -> str:
    """The JSON of every setting of ``policy`` (what :func:`group_policy_from_json` reads back)."""
    return GroupPolicySchema.of(policy, source=source).model_dump_json()


def group_policy_from_json(text: str | bytes, *, source: str = "group policy") -> GroupPolicy:
    """The policy stored by :func:`group_policy_to_json`; raises :class:`PolicyError` naming the key."""
    try:
        return GroupPolicySchema.model_validate_json(text).apply_to(GroupPolicy())
    except ValidationError as exc:
        raise policy_error(source, exc) from None


def policy_error(source: str, exc: ValidationError, *, document: bool = False) -> PolicyError:
    """A PolicyError naming the file, the table and the key of every problem pydantic found.

    ``document``: the locations start at the file's sections (``default``, ``groups``, a group's name).
    """
    return PolicyError("; ".join(_describe(source, error, document=document) for error in exc.errors()))


def _describe(source: str, error: ErrorDetails, *, document: bool) -> str:
    loc = list(error["loc"])
    where = source
    if document and loc:
        section = str(loc.pop(0))
        if section == "groups" and loc:
            where = f"{source} [groups.{str(loc.pop(0))!r}]"
        elif section in _PolicyFile.model_fields:
            where = f"{source} [{section}]"
        else:
            known = ", ".join(_PolicyFile.model_fields)
            return f"{source}: unknown section {section!r} (known: {known})"
    if not loc:
        if error["type"] == "json_invalid":
            return f"{where}: not valid JSON ({error['msg']})"
        return f"{where}: expected a table of settings ({error['msg']})"
    key = str(loc[0]) + "".join(f"[{part}]" for part in loc[1:])
    if error["type"] == "extra_forbidden":
        known = ", ".join(GroupPolicySchema.model_fields)
        return f"{where}: unknown key {key!r} (known: {known})"
    # A failed validator's ``msg`` is "Value error, <text>": the ValueError's own text reads better.
    cause = error.get("ctx", {}).get("error")
    message = str(cause) if error["type"] == "value_error" and cause is not None else error["msg"]
    return f"{where}: key {key!r}: {message} (got {error['input']!r})"
