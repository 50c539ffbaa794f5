"""Previews made on the fly: a de-identified rendering, or a neutral placeholder (never the original).

The scan engine is built once per console process, on the first preview (loading the models takes
seconds), and used off the event loop. ``detectors.deidentify`` masks faces and text and rescans its own
output; when it cannot give a clean rendering (a video, a PDF, a finding it cannot place, a rescan that is
not clean), the placeholder is served.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Callable

from PIL import Image, ImageDraw

from detectors.deidentify import Deidentified, NotDeidentified, deidentify
from detectors.engine import ScanEngine

log = logging.getLogger(__name__)

#: Builds the scan engine (the detection settings' detectors), called once.
EngineBuilder = Callable[[], ScanEngine]
#: ``detectors.deidentify.deidentify``'s signature (tests give a fake).
Deidentify = Callable[..., Deidentified | NotDeidentified]


def placeholder_png() -> bytes:
    """A neutral grey image that says the preview is unavailable (in French and English)."""
    image = Image.new("RGB", (320, 200), (224, 224, 224))
    draw = ImageDraw.Draw(image)
    draw.text((20, 80), "aperçu indisponible", fill=(60, 60, 60))
    draw.text((20, 105), "preview unavailable", fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class EngineDeidentifyingPreviewer:
    """Previews through ``detectors.deidentify.deidentify`` with a scan engine built lazily, once."""

    def __init__(self, build_engine: EngineBuilder, render: Deidentify = deidentify) -> None:
        self._build_engine = build_engine
        self._deidentify = render
        self._engine: ScanEngine | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "EngineDeidentifyingPreviewer()"

    async def preview(self, data: bytes, name_hint: str) -> bytes | None:
        """JPEG of a de-identified rendering, or None (no de-identifier, nothing rendered, an error)."""
        return await asyncio.to_thread(self._render, data, name_hint)

    def _render(self, data: bytes, name_hint: str) -> bytes | None:
        try:
            with self._lock:
                if self._engine is None:
                    self._engine = self._build_engine()
                engine = self._engine
            result = self._deidentify(engine, data, name_hint=name_hint)
        except Exception as exc:  # a failed preview shows the placeholder: never the original
            log.warning("preview failed: %s", type(exc).__name__)
            return None
        return result.jpeg if isinstance(result, Deidentified) else None
