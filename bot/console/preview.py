"""Previews made on the fly: a de-identified rendering, or a neutral placeholder (never the original).

The rendering is the de-identified repost offers' (:class:`bot.scanning.deidentifier.EngineDeidentifier`:
``detectors.deidentify`` with a scan engine built on first use, off the event loop, one rendering at a
time): faces and text masked, its own output rescanned; when it cannot give a clean rendering (a video, a
PDF, a finding it cannot place, a rescan that is not clean), the placeholder is served.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from bot.core.deidentified import Deidentifier


def placeholder_png() -> bytes:
    """A neutral grey image that says the preview is unavailable (in French and English)."""
    image = Image.new("RGB", (320, 200), (224, 224, 224))
    draw = ImageDraw.Draw(image)
    draw.text((20, 80), "aperçu indisponible", fill=(60, 60, 60))
    draw.text((20, 105), "preview unavailable", fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class DeidentifyingPreviewer:
    """Previews through a :class:`~bot.core.deidentified.Deidentifier`: the offers' own rendering.

    Served by ``consentguard run``, the console shares the running core's de-identifier (one engine in
    memory for both, one rendering at a time); the standalone console builds one of its own.
    """

    def __init__(self, deidentifier: Deidentifier) -> None:
        self._deidentifier = deidentifier

    def __repr__(self) -> str:
        return "DeidentifyingPreviewer()"

    async def preview(self, data: bytes, name_hint: str) -> bytes | None:
        """JPEG of a de-identified rendering, or None (nothing rendered clean, an error)."""
        return await self._deidentifier.render(data, name_hint)
