"""The Deidentifier adapter over ``detectors.deidentify``: a real rendering, refusals, one engine."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from bot.scanning import build_scan_engine
from bot.scanning.deidentifier import EngineDeidentifier
from config.settings import DetectionSettings
from detectors.deidentify import NotDeidentified, Refusal
from tests.mediagen import clean_video, face_jpeg


async def test_a_portrait_renders_masked_without_metadata_and_a_video_does_not() -> None:
    # Faces only: OCR's start-up would triple the run time, and the text path is tested in tests/detectors.
    built: list[int] = []

    def build() -> Any:
        built.append(1)
        return build_scan_engine(DetectionSettings(text=False, barcodes=False))

    deidentifier = EngineDeidentifier(build)
    try:
        original = face_jpeg()
        masked = await deidentifier.render(original, "portrait.jpg")
        assert masked is not None
        assert masked != original
        rendered = Image.open(io.BytesIO(masked))
        assert rendered.format == "JPEG"
        assert rendered.size == Image.open(io.BytesIO(original)).size
        assert not rendered.getexif()
        assert await deidentifier.render(clean_video(), "clip.mp4") is None
        assert built == [1]
    finally:
        deidentifier.close()


async def test_a_refusal_or_an_error_gives_none() -> None:
    def refuse(engine: object, data: bytes, *, name_hint: str = "") -> NotDeidentified:
        return NotDeidentified(Refusal.NOT_CLEAN)

    def crash(engine: object, data: bytes, *, name_hint: str = "") -> NotDeidentified:
        raise RuntimeError("decoder bug")

    assert await EngineDeidentifier(object, refuse).render(b"x", "x.jpg") is None  # type: ignore[arg-type]
    assert await EngineDeidentifier(object, crash).render(b"x", "x.jpg") is None  # type: ignore[arg-type]
