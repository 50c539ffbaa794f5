"""QueueScanner: the ImageScanner port (bot.core.ports) on detection workers apart, through Redis Streams.

The front end does no detection: each image becomes a sealed job on the jobs stream (see
:mod:`bot.scanning.jobs`) and the scan waits for its stored result. It is the Deidentifier port
(bot.core.deidentified) too: a de-identified repost is rendered by a worker, the same way. One listener task
serves every waiting scan: it wakes them on the workers' announcements and, every ``sweep_s``, reads the
results of all of them at once (an announcement missed during a reconnection costs a second, never a post).

Nothing here may leave a post waiting for ever (a post left up unjudged is a way around the bot):

* Redis restarted without persistence loses the stream: a job waiting ``requeue_check_s`` without a result
  is looked up, and enqueued again when Redis no longer holds it (same id, so at most one result counts);
* no worker running, or all of them too slow: past ``wait_s`` the scan ends as a failed report, and the
  pipeline quarantines the post (fail closed);
* Redis unreachable: the same, once ``wait_s`` has passed; the listener keeps trying to reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.scanning.jobs import DEIDENTIFY, SCAN, JobKind, JobSealer, QueueKeys, decode_rendering, decode_report
from detectors.engine import ScanReport

log = logging.getLogger(__name__)


class _ClosedError(Exception):
    """The scanner closed while a job waited (its post resumes from the work log after the restart)."""


#: A job's verified result (its text), or None when the stored result failed authentication.
_Answer = str | None


@dataclass(slots=True)
class _Waiting:
    """Callers waiting for one job's result (the same image may be scanned for two posts at once)."""

    kind: JobKind
    sealed: bytes
    futures: list[asyncio.Future[_Answer]] = field(default_factory=list)
    entry_id: str | None = None  # the stream entry, once enqueued
    checked_at: float = 0.0
    # Enqueueing failed (Redis down): the listener enqueues it. Not merely "no entry yet": a job being
    # enqueued by its caller must not be enqueued by the listener too (it would be scanned twice).
    needs_enqueue: bool = False


class QueueScanner:
    """ImageScanner that enqueues sealed jobs for ``consentguard worker`` and waits for their results."""

    def __init__(
        self,
        redis: Redis,
        sealer: JobSealer,
        keys: QueueKeys,
        *,
        wait_s: float,
        requeue_check_s: float = 10.0,
        sweep_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._sealer = sealer
        self._keys = keys
        self._wait_s = wait_s
        self._requeue_check_s = requeue_check_s
        self._sweep_s = sweep_s
        self._monotonic = monotonic
        self._waiting: dict[str, _Waiting] = {}
        self._listener: asyncio.Task[None] | None = None
        self._closed = False
        #: Jobs enqueued again after Redis lost them (for tests and the benchmark).
        self.requeued = 0

    async def scan(self, data: bytes, name_hint: str) -> ScanReport:
        """Enqueue the image (unless its result is known) and wait for its result, ``wait_s`` at most."""
        if self._closed:
            return ScanReport(error="scanner closed", error_type="ScanCancelled")
        try:
            answer = await self._submit(SCAN, data, name_hint)
        except _ClosedError:
            return ScanReport(error="scanner closed", error_type="ScanCancelled")
        except TimeoutError:
            log.error("no worker returned a scan result within %.0f s; failing closed", self._wait_s)
            return ScanReport(
                error=f"no scan result within {self._wait_s:.0f} s (workers down or overloaded)",
                error_type="ScanTimeout",
            )
        if answer is None:
            return ScanReport(error="scan result failed authentication", error_type="DetectorError")
        return decode_report(answer)

    async def render(self, data: bytes, name_hint: str) -> bytes | None:
        """A de-identified JPEG rendered by a worker, or None (none possible, no answer in time, an error).

        None only means no offer is made: the post stays removed either way.
        """
        if self._closed:
            return None
        try:
            answer = await self._submit(DEIDENTIFY, data, name_hint)
        except _ClosedError:
            return None
        except TimeoutError:
            log.warning("no worker returned a de-identified rendering within %.0f s", self._wait_s)
            return None
        if answer is None:
            return None
        return decode_rendering(self._sealer, self._sealer.job_id(data, name_hint, DEIDENTIFY), answer)

    async def _submit(self, kind: JobKind, data: bytes, name_hint: str) -> _Answer:
        """Enqueue a job (unless its result is known) and wait for its answer (TimeoutError past wait_s)."""
        job_id = self._sealer.job_id(data, name_hint, kind)
        future: asyncio.Future[_Answer] = asyncio.get_running_loop().create_future()
        waiting = self._waiting.get(job_id)
        if waiting is None:
            waiting = self._waiting[job_id] = _Waiting(kind, self._sealer.seal(job_id, data, name_hint))
            waiting.futures.append(future)
            try:
                if not await self._take_result(job_id):
                    await self._enqueue(job_id, waiting)
            except RedisError as exc:
                # Redis is down now: the listener enqueues the job once it is back, within ``wait_s``.
                log.warning("scan job could not be enqueued yet (%s); will retry", type(exc).__name__)
                waiting.needs_enqueue = True
        else:
            waiting.futures.append(future)
        self._start_listener()
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=self._wait_s)
        finally:
            self._forget(job_id, future)

    @property
    def waiting(self) -> int:
        """Scan jobs enqueued by this front end and not answered yet (a gauge for /metrics)."""
        return len(self._waiting)

    async def live_workers(self, within_s: float = 30.0) -> int:
        """How many workers said they were alive within ``within_s`` seconds (by Redis's clock)."""
        seconds, _micro = await self._redis.time()
        marks = await self._redis.hvals(self._keys.workers)
        return sum(1 for mark in marks if int(mark) >= int(seconds) - within_s)

    async def aclose(self) -> None:
        """Stop listening; scans still waiting end as failed reports (their posts resume after a restart)."""
        self._closed = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        for waiting in self._waiting.values():
            for future in waiting.futures:
                if not future.done():
                    future.set_exception(_ClosedError())
        await self._redis.aclose()

    # -- jobs ---------------------------------------------------------------------------------------------

    async def _enqueue(self, job_id: str, waiting: _Waiting) -> None:
        # How long the front end waits: a worker skips a job older than that (its post has failed closed
        # already), so that an overloaded queue spends its workers on posts still waiting.
        fields = {
            "id": job_id,
            "kind": waiting.kind,
            "job": waiting.sealed,
            "wait_ms": str(int(self._wait_s * 1000)),
        }
        entry = await self._redis.xadd(self._keys.jobs, fields)  # type: ignore[arg-type]
        waiting.entry_id = entry.decode() if isinstance(entry, bytes) else str(entry)
        waiting.checked_at = self._monotonic()
        waiting.needs_enqueue = False

    async def _take_result(self, job_id: str) -> bool:
        """Resolve the job's scans if its result is stored; True when it was."""
        stored = await self._redis.get(self._keys.result(job_id))
        if stored is None:
            return False
        self._resolve(job_id, self._verified(job_id, stored))
        return True

    def _verified(self, job_id: str, stored: bytes | str) -> _Answer:
        result = self._sealer.verify_result(job_id, stored)
        if result is None:
            log.error("a scan result failed authentication (written by something without the queue key)")
        return result

    def _resolve(self, job_id: str, answer: _Answer) -> None:
        waiting = self._waiting.pop(job_id, None)
        if waiting is None:
            return
        for future in waiting.futures:
            if not future.done():
                future.set_result(answer)

    def _forget(self, job_id: str, future: asyncio.Future[_Answer]) -> None:
        waiting = self._waiting.get(job_id)
        if waiting is None:
            return
        with contextlib.suppress(ValueError):
            waiting.futures.remove(future)
        if not waiting.futures:
            del self._waiting[job_id]

    # -- the listener -------------------------------------------------------------------------------------

    def _start_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="scan-results")

    async def _listen(self) -> None:
        """Until closed: wake scans on announcements; sweep results and lost jobs every ``sweep_s``."""
        pubsub: Any = None
        next_sweep = 0.0
        while not self._closed:
            try:
                if pubsub is None:
                    pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                    await pubsub.subscribe(self._keys.done)
                    next_sweep = 0.0  # announcements may have been missed while unsubscribed
                message = await pubsub.get_message(timeout=self._sweep_s)
                if message is not None and message.get("type") == "message":
                    job_id = message["data"].decode("ascii", "replace")
                    if job_id in self._waiting:
                        await self._take_result(job_id)
                if self._monotonic() >= next_sweep:
                    await self._sweep()
                    next_sweep = self._monotonic() + self._sweep_s
            except (RedisError, OSError) as exc:
                log.warning("scan results: Redis unavailable (%s); retrying", type(exc).__name__)
                if pubsub is not None:
                    with contextlib.suppress(RedisError, OSError):
                        await pubsub.aclose()
                pubsub = None
                await asyncio.sleep(self._sweep_s)
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def _sweep(self) -> None:
        """Read every waiting job's result in one round trip; enqueue again the jobs Redis lost."""
        if not self._waiting:
            return
        job_ids = list(self._waiting)
        stored = await self._redis.mget([self._keys.result(job_id) for job_id in job_ids])
        now = self._monotonic()
        for job_id, value in zip(job_ids, stored, strict=True):
            if value is not None:
                self._resolve(job_id, self._verified(job_id, value))
                continue
            waiting = self._waiting.get(job_id)
            if waiting is None:
                continue
            if waiting.needs_enqueue:
                await self._enqueue(job_id, waiting)  # Redis was down when the scan began
            elif waiting.entry_id is not None and now - waiting.checked_at >= self._requeue_check_s:
                await self._check_still_queued(job_id, waiting)

    async def _check_still_queued(self, job_id: str, waiting: _Waiting) -> None:
        entry = waiting.entry_id or "0-0"
        waiting.checked_at = self._monotonic()
        entries = await self._redis.xrange(self._keys.jobs, entry, entry)
        if entries:
            return  # queued or being scanned
        # Gone without a result: the worker stores the result and deletes the entry in one transaction,
        # so the result may have landed between the two reads; enqueueing again then costs one more scan,
        # which finds the result stored and changes nothing.
        if await self._take_result(job_id):
            return
        log.warning("a scan job was lost by Redis (restarted?); enqueued again")
        self.requeued += 1
        await self._enqueue(job_id, waiting)
