"""Fonts present on this machine: matplotlib's bundled TrueType files, the system's, or Pillow's default.

A font is used for a text only when it has a glyph for every character (checked with fontTools, which
matplotlib brings); otherwise the first font that has them all (DejaVu Sans covers every pool name).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

#: file stem -> style used by the layouts ("sans", "serif", "mono", "bold", "hand")
_WANTED: dict[str, str] = {
    "DejaVuSans": "sans",
    "DejaVuSans-Bold": "bold",
    "DejaVuSansCondensed": "sans",
    "DejaVuSansCondensed-Bold": "bold",
    "DejaVuSans-Oblique": "hand",
    "DejaVuSansMono": "mono",
    "DejaVuSansMono-Bold": "mono",
    "DejaVuSerif": "serif",
    "DejaVuSerif-Bold": "bold",
    "DejaVuSerif-Italic": "hand",
    "STIXGeneral": "serif",
    "STIXGeneralBol": "bold",
    "STIXGeneralItalic": "hand",
    "cmss10": "sans",
    "cmtt10": "mono",
}

_SYSTEM_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/TTF"))


@dataclass(frozen=True, slots=True)
class FontFile:
    """One TrueType file and the characters it can draw (None: unknown, ASCII assumed)."""

    family: str
    style: str
    path: Path | None
    charset: frozenset[int] | None

    def covers(self, text: str) -> bool:
        """Whether every character of the text has a glyph."""
        if self.charset is None:
            return text.isascii()
        return all(ord(ch) in self.charset or ch.isspace() for ch in text)

    def load(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        """The font at a pixel size."""
        return _load(self.path, size)


@functools.lru_cache(maxsize=512)
def _load(path: Path | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(path), size=size)


def _search_dirs() -> list[Path]:
    dirs: list[Path] = []
    try:
        import matplotlib

        dirs.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    except ImportError:
        pass
    dirs.extend(_SYSTEM_DIRS)
    return dirs


def _charset(path: Path) -> frozenset[int] | None:
    try:
        from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        with TTFont(str(path), lazy=True) as font:
            cmap = font.getBestCmap() or {}
            return frozenset(cmap)
    except Exception:  # a broken file is simply not used
        return None


@functools.cache
def available_fonts() -> tuple[FontFile, ...]:
    """The wanted fonts that exist here, in a fixed order (the same machine gives the same list)."""
    found: dict[str, FontFile] = {}
    for directory in _search_dirs():
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*.ttf")):
            stem = path.stem
            if stem in _WANTED and stem not in found:
                found[stem] = FontFile(stem, _WANTED[stem], path, _charset(path))
    fonts = tuple(found[stem] for stem in _WANTED if stem in found)
    if not fonts:
        fonts = (FontFile("PIL-default", "sans", None, None),)
    return fonts


def fonts_of_style(style: str) -> tuple[FontFile, ...]:
    """Fonts of one style, or every font when none has it."""
    fonts = available_fonts()
    return tuple(f for f in fonts if f.style == style) or fonts


def font_for(candidates: tuple[FontFile, ...], pick: int, texts: list[str]) -> FontFile:
    """The picked candidate if it draws every text, else the first font (any style) that does."""
    ordered = [candidates[pick % len(candidates)], *candidates, *available_fonts()]
    for font in ordered:
        if all(font.covers(t) for t in texts):
            return font
    return ordered[0]
