from __future__ import annotations

import pytest

from bot.messages import choose_language


@pytest.mark.parametrize(
    ("group_language", "author_language", "expected"),
    [
        (None, None, "fr"),
        ("", "", "fr"),
        (None, "fr", "fr"),
        (None, "en", "en"),
        ("fr", "en", "en"),  # the poster's language wins
        ("en", "fr", "fr"),
        ("fr", "en-GB", "en"),
        ("en", "fr-CA", "fr"),
        ("fr", "en_US", "en"),
        ("fr", "EN", "en"),
        ("en", " fr ", "fr"),
        ("en", "de", "en"),  # unsupported poster language: the group's
        ("fr", "de-AT", "fr"),
        ("en-GB", None, "en"),
        ("de", "es", "fr"),  # neither supported: the default
        (None, "it", "fr"),
        # Only the primary subtag counts: Frisian ("frr") and Middle English ("enm") are other languages.
        ("en", "frr", "en"),
        (None, "enm", "fr"),
    ],
)
def test_choose_language(group_language: str | None, author_language: str | None, expected: str) -> None:
    assert choose_language(group_language, author_language) == expected
