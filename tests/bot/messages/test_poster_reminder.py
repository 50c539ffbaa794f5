"""The private reminder, over every consent state and verdict, in both languages."""

from __future__ import annotations

import itertools

import pytest

from bot.consent.model import ScopeProblem, TokenProblem
from bot.domain import ConsentOutcome, ConsentState, Decision, DetectionOutcome, DetectionState, Verdict
from bot.messages import Language, kind_label, poster_reminder
from detectors.base import FindingKind
from tests.bot.messages.conftest import decision, plain

LANGUAGES: list[Language] = ["fr", "en"]
HINT = "reply /review"

LEGAL = {
    "fr": [
        "226-13",
        "L1110-4",
        "Code pénal",
        "Code de la santé publique",
        "15 000 €",
        "1 an",
        "secret professionnel",
        "aussi fermé que soit le groupe",
    ],
    "en": [
        "226-13",
        "L1110-4",
        "Criminal Code",
        "Public Health Code",
        "€15,000",
        "1 year",
        "professional secrecy",
        "however closed the group",
    ],
}

# (consent outcome, what the French reminder must say, what the English one must say)
CONSENT_CASES: list[tuple[str, ConsentOutcome, str, str]] = [
    (
        "missing",
        ConsentOutcome(ConsentState.MISSING),
        "ne cite aucun jeton",
        "does not quote any consent token",
    ),
    (
        "wrong-length",
        ConsentOutcome(ConsentState.MALFORMED, token_problem=TokenProblem.WRONG_LENGTH),
        "n’a pas la bonne longueur",
        "does not have the right length",
    ),
    (
        "bad-character",
        ConsentOutcome(ConsentState.MALFORMED, token_problem=TokenProblem.BAD_CHARACTER),
        "un caractère qui ne figure jamais dans un jeton",
        "a character that never appears in a token",
    ),
    (
        "bad-check",
        ConsentOutcome(ConsentState.MALFORMED, token_problem=TokenProblem.BAD_CHECK),
        "faute de frappe",
        "typo",
    ),
    ("malformed", ConsentOutcome(ConsentState.MALFORMED), "mal recopié", "mistyped"),
    (
        "unknown",
        ConsentOutcome(ConsentState.UNKNOWN),
        "ne correspond à aucun consentement",
        "does not match any",
    ),
    ("revoked", ConsentOutcome(ConsentState.REVOKED), "révoqué", "revoked"),
    ("expired", ConsentOutcome(ConsentState.EXPIRED), "a expiré", "has expired"),
    (
        "wrong-group",
        ConsentOutcome(ConsentState.OUT_OF_SCOPE, scope_problem=ScopeProblem.WRONG_GROUP),
        "ne couvre pas ce groupe",
        "does not cover this group",
    ),
    (
        "wrong-poster",
        ConsentOutcome(ConsentState.OUT_OF_SCOPE, scope_problem=ScopeProblem.WRONG_POSTER),
        "ne vous désigne pas parmi les cliniciens",
        "does not name you among the clinicians",
    ),
    (
        "wrong-purpose",
        ConsentOutcome(ConsentState.OUT_OF_SCOPE, scope_problem=ScopeProblem.WRONG_PURPOSE),
        "ne couvre pas cet usage",
        "does not cover this use",
    ),
    (
        "out-of-scope",
        ConsentOutcome(ConsentState.OUT_OF_SCOPE),
        "ne couvre pas cette publication",
        "does not cover this post",
    ),
    (
        "scope-revoked",
        ConsentOutcome(ConsentState.OUT_OF_SCOPE, scope_problem=ScopeProblem.REVOKED),
        "révoqué",
        "revoked",
    ),
    (
        "scope-used-up",
        ConsentOutcome(ConsentState.OUT_OF_SCOPE, scope_problem=ScopeProblem.USED_UP),
        "déjà servi",
        "already been used",
    ),
    (
        "used-up",
        ConsentOutcome(ConsentState.USED_UP),
        "déjà servi pour toutes les images",
        "already been used for all",
    ),
    ("unavailable", ConsentOutcome(ConsentState.UNAVAILABLE), "n’a pas répondu", "did not answer"),
]

# (verdict, would_have, what the French reminder says happened, what the English one says)
VERDICT_CASES: list[tuple[Verdict, Verdict | None, str, str]] = [
    (Verdict.DELETE, None, "a été supprimée", "has been deleted"),
    (Verdict.QUARANTINE, None, "a été mise de côté", "has been set aside"),
    (Verdict.MONITOR, Verdict.DELETE, "est restée en ligne", "is still up"),
    (Verdict.MONITOR, Verdict.QUARANTINE, "aurait été mise de côté pour examen", "would have been set aside"),
]

DETECTIONS = {
    "identifying": DetectionOutcome(DetectionState.IDENTIFYING, frozenset({"face", "nir"})),
    "clean": DetectionOutcome(DetectionState.CLEAN),
    "failed": DetectionOutcome(DetectionState.FAILED, failures=("timeout",)),
}


def _remind(value: Decision, language: Language, title: str | None = "Dermatologie IDF") -> str:
    text = poster_reminder(
        value, language, group_title=title, bot_mention="@consentguard_bot", review_hint=HINT
    )
    return plain(text)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("verdict", "would_have", "done_fr", "done_en"), VERDICT_CASES)
@pytest.mark.parametrize(
    ("case", "consent", "why_fr", "why_en"), CONSENT_CASES, ids=[c[0] for c in CONSENT_CASES]
)
@pytest.mark.parametrize("detection", list(DETECTIONS), ids=list(DETECTIONS))
def test_reminder_explains_what_and_why(
    language: Language,
    verdict: Verdict,
    would_have: Verdict | None,
    done_fr: str,
    done_en: str,
    case: str,
    consent: ConsentOutcome,
    why_fr: str,
    why_en: str,
    detection: str,
) -> None:
    text = _remind(decision(verdict, consent, DETECTIONS[detection], would_have=would_have), language)

    assert (done_fr if language == "fr" else done_en) in text
    assert (why_fr if language == "fr" else why_en) in text
    for mention in LEGAL[language]:
        assert mention in text
    assert "#consent CG-XXXX-XXXX-XXXX-XXXX-X" in text
    assert "@consentguard_bot" in text
    assert "Dermatologie IDF" in text
    # A review is offered only when something was taken down.
    assert (HINT in text) == (verdict is not Verdict.MONITOR)
    for kind in ("face", "nir"):
        assert (kind_label(kind, language) in text) == (detection == "identifying")
    assert "\n\n" in text
    assert "\n\n\n" not in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("verdict", "held"), [(Verdict.QUARANTINE, True), (Verdict.DELETE, False)])
def test_unreachable_registry_holds_the_image_until_checked(
    language: Language, verdict: Verdict, held: bool
) -> None:
    text = _remind(decision(verdict, ConsentOutcome(ConsentState.UNAVAILABLE)), language)
    expected = (
        "reste de côté jusqu’à ce qu’il puisse l’être"
        if language == "fr"
        else "stays set aside until it can be"
    )
    assert (expected in text) == held


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "Le jeton de consentement que vous avez cité est valide"),
        ("en", "The consent token you quoted is valid"),
    ],
)
def test_valid_consent_with_failed_detection(language: Language, expected: str) -> None:
    value = decision(Verdict.QUARANTINE, ConsentOutcome(ConsentState.VALID), DETECTIONS["failed"])
    text = _remind(value, language)
    assert expected in text
    assert ("n’a pas pu être analysée" if language == "fr" else "could not be checked") in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "un visage, un numéro de sécurité sociale (NIR) et une adresse postale"),
        ("en", "a face, a French social security number (NIR) and a postal address"),
    ],
)
def test_kinds_are_listed_by_label_in_a_stable_order(language: Language, expected: str) -> None:
    detection = DetectionOutcome(DetectionState.IDENTIFYING, frozenset({"postal_address", "face", "nir"}))
    assert expected in _remind(decision(detection=detection), language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_label_can_appear(language: Language) -> None:
    detection = DetectionOutcome(DetectionState.IDENTIFYING, frozenset(FindingKind))
    text = _remind(decision(detection=detection), language)
    for kind in FindingKind:
        assert kind_label(kind, language) in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "un élément qui peut identifier un patient"),
        ("en", "something in the image that can identify a patient"),
    ],
)
def test_identifying_without_kinds(language: Language, expected: str) -> None:
    text = _remind(decision(detection=DetectionOutcome(DetectionState.IDENTIFYING)), language)
    assert expected in text


@pytest.mark.parametrize(
    ("language", "strict", "restore"),
    [
        ("fr", "toute image de patient demande un consentement", "un modérateur peut la rétablir en un clic"),
        ("en", "every patient image needs consent", "a moderator can restore it in one click"),
    ],
)
@pytest.mark.parametrize(
    ("verdict", "would_have", "says_strict", "says_restore"),
    [
        (Verdict.DELETE, None, True, True),
        (Verdict.QUARANTINE, None, True, True),
        (Verdict.MONITOR, Verdict.QUARANTINE, True, False),  # nothing was taken down: nothing to restore
        (Verdict.MONITOR, Verdict.ALLOW, False, False),
        (Verdict.ALLOW, None, False, False),
    ],
)
def test_nothing_identifying_in_strict_mode(
    language: Language,
    strict: str,
    restore: str,
    verdict: Verdict,
    would_have: Verdict | None,
    says_strict: bool,
    says_restore: bool,
) -> None:
    value = decision(verdict, detection=DetectionOutcome(DetectionState.CLEAN), would_have=would_have)
    text = _remind(value, language)
    assert (strict in text) == says_strict
    assert (restore in text) == says_restore
    for kind in FindingKind:
        assert kind_label(kind, language) not in text


@pytest.mark.parametrize(
    ("language", "expected"), [("fr", "du groupe « Cardio Lyon »"), ("en", "of “Cardio Lyon”")]
)
def test_group_title_is_quoted(language: Language, expected: str) -> None:
    assert expected in _remind(decision(), language, title="Cardio Lyon")


@pytest.mark.parametrize(("language", "expected"), [("fr", "de votre groupe"), ("en", "of your group")])
@pytest.mark.parametrize("title", [None, "", "   "])
def test_untitled_group(language: Language, expected: str, title: str | None) -> None:
    text = _remind(decision(), language, title=title)
    assert expected in text
    assert "«" not in text
    assert "“" not in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "contactez un modérateur du groupe"), ("en", "Contact one of the group’s")],
)
def test_blank_review_hint_points_to_the_moderators(language: Language, expected: str) -> None:
    text = poster_reminder(decision(), language, group_title=None, bot_mention="@bot", review_hint="  ")
    assert expected in text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("verdict", "would_have"), list(itertools.product(list(Verdict), [None, Verdict.DELETE]))
)
def test_every_verdict_renders(language: Language, verdict: Verdict, would_have: Verdict | None) -> None:
    text = _remind(decision(verdict, would_have=would_have), language)
    assert "226-13" in text
    assert "{" not in text
    assert "}" not in text
