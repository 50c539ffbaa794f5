"""The Telegram front end's sentences: both languages complete, consistent with each other, well typeset."""

from __future__ import annotations

import pytest

from bot.messages import Language, telegram_texts
from bot.messages.telegram_catalog import APPROVE_LABEL, REJECT_LABEL, SHOW_LABEL
from tests.bot.messages.typeset import (
    assert_french_spacing,
    assert_plain_and_typeset,
    assert_same_placeholders,
    placeholders,
)

LANGUAGES: list[Language] = ["fr", "en"]
NBSP = "\u00a0"


def test_french_is_the_default_and_both_languages_answer() -> None:
    assert telegram_texts().language == "fr"
    for language in LANGUAGES:
        assert telegram_texts(language).language == language


@pytest.mark.parametrize(("tag", "expected"), [("en-GB", "en"), ("fr_CA", "fr"), ("de", "fr"), (None, "fr")])
def test_a_language_the_bot_does_not_speak_gets_french(tag: str | None, expected: Language) -> None:
    assert telegram_texts(tag).language == expected


def test_languages_use_the_same_placeholders_per_field() -> None:
    assert_same_placeholders(telegram_texts("fr"), telegram_texts("en"))


def test_placeholders_are_the_documented_ones() -> None:
    texts = telegram_texts("fr")
    assert placeholders(texts.approved) == {"moderator"}
    assert placeholders(texts.rejected) == {"moderator"}
    assert placeholders(texts.repost_note) == {"author", "moderator"}
    assert placeholders(texts.status) == {"mode", "pending"}
    assert placeholders(texts.mode_set) == {"mode"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_are_plain_and_typographically_consistent(language: Language) -> None:
    assert_plain_and_typeset(telegram_texts(language))


def test_french_spaces_are_non_breaking_around_high_punctuation_and_guillemets() -> None:
    assert_french_spacing(telegram_texts("fr"))


def test_french_wording() -> None:
    texts = telegram_texts("fr")
    assert texts.approved.format(moderator="Dr X") == "✅ Approuvé par Dr X et republié."
    assert (
        texts.repost_note.format(author="Alice", moderator="Dr X") == "Publié par Alice, approuvé par Dr X."
    )
    assert texts.status.format(mode="strict", pending=2) == f"mode{NBSP}: strict · quarantaine{NBSP}: 2"
    assert "supprimer des messages" in texts.rights_warning


def test_english_wording() -> None:
    texts = telegram_texts("en")
    assert texts.rejected.format(moderator="Dr X") == "🗑 Rejected by Dr X, image purged."
    assert texts.status.format(mode="strict", pending=2) == "mode: strict · quarantine: 2"
    assert texts.item_not_found == "Item not found or already handled."


def test_review_button_labels_say_both_languages() -> None:
    # Telegram refuses an inline button without text; the labels are read by every moderator.
    assert APPROVE_LABEL == "✅ Approuver / Approve"
    assert REJECT_LABEL == "🗑 Rejeter / Reject"
    assert SHOW_LABEL == "👁 Voir / Show"
    for label in (APPROVE_LABEL, REJECT_LABEL, SHOW_LABEL):
        assert "'" not in label
