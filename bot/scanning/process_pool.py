"""ProcessPoolScanner: the ImageScanner port (bot.core.ports) on a pool of worker processes.

The detectors are CPU-bound and hold native models, so they run in worker processes (one per core), each
building its ScanEngine once. Every image has a time budget: past it the scan counts as failed (the pipeline
then quarantines, it never allows) and, since a running task cannot be cancelled, a pool whose workers keep
overrunning is replaced.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor

from detectors.engine import ScanEngine, ScanReport

log = logging.getLogger(__name__)


# -- worker side: one engine per process ------------------------------------------------------------

_worker_engine: ScanEngine | None = None  # set once per worker process by _init_worker

#: Builds a worker's engine: a picklable callable (a module-level function, or a partial of one).
EngineFactory = Callable[[], ScanEngine]


def _init_worker(build_engine: EngineFactory) -> None:
    global _worker_engine
    _worker_engine = build_engine()


def _scan_in_worker(data: bytes, name_hint: str) -> ScanReport:
    if _worker_engine is None:  # pragma: no cover - the initializer always runs first
        return ScanReport(error="scan engine not initialised", error_type="DetectorError")
    return _worker_engine.scan(data, name_hint=name_hint)


class ProcessPoolScanner:
    """ImageScanner on a pool of worker processes, with a per-image time budget."""

    def __init__(self, build_engine: EngineFactory, *, workers: int | None = None, budget_s: float) -> None:
        self._build_engine = build_engine  # workers get this factory, never the settings and their secrets
        self._workers = workers or max(1, os.cpu_count() or 1)
        self._budget_s = budget_s
        self._pool = self._new_pool()
        self._overruns = 0

    def _new_pool(self) -> ProcessPoolExecutor:
        # "spawn": native model runtimes (MediaPipe, ONNX Runtime) do not survive fork with threads running.
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(self._build_engine,),
        )

    async def warm_up(self) -> None:
        """Start every worker and load its models now rather than on the first post."""
        await asyncio.gather(*(self.scan(b"", "warm-up") for _ in range(self._workers)))

    async def scan(self, data: bytes, name_hint: str) -> ScanReport:
        """Scan in a worker; a budget overrun or a dead worker is a failed scan."""
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._pool, _scan_in_worker, data, name_hint)
            report = await asyncio.wait_for(future, timeout=self._budget_s)
        except TimeoutError:
            self._overruns += 1
            log.warning("scan exceeded its %.1f s budget", self._budget_s)
            if self._overruns >= self._workers:
                self._restart()
            return ScanReport(
                error=f"scan exceeded its {self._budget_s:.0f} s budget", error_type="ScanTimeout"
            )
        except BrokenExecutor:
            log.error("a scan worker died; restarting the pool")
            self._restart()
            return ScanReport(error="scan worker crashed", error_type="DetectorError")
        self._overruns = 0
        return report

    def _restart(self) -> None:
        old = self._pool
        self._pool = self._new_pool()
        self._overruns = 0
        for process in list(getattr(old, "_processes", {}).values()):
            process.kill()  # the only way to stop a detector stuck in native code
        old.shutdown(wait=False, cancel_futures=True)

    async def aclose(self) -> None:
        """Shut the workers down."""
        await asyncio.to_thread(self._pool.shutdown, True, cancel_futures=True)
