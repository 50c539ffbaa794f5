"""Withdrawal codes: 11 random Crockford base32 characters and a check character, shown ``XXXX-XXXX-XXXX``.

55 random bits: nobody guesses one through a rate-limited page, and the registry keeps only an HMAC of it.
Typed back by a person, so read as consent tokens are (case-insensitive; O reads as 0, I and L as 1; spaces
and hyphens ignored), and the check character tells a typo from an unknown code.
"""

from __future__ import annotations

import enum
import re
import secrets

from bot.consent.token import ALPHABET, check_character

DATA_LENGTH = 11
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class CodeProblem(enum.StrEnum):
    """Why a typed code cannot be a withdrawal code."""

    WRONG_LENGTH = "wrong_length"
    BAD_CHARACTER = "bad_character"
    BAD_CHECK = "bad_check"


def new_code() -> str:
    """A fresh withdrawal code, canonical form ``XXXX-XXXX-XXXX``."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return _canonical(data + check_character(data))


def parse_code(text: str) -> str | CodeProblem:
    """The canonical form of a typed code, or why it cannot be one."""
    cleaned = re.sub(r"[\s\-_.]", "", text).upper().translate(_ALIASES)
    if len(cleaned) != DATA_LENGTH + 1:
        return CodeProblem.WRONG_LENGTH
    if any(char not in ALPHABET for char in cleaned):
        return CodeProblem.BAD_CHARACTER
    if check_character(cleaned[:DATA_LENGTH]) != cleaned[DATA_LENGTH]:
        return CodeProblem.BAD_CHECK
    return _canonical(cleaned)


def new_reference(prefix: str) -> str:
    """An opaque reference such as ``CAP-7F3K9Q2MXA`` (50 random bits): never derived from a name."""
    return f"{prefix}-{''.join(secrets.choice(ALPHABET) for _ in range(10))}"


def _canonical(chars: str) -> str:
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))
