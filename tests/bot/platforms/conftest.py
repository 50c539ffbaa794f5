"""Fixtures shared by the platforms' end-to-end suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.scanning import InlineScanner, build_scan_engine
from config.settings import DetectionSettings


@pytest.fixture(scope="session")
def scanner() -> Iterator[InlineScanner]:
    """The real engine with its face detector only, built once: what the bypass suites hide faces from,
    without OCR's start-up and run time."""
    engine = build_scan_engine(DetectionSettings(text=False, barcodes=False))
    yield InlineScanner(engine)
    engine.close()
