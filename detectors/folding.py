"""One folding of OCR text for every text rule: lower case, no accents, typographic marks made plain.

Identifier rules match on a folded copy of each line whose character positions are those of the original
(so the original case stays at hand for names): the fold therefore maps one character to one character.
"""

from __future__ import annotations

import unicodedata
from types import MappingProxyType
from typing import Final

__all__ = ["FOLD_TABLE", "fold"]


def _build_fold_table() -> dict[int, str]:
    """Map each Latin character to one lower-case, accent-free character (lengths must not change)."""
    table: dict[int, str] = {}
    code_points = [*range(0x20, 0x250), *range(0xFF01, 0xFF5F)]
    for cp in code_points:
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)).lower()
        if len(base) == 1 and base != ch:
            table[cp] = base
        elif len(ch.lower()) == 1 and ch.lower() != ch:
            table[cp] = ch.lower()
    # Typographic apostrophes, the ordinal "º" of "nº" and no-break spaces, as OCR produces them.
    table.update({0x2019: "'", 0x2018: "'", 0x02BC: "'", 0xB4: "'", 0x60: "'", 0xBA: "°", 0xA0: " "})
    return table


FOLD_TABLE: Final = MappingProxyType(_build_fold_table())


def fold(text: str) -> str:
    """``text`` folded, one character for one (positions in the result are those of ``text``)."""
    return text.translate(FOLD_TABLE)
