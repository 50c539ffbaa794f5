from datetime import timedelta
from pathlib import Path

import pytest

from bot.consent.model import ChatRef, Purpose, UserRef
from bot.core.policy import GroupPolicy, Mode, decide, load_policy_file, parse_policy
from bot.domain import ConsentOutcome, ConsentState, DetectionOutcome, DetectionState, Verdict
from bot.errors import PolicyError

STRICT = GroupPolicy()
ONLY = GroupPolicy(mode=Mode.IDENTIFYING_ONLY)
QUARANTINING = GroupPolicy(identifying_action=Verdict.QUARANTINE)
MONITOR = GroupPolicy(mode=Mode.MONITOR)

IDENT = DetectionOutcome(DetectionState.IDENTIFYING, frozenset({"face"}))
CLEAN = DetectionOutcome(DetectionState.CLEAN)
FAILED = DetectionOutcome(DetectionState.FAILED, failures=("timeout",))
UNCHECKABLE = DetectionOutcome(DetectionState.UNCHECKABLE, failures=("UnsupportedImageError",))
DELETING_UNCHECKED = GroupPolicy(unchecked_files=Verdict.DELETE)
ALLOWING_UNCHECKED = GroupPolicy(mode=Mode.IDENTIFYING_ONLY, unchecked_files=Verdict.ALLOW)


def consent(state: ConsentState) -> ConsentOutcome:
    return ConsentOutcome(state)


D, Q, A = Verdict.DELETE, Verdict.QUARANTINE, Verdict.ALLOW

# (policy, consent state, detection, verdict, reason, record_use, retry)
TABLE = [
    # valid consent whose scope covers the post: allow and record the use, whatever detection says
    (STRICT, ConsentState.VALID, IDENT, A, "consent-valid", True, False),
    (STRICT, ConsentState.VALID, CLEAN, A, "consent-valid", True, False),
    (STRICT, ConsentState.VALID, FAILED, A, "consent-valid", True, False),
    (ONLY, ConsentState.VALID, IDENT, A, "consent-valid", True, False),
    # a token that does not work: removed, the poster is told which problem
    *[
        (STRICT, state, IDENT, D, f"consent-{state.value}", False, False)
        for state in (
            ConsentState.REVOKED,
            ConsentState.EXPIRED,
            ConsentState.UNKNOWN,
            ConsentState.MALFORMED,
            ConsentState.OUT_OF_SCOPE,
            ConsentState.USED_UP,
        )
    ],
    (STRICT, ConsentState.REVOKED, CLEAN, Q, "consent-revoked", False, False),
    (ONLY, ConsentState.REVOKED, CLEAN, Q, "consent-revoked", False, False),
    (ONLY, ConsentState.MALFORMED, IDENT, D, "consent-malformed", False, False),
    (QUARANTINING, ConsentState.EXPIRED, IDENT, Q, "consent-expired", False, False),
    (STRICT, ConsentState.USED_UP, FAILED, Q, "consent-used_up", False, False),
    # no consent, identifying: delete, or quarantine where the group says so
    (STRICT, ConsentState.MISSING, IDENT, D, "no-consent-identifying", False, False),
    (ONLY, ConsentState.MISSING, IDENT, D, "no-consent-identifying", False, False),
    (QUARANTINING, ConsentState.MISSING, IDENT, Q, "no-consent-identifying", False, False),
    # no consent, nothing identifying: quarantine in strict (one-click restore), allow in identifying-only
    (STRICT, ConsentState.MISSING, CLEAN, Q, "no-consent-strict", False, False),
    (ONLY, ConsentState.MISSING, CLEAN, A, "no-consent-not-identifying", False, False),
    # failures: quarantine and retry, never allow
    (STRICT, ConsentState.MISSING, FAILED, Q, "detection-failed", False, True),
    (ONLY, ConsentState.MISSING, FAILED, Q, "detection-failed", False, True),
    (STRICT, ConsentState.UNAVAILABLE, CLEAN, Q, "consent-unavailable", False, True),
    (ONLY, ConsentState.UNAVAILABLE, CLEAN, Q, "consent-unavailable", False, True),
    (STRICT, ConsentState.UNAVAILABLE, IDENT, Q, "consent-unavailable", False, True),
    # a file the bot cannot look into (a zip, a .docx): the group's unchecked_files setting, no retry
    (STRICT, ConsentState.MISSING, UNCHECKABLE, Q, "unchecked-file", False, False),
    (ONLY, ConsentState.MISSING, UNCHECKABLE, Q, "unchecked-file", False, False),
    (DELETING_UNCHECKED, ConsentState.MISSING, UNCHECKABLE, D, "unchecked-file", False, False),
    (ALLOWING_UNCHECKED, ConsentState.MISSING, UNCHECKABLE, A, "unchecked-file", False, False),
    (STRICT, ConsentState.VALID, UNCHECKABLE, A, "consent-valid", True, False),
    (STRICT, ConsentState.REVOKED, UNCHECKABLE, Q, "consent-revoked", False, False),
]


@pytest.mark.parametrize(
    ("policy", "state", "detection", "verdict", "reason", "record_use", "retry"),
    TABLE,
    ids=[f"{p.mode.value}-{p.identifying_action.value}-{s.value}-{d.state.value}" for p, s, d, *_ in TABLE],
)
def test_decision_table(
    policy: GroupPolicy,
    state: ConsentState,
    detection: DetectionOutcome,
    verdict: Verdict,
    reason: str,
    record_use: bool,
    retry: bool,
) -> None:
    decision = decide(policy, consent(state), detection)
    assert decision.verdict is verdict
    assert decision.reason == reason
    assert decision.record_use is record_use
    assert decision.retry is retry
    assert decision.notify_poster is (verdict is not Verdict.ALLOW)


@pytest.mark.parametrize(
    ("state", "detection", "would_have"),
    [
        (ConsentState.MISSING, IDENT, D),
        (ConsentState.MISSING, CLEAN, Q),
        (ConsentState.REVOKED, IDENT, D),
        (ConsentState.UNAVAILABLE, CLEAN, Q),
    ],
)
def test_monitor_mode_removes_nothing_and_says_what_would_have_happened(
    state: ConsentState, detection: DetectionOutcome, would_have: Verdict
) -> None:
    decision = decide(MONITOR, consent(state), detection)
    assert decision.verdict is Verdict.MONITOR
    assert decision.would_have is would_have
    assert not decision.notify_poster


def test_unchecked_files_and_exempt_posters_are_read_from_the_policy_file() -> None:
    book = parse_policy(
        {
            "default": {"unchecked_files": "delete"},
            "groups": {"discord:5": {"unchecked_files": "allow", "exempt_posters": ["discord:777"]}},
        }
    )
    assert book.default.unchecked_files is Verdict.DELETE
    group = book.for_chat(ChatRef("discord", "5"))
    assert group.unchecked_files is Verdict.ALLOW
    assert group.exempt_posters == (UserRef("discord", "777"),)
    with pytest.raises(PolicyError, match="unchecked_files"):
        parse_policy({"default": {"unchecked_files": "ignore"}})
    with pytest.raises(PolicyError, match="exempt_posters"):
        parse_policy({"default": {"exempt_posters": ["not a reference"]}})


def test_monitor_mode_still_allows_and_records_valid_consents() -> None:
    decision = decide(MONITOR, consent(ConsentState.VALID), IDENT)
    assert decision.verdict is Verdict.ALLOW
    assert decision.record_use


def test_example_policy_file_parses() -> None:
    book = load_policy_file(Path(__file__).resolve().parents[2] / "config" / "policy.example.toml")
    assert book.default.mode is Mode.STRICT
    group = book.for_chat(ChatRef("telegram", "-1001234567890"))
    assert group.mode is Mode.IDENTIFYING_ONLY
    assert group.identifying_action is Verdict.QUARANTINE
    assert group.review_chat == ChatRef("telegram", "-1009876543210")
    assert group.moderators == (UserRef("telegram", "11111111"), UserRef("telegram", "22222222"))
    assert group.retention == timedelta(days=7)  # inherited from [default]
    assert book.for_chat(ChatRef("discord", "123456789012345678")).purpose is Purpose.TEACHING
    assert book.for_chat(ChatRef("telegram", "-1")) is book.default


def test_defaults_without_a_file() -> None:
    book = load_policy_file(None)
    assert book.default.mode is Mode.STRICT
    assert book.default.identifying_action is Verdict.DELETE
    assert book.default.retention == timedelta(days=7)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"default": {"mode": "lenient"}}, "lenient"),
        ({"default": {"identifying_action": "allow"}}, "identifying_action"),
        ({"default": {"retention_days": 0}}, "retention_days"),
        ({"default": {"colour": "blue"}}, "colour"),
        ({"groups": {"not-a-chat": {}}}, "not-a-chat"),
        ({"defaults": {}}, "defaults"),
        ({"default": {"language": "de"}}, "language"),
    ],
)
def test_invalid_policy_files_say_where(data: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(data)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy_file(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[default\nmode=")
    with pytest.raises(PolicyError, match=r"broken\.toml"):
        load_policy_file(broken)


def test_with_mode_changes_one_group_only() -> None:
    book = parse_policy({})
    chat = ChatRef("telegram", "-5")
    changed = book.with_mode(chat, Mode.MONITOR)
    assert changed.for_chat(chat).mode is Mode.MONITOR
    assert changed.for_chat(ChatRef("telegram", "-6")).mode is Mode.STRICT


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"groups": {"telegram:-5": {"retention_days": 400}}},
            r"^policy\.toml \[groups\.'telegram:-5'\]: key 'retention_days': .*365 \(got 400\)$",
        ),
        (
            {"default": {"mode": "lenient"}},
            r"^policy\.toml \[default\]: key 'mode': Input should be 'strict', .* \(got 'lenient'\)$",
        ),
        ({"default": {"colour": "blue"}}, r"^policy\.toml \[default\]: unknown key 'colour' \(known: mode, "),
        (
            {"groups": {"telegram:-5": {"moderators": ["telegram:1", "bob"]}}},
            r"\[groups\.'telegram:-5'\]: key 'moderators\[1\]': expected PLATFORM:USER_ID.*\(got 'bob'\)",
        ),
        ({"default": {"review_chat": "nowhere"}}, r"\[default\]: key 'review_chat': expected PLATFORM:ID"),
        ({"groups": {"telegram:-5": "strict"}}, r"^policy\.toml \[groups\.'telegram:-5'\]: expected a table"),
    ],
)
def test_error_messages_name_the_file_the_table_and_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(data, source="policy.toml")


def test_every_problem_is_reported_and_the_file_named(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[default]\nlanguage = "de"\nretention_days = 0\n')
    with pytest.raises(PolicyError) as caught:
        load_policy_file(path)
    assert str(caught.value).count(str(path)) == 2
    assert "key 'language'" in str(caught.value)
    assert "key 'retention_days'" in str(caught.value)


def test_groups_inherit_unset_keys_and_small_counts_are_clamped() -> None:
    book = parse_policy(
        {
            "default": {"language": "en", "retention_days": 30, "review_chat": "telegram:-9"},
            "groups": {"telegram:-5": {"mode": "monitor", "review_chat": "", "repeat_offence_threshold": 0}},
        }
    )
    group = book.for_chat(ChatRef("telegram", "-5"))
    assert group.mode is Mode.MONITOR
    assert group.language == "en"
    assert group.retention == timedelta(days=30)
    assert group.review_chat is None  # "" means the moderators' private chats
    assert group.repeat_offence_threshold == 1
    assert parse_policy({"default": {"notice_ttl_s": 1}}).default.notice_ttl_s == 5
