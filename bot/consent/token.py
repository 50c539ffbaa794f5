"""Consent tokens: ``CG-`` + 16 Crockford base32 characters (80 random bits) + 1 check character.

Tokens carry no patient data; they are unguessable (2**80 values) and typable. Decoding follows Crockford's
rules (case-insensitive; O reads as 0, I and L as 1; spaces and hyphens ignored), and the check character
(Luhn mod 32 over the 16 data characters) catches any single mistyped character and most swaps of two
neighbours, so a typo is reported as a typo, not as an unknown consent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from bot.consent.model import TokenProblem
from bot.errors import InvalidTokenError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "CG"
DATA_LENGTH = 16
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})

_PREFIX_AT = re.compile(r"(?<![0-9A-Za-z])[Cc][Gg](?=[\s\-_:]*[0-9A-Za-z])")
_INTRODUCER = re.compile(
    r"(?:#\s*consent(?:ement)?|(?<![0-9A-Za-z])consent(?:ement)?\s*[:=]?)\s*", re.IGNORECASE
)
_SEPARATORS = " -_:\t"


@dataclass(frozen=True, slots=True)
class ConsentToken:
    """A well-formed token. ``str()`` gives the canonical form; ``repr()`` never shows it."""

    value: str  # canonical: CG-XXXX-XXXX-XXXX-XXXX-C

    def __repr__(self) -> str:
        return "ConsentToken(<redacted>)"

    def __str__(self) -> str:
        return self.value

    @property
    def compact(self) -> str:
        """The 17 characters without prefix or hyphens (what the API path carries)."""
        return self.value[3:].replace("-", "")

    def fingerprint(self, key: bytes) -> str:
        """A keyed hash that identifies the token in logs and the audit log without revealing it."""
        return hmac.new(key, self.compact.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TokenSearch:
    """What a caption holds: a token, a malformed token (and why), or nothing token-like."""

    token: ConsentToken | None = None
    problem: TokenProblem | None = None

    @property
    def found(self) -> bool:
        """True when a well-formed token was found."""
        return self.token is not None

    @property
    def attempted(self) -> bool:
        """True when the poster tried to quote a token, well-formed or not."""
        return self.token is not None or self.problem is not None


def check_character(data: str) -> str:
    """Luhn mod 32 check character of 16 canonical data characters."""
    factor = 2
    total = 0
    for char in reversed(data):
        addend = factor * _VALUE[char]
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def _canonical(data: str) -> str:
    groups = [data[i : i + 4] for i in range(0, DATA_LENGTH, 4)]
    return f"{PREFIX}-{'-'.join(groups)}-{check_character(data)}"


def new_token() -> ConsentToken:
    """Generate a fresh token from 80 bits of the OS's secure random source."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return ConsentToken(_canonical(data))


def parse_token(text: str) -> ConsentToken:
    """Parse one token written by a person; raise :class:`InvalidTokenError` saying what is wrong."""
    search = _check(text)
    if search.token is None:
        raise InvalidTokenError(search.problem or TokenProblem.WRONG_LENGTH)
    return search.token


def _check(text: str) -> TokenSearch:
    cleaned = re.sub(r"[\s\-_:]", "", text).upper()
    if len(cleaned) == len(PREFIX) + DATA_LENGTH + 1 and cleaned.startswith(PREFIX):
        cleaned = cleaned[len(PREFIX) :]
    cleaned = cleaned.translate(_ALIASES)
    if len(cleaned) != DATA_LENGTH + 1:
        return TokenSearch(problem=TokenProblem.WRONG_LENGTH)
    if any(char not in _VALUE for char in cleaned):
        return TokenSearch(problem=TokenProblem.BAD_CHARACTER)
    data, check = cleaned[:DATA_LENGTH], cleaned[DATA_LENGTH]
    if check_character(data) != check:
        return TokenSearch(problem=TokenProblem.BAD_CHECK)
    return TokenSearch(token=ConsentToken(_canonical(data)))


def _collect(text: str, start: int) -> str | None:
    """Read up to 17 token characters from ``start``, skipping single separators; None if the run is longer.

    A word that follows after a separator ("CG-… merci") is not part of the token; characters glued to the
    17th one are (the token was typed too long).
    """
    chars: list[str] = []
    position = start
    while position < len(text) and text[position] in _SEPARATORS:
        position += 1
    while position < len(text) and len(chars) < DATA_LENGTH + 1:
        char = text[position]
        if char.isascii() and char.isalnum():
            chars.append(char)
        elif char not in _SEPARATORS:
            break
        position += 1
    glued = position < len(text) and text[position].isascii() and text[position].isalnum()
    if len(chars) == DATA_LENGTH + 1 and glued:
        return None
    return "".join(chars)


def find_token(caption: str | None) -> TokenSearch:
    """Find the consent token in a caption or message, in the forms clinicians write.

    ``#consent CG-…``, ``consent: CG-…``, ``consentement CG-…`` or the bare ``CG-…`` token; after an
    introducer the ``CG`` prefix may be left out. When several candidates appear, a well-formed one wins;
    otherwise the first malformed one is reported, so that the reminder can say "mistyped".
    """
    if not caption:
        return TokenSearch()
    starts = [m.end() for m in _PREFIX_AT.finditer(caption)]
    for intro in _INTRODUCER.finditer(caption):
        prefixed = _PREFIX_AT.match(caption, intro.end())
        starts.append(prefixed.end() if prefixed else intro.end())
    first_problem: TokenProblem | None = None
    for start in sorted(set(starts)):
        collected = _collect(caption, start)
        if collected is None:
            first_problem = first_problem or TokenProblem.WRONG_LENGTH
            continue
        if not collected or (len(collected) != DATA_LENGTH + 1 and not any(c.isdigit() for c in collected)):
            # "le CG a validé", "consentement obtenu oralement": words, not a token typed wrong. (A token
            # has a digit in all but 0.2% of cases, and those are still found when typed correctly.)
            continue
        result = _check(collected)
        if result.token is not None:
            return result
        first_problem = first_problem or result.problem
    if first_problem is None and _INTRODUCER.search(caption) and re.search(r"#\s*consent", caption, re.I):
        # "#consent" with nothing after it: the poster tried, and must hear what is wrong.
        return TokenSearch(problem=TokenProblem.WRONG_LENGTH)
    return TokenSearch(problem=first_problem)
