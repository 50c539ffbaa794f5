"""The group notice and the moderators' messages."""

from __future__ import annotations

import pytest

from bot.consent.model import ScopeProblem, TokenProblem
from bot.domain import ConsentOutcome, ConsentState, DetectionOutcome, DetectionState, Verdict
from bot.messages import (
    Language,
    group_notice,
    kind_label,
    moderator_notice,
    monitor_notice,
    repeat_offence_alert,
)
from detectors.base import FindingKind
from tests.bot.messages.conftest import decision, plain

LANGUAGES: list[Language] = ["fr", "en"]
LINK = "https://t.me/consentguard_bot?start=g-1001234567890"
LONG_MENTION = "@" + "x" * 31  # Telegram usernames are at most 32 characters


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("link", [LINK, None, ""])
@pytest.mark.parametrize("mention", ["@dr_martin", LONG_MENTION, "<@123456789012345678>"])
def test_group_notice_is_short_and_says_nothing_of_the_patient(
    language: Language, link: str | None, mention: str
) -> None:
    text = group_notice(language, poster_mention=mention, start_link=link)
    assert len(text) < 300
    assert len(text.splitlines()) <= 2
    assert text.startswith(mention)
    assert (LINK in text) == (link == LINK)
    assert ("consentement des patients" if language == "fr" else "patient-consent rule") in text
    for kind in FindingKind:
        assert kind_label(kind, language) not in text
    for detail in ("226-13", "L1110-4", "€", "EUR", "#consent", "CG-"):
        assert detail not in text


@pytest.mark.parametrize(("language", "expected"), [("fr", "conversation privée"), ("en", "private chat")])
def test_group_notice_points_to_a_private_chat(language: Language, expected: str) -> None:
    assert expected in group_notice(language, poster_mention="@dr_martin", start_link=None)


MODERATOR_CASES = [
    (
        Verdict.DELETE,
        ConsentOutcome(ConsentState.REVOKED),
        {
            "fr": ["Image supprimée", "révoqué par le patient"],
            "en": ["Image deleted", "revoked by the patient"],
        },
    ),
    (
        Verdict.QUARANTINE,
        ConsentOutcome(ConsentState.MALFORMED, token_problem=TokenProblem.BAD_CHECK),
        {
            "fr": ["Image mise de côté pour examen", "jeton mal recopié (faute de frappe", "Rétablissez"],
            "en": ["Image set aside for review", "mistyped token (typo", "Restore the image"],
        },
    ),
    (
        Verdict.DELETE,
        ConsentOutcome(ConsentState.OUT_OF_SCOPE, scope_problem=ScopeProblem.WRONG_GROUP),
        {
            "fr": ["ne couvre pas cette publication (autre groupe)"],
            "en": ["does not cover this post (another group)"],
        },
    ),
    (
        Verdict.QUARANTINE,
        ConsentOutcome(ConsentState.UNAVAILABLE),
        {"fr": ["registre injoignable"], "en": ["registry unreachable"]},
    ),
    (
        Verdict.DELETE,
        ConsentOutcome(ConsentState.MISSING),
        {"fr": ["aucun jeton cité"], "en": ["no token quoted"]},
    ),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("verdict", "consent", "expected"), MODERATOR_CASES)
def test_moderator_notice(
    language: Language, verdict: Verdict, consent: ConsentOutcome, expected: dict[str, list[str]]
) -> None:
    detection = DetectionOutcome(DetectionState.IDENTIFYING, frozenset({"face", "phone"}))
    value = decision(verdict, consent, detection, reason="no-consent-identifying")
    text = plain(
        moderator_notice(
            value, language, poster_name="Dr Martin", group_title="Dermato IDF", item_ref="Q-0042"
        )
    )
    for words in [*expected[language], "Dr Martin", "Dermato IDF", "no-consent-identifying", "Q-0042"]:
        assert words in text
    assert kind_label("face", language) in text
    assert kind_label("phone", language) in text
    assert ("Rétablissez" in text or "Restore the image" in text) == (verdict is Verdict.QUARANTINE)
    assert "226-13" not in text  # moderators know the law; the notice stays short


@pytest.mark.parametrize(("language", "label"), [("fr", "Référence"), ("en", "Reference")])
def test_moderator_notice_without_item_ref(language: Language, label: str) -> None:
    text = moderator_notice(decision(), language, poster_name="Dr Martin", group_title=None, item_ref=None)
    assert label not in text


@pytest.mark.parametrize(
    ("language", "none", "failed"),
    [("fr", "aucun", "Analyse impossible : timeout"), ("en", "none", "Check failed: timeout")],
)
def test_moderator_notice_when_detection_failed(language: Language, none: str, failed: str) -> None:
    detection = DetectionOutcome(DetectionState.FAILED, failures=("timeout", "timeout"))
    text = moderator_notice(
        decision(Verdict.QUARANTINE, detection=detection),
        language,
        poster_name="A",
        group_title=None,
        item_ref=None,
    )
    assert failed in text
    assert f": {none}" in text
    assert "timeout, timeout" not in text


@pytest.mark.parametrize(
    ("language", "would_have", "expected"),
    [
        ("fr", Verdict.DELETE, "elle aurait été supprimée"),
        ("fr", Verdict.QUARANTINE, "elle aurait été mise de côté pour examen"),
        ("fr", None, "elle aurait été retirée"),
        ("en", Verdict.DELETE, "it would have been deleted"),
        ("en", Verdict.QUARANTINE, "it would have been set aside for review"),
        ("en", None, "it would have been removed"),
    ],
)
def test_monitor_notice_says_what_would_have_happened(
    language: Language, would_have: Verdict | None, expected: str
) -> None:
    value = decision(Verdict.MONITOR, ConsentOutcome(ConsentState.EXPIRED), would_have=would_have)
    text = plain(monitor_notice(value, language, poster_name="Dr Martin", group_title="Dermato IDF"))
    assert expected in text
    assert ("Mode observation" if language == "fr" else "Monitor mode") in text
    for words in (
        "Dr Martin",
        "Dermato IDF",
        "no-consent-identifying",
        "expir",
        kind_label("face", language),
    ):
        assert words in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_moderator_notice_of_a_monitor_decision_says_what_would_have_happened(language: Language) -> None:
    value = decision(Verdict.MONITOR, would_have=Verdict.DELETE)
    text = moderator_notice(value, language, poster_name="Dr Martin", group_title=None, item_ref=None)
    assert ("aurait été supprimée" if language == "fr" else "would have been deleted") in text


@pytest.mark.parametrize(
    ("language", "count", "expected"),
    [
        ("fr", 1, "Dr Martin a eu 1 image retirée dans le groupe « Dermato IDF »"),
        ("fr", 4, "Dr Martin a eu 4 images retirées dans le groupe « Dermato IDF »"),
        ("en", 1, "Dr Martin has had 1 image removed in “Dermato IDF”"),
        ("en", 4, "Dr Martin has had 4 images removed in “Dermato IDF”"),
    ],
)
def test_repeat_offence_alert(language: Language, count: int, expected: str) -> None:
    text = plain(
        repeat_offence_alert(language, poster_name="Dr Martin", group_title="Dermato IDF", count=count)
    )
    assert expected in text
    assert ("échange direct" if language == "fr" else "friendly word") in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_repeat_offence_alert_without_title(language: Language) -> None:
    text = repeat_offence_alert(language, poster_name="Dr Martin", group_title=None, count=2)
    assert ("dans le groupe" if language == "fr" else "in the group") in text


@pytest.mark.parametrize(
    ("language", "reason", "expected"),
    [
        ("fr", "consent-unavailable", "Motif : registre des consentements injoignable (consent-unavailable)"),
        ("en", "detection-failed", "Reason: the image could not be checked (detection-failed)"),
        ("en", "some-new-reason", "Reason: some-new-reason"),
    ],
)
def test_reasons_are_put_in_words_with_their_code(language: Language, reason: str, expected: str) -> None:
    value = decision(Verdict.QUARANTINE, reason=reason)
    text = moderator_notice(value, language, poster_name="A", group_title=None, item_ref=None)
    assert expected in text.splitlines()


def test_repeat_offence_alert_needs_a_removal() -> None:
    with pytest.raises(ValueError, match="at least one removal"):
        repeat_offence_alert("fr", poster_name="Dr Martin", group_title=None, count=0)
