"""The de-identified repost's wording: both languages fill the same placeholders; names are cleaned."""

from __future__ import annotations

import dataclasses
import string

import pytest

from bot.messages.deidentified_catalog import DEIDENTIFIED_TEXTS, deidentified_texts
from tests.bot.messages.typeset import assert_french_spacing, assert_plain_and_typeset


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(DEIDENTIFIED_TEXTS["fr"])])
def test_both_languages_use_the_same_placeholders(name: str) -> None:
    french, english = getattr(DEIDENTIFIED_TEXTS["fr"], name), getattr(DEIDENTIFIED_TEXTS["en"], name)
    assert _placeholders(french) == _placeholders(english)
    assert french


@pytest.mark.parametrize("language", ["fr", "en"])
def test_plain_text_typographic_quotes_and_apostrophes(language: str) -> None:
    assert_plain_and_typeset(deidentified_texts(language))


def test_french_spaces_are_non_breaking_around_high_punctuation_and_guillemets() -> None:
    assert_french_spacing(deidentified_texts("fr"))


def test_french_is_the_default_and_regional_tags_are_understood() -> None:
    assert deidentified_texts(None).language == "fr"
    assert deidentified_texts("de").language == "fr"
    assert deidentified_texts("en-GB").language == "en"


def test_the_offer_names_the_group_and_the_lifetime() -> None:
    texts = deidentified_texts("en")
    text = texts.offer.format(of_group=texts.of_group("Dermato\navis"), hours=24)
    assert "“Dermato avis”" in text
    assert "24 h" in text
    assert texts.of_group(None) == "in the group"


def test_the_attribution_keeps_the_name_on_one_clean_short_line() -> None:
    line = deidentified_texts("fr").attribution_for("Dr\u202e Alice\n" + "x" * 200)
    assert "\n" not in line
    assert "\u202e" not in line
    assert line.startswith("Publié par Dr Alice ")
    assert len(line) < 150
