"""InlineScanner: the ImageScanner port on an engine in a thread of this process (demos and tests)."""

from __future__ import annotations

import asyncio

from detectors.engine import ScanEngine, ScanReport


class InlineScanner:
    """ImageScanner running an engine in a thread of this process (for one-machine demos and tests)."""

    def __init__(self, engine: ScanEngine, *, budget_s: float = 30.0) -> None:
        self._engine = engine
        self._budget_s = budget_s

    async def scan(self, data: bytes, name_hint: str) -> ScanReport:
        """Scan in a worker thread; the budget counts from when the thread starts, not time queued for one."""
        loop = asyncio.get_running_loop()
        started = asyncio.Event()

        def run() -> ScanReport:
            loop.call_soon_threadsafe(started.set)
            return self._engine.scan(data, name_hint=name_hint)

        future = loop.run_in_executor(None, run)
        await started.wait()
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=self._budget_s)
        except TimeoutError:
            return ScanReport(
                error=f"scan exceeded its {self._budget_s:.0f} s budget", error_type="ScanTimeout"
            )

    async def aclose(self) -> None:
        """Close the engine."""
        self._engine.close()
