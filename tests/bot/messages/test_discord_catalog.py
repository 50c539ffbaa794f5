"""The Discord front end's sentences: both languages complete, consistent with each other, well typeset."""

from __future__ import annotations

import pytest

from bot.messages import Language, discord_texts
from bot.messages.discord_catalog import (
    APPROVE_LABEL,
    COMMAND_CONSENT,
    COMMAND_GROUP,
    COMMAND_POLICY,
    COMMAND_POLICY_MODE,
    COMMAND_QUEUE,
    COMMAND_STATUS,
    REJECT_LABEL,
    SHOW_LABEL,
)
from tests.bot.messages.typeset import (
    assert_french_spacing,
    assert_plain_and_typeset,
    assert_same_placeholders,
    placeholders,
)

LANGUAGES: list[Language] = ["fr", "en"]
NBSP = "\u00a0"


def test_french_is_the_default_and_both_languages_answer() -> None:
    assert discord_texts().language == "fr"
    for language in LANGUAGES:
        assert discord_texts(language).language == language


def test_unsupported_language_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unsupported language 'de'"):
        discord_texts("de")  # type: ignore[arg-type]


def test_languages_use_the_same_placeholders_per_field() -> None:
    assert_same_placeholders(discord_texts("fr"), discord_texts("en"))


def test_placeholders_are_the_documented_ones() -> None:
    texts = discord_texts("fr")
    assert placeholders(texts.missing_permissions) == {"missing"}
    assert placeholders(texts.approved) == {"name"}
    assert placeholders(texts.rejected) == {"name"}
    assert placeholders(texts.repost_note) == {"moderator"}
    assert placeholders(texts.status) == {"mode", "pending"}
    assert placeholders(texts.mode) == {"mode"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_are_plain_and_typographically_consistent(language: Language) -> None:
    assert_plain_and_typeset(discord_texts(language))


def test_french_spaces_are_non_breaking_around_high_punctuation_and_guillemets() -> None:
    assert_french_spacing(discord_texts("fr"))


def test_french_wording() -> None:
    texts = discord_texts("fr")
    assert texts.moderators_only == f"Réservé aux membres ayant «{NBSP}Gérer les messages{NBSP}»."
    assert texts.missing_permissions.format(missing="Manage Messages") == (
        f"consentguard ne peut pas modérer ce salon{NBSP}: il manque Manage Messages."
    )
    assert texts.approved.format(name="Dr X") == "✅ Approuvé par Dr X, republié."


def test_english_wording() -> None:
    texts = discord_texts("en")
    assert texts.moderators_only == "Manage Messages required."
    assert texts.rejected.format(name="Dr X") == "🗑 Rejected by Dr X, image purged."
    assert texts.status.format(mode="strict", pending=2) == "mode: strict · quarantine: 2"


def test_discord_ui_strings_fit_discords_limits() -> None:
    # Discord refuses command descriptions over 100 characters and button labels over 80.
    descriptions = [
        COMMAND_GROUP,
        COMMAND_STATUS,
        COMMAND_QUEUE,
        COMMAND_POLICY,
        COMMAND_POLICY_MODE,
        COMMAND_CONSENT,
    ]
    for description in descriptions:
        assert 1 <= len(description) <= 100, description
        assert description.strip() == description
    for label in (APPROVE_LABEL, REJECT_LABEL, SHOW_LABEL):
        assert 1 <= len(label) <= 80, label
        assert "'" not in label
