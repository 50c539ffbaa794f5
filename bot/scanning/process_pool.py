"""ProcessPoolScanner: the ImageScanner port (bot.core.ports) on worker processes of our own.

The detectors are CPU-bound and hold native models, so they run in worker processes (one per core), each
building its ScanEngine once. We do not use :class:`concurrent.futures.ProcessPoolExecutor`: when one of its
workers hangs in native code the only cure is to kill the whole pool, which cancels every other post's scan,
and its futures start their clock when queued, so a burst made innocent images overrun their budget.

Here each worker process has its own pipe and is driven by one asyncio task. Images wait in a queue in this
process; a driver hands its worker one image at a time, and the image's budget starts only then. A worker that
overruns is killed and replaced alone; a worker that dies (a decoder crash) fails only the image it had. A
failed scan is a report with an error (the pipeline then quarantines, it never allows), never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from detectors.engine import ScanEngine, ScanReport

log = logging.getLogger(__name__)

#: Builds a worker's engine: a picklable callable (a module-level function, or a partial of one).
EngineFactory = Callable[[], ScanEngine]

_READY = "ready"
#: Loading the models (MediaPipe, ONNX Runtime) takes seconds; a worker silent this long is broken.
_STARTUP_TIMEOUT_S = 180.0


# -- worker side ------------------------------------------------------------------------------------


def _release_freed_memory() -> Callable[[], object]:
    """Hand the heap freed by the last scan back to the system (glibc's ``malloc_trim``).

    A big image (decoded pixels, OCR tensors) leaves megabytes that glibc keeps for reuse; across two workers
    that kept the bot above its memory target. A no-op where glibc is absent.
    """
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda: None
    return lambda: trim(0)


def _worker_main(conn: Connection, build_engine: EngineFactory) -> None:
    """A worker process: build the engine once, then scan what the pipe brings until it closes."""
    engine = build_engine()
    release = _release_freed_memory()
    release()
    conn.send(_READY)
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return  # the bot is gone
            if job is None:
                return
            data, name_hint = job
            try:
                report = engine.scan(data, name_hint=name_hint)
            except Exception as exc:  # ScanEngine.scan never raises; a bug there must still fail closed
                report = ScanReport(error=f"scan failed: {type(exc).__name__}", error_type="DetectorError")
            conn.send(report)
            del data, job
            release()
    finally:
        engine.close()


# -- bot side -----------------------------------------------------------------------------------------


class _Worker:
    """One worker process and our end of its pipe. Blocking methods run in the driver's thread."""

    def __init__(self, context: Any, build_engine: EngineFactory) -> None:
        ours, theirs = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_worker_main, args=(theirs, build_engine), daemon=True, name="consentguard-scan"
        )
        self.process.start()
        theirs.close()
        self.conn: Connection = ours

    def wait_ready(self, timeout_s: float) -> bool:
        try:
            return bool(self.conn.poll(timeout_s)) and self.conn.recv() == _READY
        except (EOFError, OSError):
            return False

    def scan(self, data: bytes, name_hint: str, budget_s: float) -> ScanReport | None:
        """The worker's report, or None past the budget. Raises EOFError/OSError if the worker died."""
        self.conn.send((data, name_hint))
        if not self.conn.poll(budget_s):
            return None
        report = self.conn.recv()
        if not isinstance(report, ScanReport):  # pragma: no cover - only our worker writes to this pipe
            raise EOFError("unexpected message from a scan worker")
        return report

    def stop(self, *, kill: bool) -> None:
        if kill:
            self.process.kill()  # the only way to stop a detector stuck in native code
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


@dataclass(slots=True)
class _Job:
    data: bytes
    name_hint: str
    result: asyncio.Future[ScanReport]


class ProcessPoolScanner:
    """ImageScanner on worker processes; each image has a time budget that starts when a worker takes it."""

    def __init__(self, build_engine: EngineFactory, *, workers: int | None = None, budget_s: float) -> None:
        self._build_engine = build_engine  # workers get this factory, never the settings and their secrets
        self._workers = workers or max(1, os.cpu_count() or 1)
        self._budget_s = budget_s
        # "spawn": native model runtimes (MediaPipe, ONNX Runtime) do not survive fork with threads running.
        self._context = multiprocessing.get_context("spawn")
        # One thread per driver for the blocking pipe waits, apart from the loop's default executor (the
        # storage's threads must never wait behind a slow scan).
        self._threads = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="scan-driver")
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._drivers: list[asyncio.Task[None]] = []
        self._first_start: list[asyncio.Future[None]] = []
        self._live: set[_Worker] = set()
        self._closed = False
        #: Workers replaced after an overrun or a crash (for the benchmark and the tests).
        self.replaced_workers = 0

    # -- the port -------------------------------------------------------------------------------------

    async def warm_up(self) -> None:
        """Start every worker and load its models now rather than on the first post."""
        self._start_drivers()
        await asyncio.gather(*self._first_start)

    async def scan(self, data: bytes, name_hint: str) -> ScanReport:
        """Scan in a worker; a budget overrun or a dead worker is a failed scan, never an exception."""
        if self._closed:
            return _closed_report()
        self._start_drivers()
        job = _Job(data, name_hint, asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        # Shielded: a caller that gives up leaves the job to finish (or be skipped), not a broken driver.
        return await asyncio.shield(job.result)

    async def aclose(self) -> None:
        """Stop the workers; scans in progress or still queued end as failed reports."""
        if self._closed:
            return
        self._closed = True
        # Killing the workers ends the scans in progress at once (their drivers see the pipe close and
        # retire them); the pipes stay open until then, for the drivers' threads are still reading them.
        for worker in list(self._live):
            worker.process.kill()
        for _ in self._drivers:
            self._queue.put_nowait(None)
        await asyncio.gather(*self._drivers, return_exceptions=True)
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if job is not None and not job.result.done():
                job.result.set_result(_closed_report())
        self._threads.shutdown(wait=False, cancel_futures=True)

    # -- drivers --------------------------------------------------------------------------------------

    def _start_drivers(self) -> None:
        if self._drivers or self._closed:
            return
        loop = asyncio.get_running_loop()
        self._first_start = [loop.create_future() for _ in range(self._workers)]
        self._drivers = [
            asyncio.create_task(self._drive(started), name=f"scan-driver-{i}")
            for i, started in enumerate(self._first_start)
        ]

    async def _drive(self, started: asyncio.Future[None]) -> None:
        """Feed one worker process, one image at a time, replacing it when it hangs or dies."""
        loop = asyncio.get_running_loop()
        worker = await self._spawn(loop)
        started.set_result(None)
        try:
            while True:
                job = await self._queue.get()
                if job is None:
                    return
                if job.result.done():
                    continue  # its caller went away
                if self._closed:
                    job.result.set_result(_closed_report())
                    continue
                if worker is None:
                    worker = await self._spawn(loop)
                if worker is None:
                    job.result.set_result(
                        ScanReport(error="scan worker could not start", error_type="DetectorError")
                    )
                    await asyncio.sleep(1.0)  # a broken environment: do not spin
                    continue
                current = worker
                try:
                    report, worker = await self._run(loop, current, job)
                except Exception as exc:  # a bug here must not stop this driver: its queue would stall
                    log.error("scan driver failed (%s); replacing its worker", type(exc).__name__)
                    await loop.run_in_executor(None, self._retire, current, True)
                    report, worker = ScanReport(error="scan driver failed", error_type="DetectorError"), None
                if not job.result.done():
                    job.result.set_result(report)
        finally:
            if worker is not None:
                await loop.run_in_executor(None, self._retire, worker, False)

    async def _run(
        self, loop: asyncio.AbstractEventLoop, worker: _Worker, job: _Job
    ) -> tuple[ScanReport, _Worker | None]:
        try:
            report = await loop.run_in_executor(
                self._threads, worker.scan, job.data, job.name_hint, self._budget_s
            )
        except (EOFError, OSError):
            await loop.run_in_executor(None, self._retire, worker, True)
            if self._closed:
                return _closed_report(), None
            log.error("a scan worker died; replacing it (other scans go on)")
            self.replaced_workers += 1
            return ScanReport(error="scan worker crashed", error_type="DetectorError"), None
        if report is None:
            log.warning("scan exceeded its %.1f s budget; replacing its worker alone", self._budget_s)
            await loop.run_in_executor(None, self._retire, worker, True)
            self.replaced_workers += 1
            budget = f"scan exceeded its {self._budget_s:.0f} s budget"
            return ScanReport(error=budget, error_type="ScanTimeout"), None
        return report, worker

    async def _spawn(self, loop: asyncio.AbstractEventLoop) -> _Worker | None:
        if self._closed:
            return None
        try:
            worker = await loop.run_in_executor(self._threads, _Worker, self._context, self._build_engine)
        except Exception as exc:  # out of processes or memory: each scan fails closed until it passes
            log.error("a scan worker could not be started (%s)", type(exc).__name__)
            return None
        self._live.add(worker)
        if await loop.run_in_executor(self._threads, worker.wait_ready, _STARTUP_TIMEOUT_S):
            return worker
        log.error("a scan worker failed to load its models")
        await loop.run_in_executor(None, self._retire, worker, True)
        return None

    def _retire(self, worker: _Worker, kill: bool) -> None:
        self._live.discard(worker)
        worker.stop(kill=kill)


def _closed_report() -> ScanReport:
    return ScanReport(error="scanner closed", error_type="ScanCancelled")
