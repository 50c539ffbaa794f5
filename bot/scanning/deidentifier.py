"""The Deidentifier port (bot.core.deidentified) over ``detectors.deidentify``, off the event loop.

The scan engine is built on the first rendering (loading the models takes seconds; most bots never make
an offer) and kept, as the console's previewer does; renderings run in a thread, one at a time per engine.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from detectors.deidentify import Deidentified, NotDeidentified, deidentify
from detectors.engine import ScanEngine

log = logging.getLogger(__name__)

#: Builds the scan engine (the detection settings' detectors), called once.
EngineBuilder = Callable[[], ScanEngine]
#: ``detectors.deidentify.deidentify``'s signature (tests give a fake).
Deidentify = Callable[..., Deidentified | NotDeidentified]


class EngineDeidentifier:
    """Renders through ``detectors.deidentify.deidentify`` with a scan engine built lazily, once."""

    def __init__(self, build_engine: EngineBuilder, render: Deidentify = deidentify) -> None:
        self._build_engine = build_engine
        self._deidentify = render
        self._engine: ScanEngine | None = None
        # One rendering at a time: the engine's detectors are not shared between threads.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "EngineDeidentifier()"

    async def render(self, data: bytes, name_hint: str) -> bytes | None:
        """A masked, stripped JPEG whose rescan is clean; None when there is none (or on any error)."""
        return await asyncio.to_thread(self._render, data, name_hint)

    def _render(self, data: bytes, name_hint: str) -> bytes | None:
        try:
            with self._lock:
                if self._engine is None:
                    self._engine = self._build_engine()
                result = self._deidentify(self._engine, data, name_hint=name_hint)
        except Exception as exc:  # no rendering means no offer: never the original
            log.warning("de-identified rendering failed: %s", type(exc).__name__)
            return None
        if isinstance(result, NotDeidentified):
            log.info("no de-identified rendering: %s", result.reason.value)
            return None
        return result.jpeg

    def close(self) -> None:
        """Release the engine's models, if it was ever built."""
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
