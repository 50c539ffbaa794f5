"""Both languages are complete, consistent with each other, and free of markup."""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Mapping

import pytest

from bot.consent.model import ScopeProblem, TokenProblem
from bot.domain import ConsentState, Verdict
from bot.messages import CATALOGS, Catalog, Language, consent_help, kind_label
from bot.messages.compose import _SCOPE_AS_STATE
from detectors.base import FindingKind

LANGUAGES: list[Language] = ["fr", "en"]


def _strings(catalog: Catalog) -> dict[str, str]:
    """Every text of a catalog, keyed by field (and mapping key)."""
    texts: dict[str, str] = {}
    for field in dataclasses.fields(catalog):
        value = getattr(catalog, field.name)
        if isinstance(value, Mapping):
            texts.update({f"{field.name}[{key}]": text for key, text in value.items()})
        elif field.name != "language":
            texts[field.name] = value
    return texts


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_languages_are_registered() -> None:
    assert set(CATALOGS) == {"fr", "en"}
    for language, catalog in CATALOGS.items():
        assert catalog.language == language


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(FindingKind))
def test_every_finding_kind_has_its_own_label(kind: FindingKind, language: Language) -> None:
    label = kind_label(kind.value, language)
    assert label
    assert label != CATALOGS[language].other_kind
    assert label == kind_label(kind, language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_kind_labels_are_distinct(language: Language) -> None:
    labels = [kind_label(kind, language) for kind in FindingKind]
    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize(("language", "expected"), [("fr", "un visage"), ("en", "a face")])
def test_face_label(language: Language, expected: str) -> None:
    assert kind_label("face", language) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_unknown_kind_gets_a_generic_label(language: Language) -> None:
    assert kind_label("iris_scan", language) == CATALOGS[language].other_kind


@pytest.mark.parametrize("language", LANGUAGES)
def test_mappings_cover_every_enum_value(language: Language) -> None:
    catalog = CATALOGS[language]
    assert set(catalog.verdict_done) == set(Verdict)
    assert set(catalog.outcome) == set(Verdict)
    assert set(catalog.consent_why) == set(ConsentState)
    assert set(catalog.consent_short) == set(ConsentState)
    assert set(catalog.token_problem_why) == set(TokenProblem)
    assert set(catalog.token_problem_short) == set(TokenProblem)
    # A scope problem is explained either on its own or as the consent state it amounts to.
    for scope_maps in (catalog.scope_problem_why, catalog.scope_problem_short):
        assert set(scope_maps) | set(_SCOPE_AS_STATE) == set(ScopeProblem)
        assert not set(scope_maps) & set(_SCOPE_AS_STATE)


def test_languages_use_the_same_fields_and_placeholders() -> None:
    french, english = (_strings(CATALOGS[language]) for language in LANGUAGES)
    assert french.keys() == english.keys()
    for key, text in french.items():
        assert _placeholders(text) == _placeholders(english[key]), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_are_plain_and_typographically_consistent(language: Language) -> None:
    for key, text in _strings(CATALOGS[language]).items():
        assert text.strip() == text, key
        assert text, key
        assert "'" not in text, f"{key}: use the typographic apostrophe ’"
        assert '"' not in text, key
        for markup in ("<b>", "<i>", "</", "**", "__", "`", "["):
            assert markup not in text, (key, markup)


def test_french_uses_guillemets_with_non_breaking_spaces() -> None:
    assert CATALOGS["fr"].in_group_named == "dans le groupe «\u00a0{title}\u00a0»"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", ["autorisation expresse", "registre des consentements", "#consent CG-XXXX-XXXX-XXXX-XXXX-X"]),
        ("en", ["express authorisation", "consent registry", "#consent CG-XXXX-XXXX-XXXX-XXXX-X"]),
    ],
)
def test_consent_help(language: Language, expected: list[str]) -> None:
    text = consent_help(language)
    for words in expected:
        assert words in text


def test_unsupported_language_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unsupported language 'de'"):
        consent_help("de")  # type: ignore[arg-type]
