"""Checks every catalog of the bot's sentences shares: complete languages, same placeholders, typography."""

from __future__ import annotations

import dataclasses
import re
import string
from typing import Any


def strings(texts: Any) -> dict[str, str]:
    """The catalog's sentences by field name (its language tag left out)."""
    return {
        field.name: getattr(texts, field.name)
        for field in dataclasses.fields(texts)
        if field.name != "language" and isinstance(getattr(texts, field.name), str)
    }


def placeholders(text: str) -> set[str]:
    """The ``str.format`` names a sentence expects."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def assert_same_placeholders(french: Any, english: Any) -> None:
    """Both languages have the same fields, each with the same placeholders."""
    fr, en = strings(french), strings(english)
    assert fr.keys() == en.keys()
    for key, text in fr.items():
        assert placeholders(text) == placeholders(en[key]), key


def assert_plain_and_typeset(texts: Any) -> None:
    """Plain text (no markup), no stray spaces, typographic apostrophes and quotes."""
    for key, text in strings(texts).items():
        assert text, key
        assert text.strip() == text, key
        assert all(line.rstrip() == line for line in text.splitlines()), f"{key}: trailing space"
        assert "'" not in text, f"{key}: use the typographic apostrophe ’"
        assert '"' not in text, key
        for markup in ("<b>", "<i>", "</", "**", "__", "`", "["):
            assert markup not in text, (key, markup)


def assert_french_spacing(texts: Any) -> None:
    """French typography: a non-breaking space before ; : ! ? » and after «, never beside a plain one."""
    for key, text in strings(texts).items():
        assert not re.search(r"[^\u00a0][;:!?»]", text), f"{key}: NBSP before ; : ! ? »"
        assert not re.search(r"«[^\u00a0]", text), f"{key}: NBSP after «"
        assert " \u00a0" not in text, key
        assert "\u00a0 " not in text, key
