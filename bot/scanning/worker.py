"""ScanWorker: ``consentguard worker``, consuming the scan jobs of :mod:`bot.scanning.jobs` from Redis.

Each worker process joins the consumer group and takes at most as many jobs as it has scan processes (a
job never waits in a busy worker while another is idle). A job is acknowledged only in the transaction that
stores its result; a worker killed mid-scan leaves its jobs pending, and any live worker claims them once
they have been idle ``claim_idle_s`` (longer than the detection budget, so a slow scan is not taken twice).
A job delivered ``max_deliveries`` times without a result (it kills every worker that takes it) goes to the
dead-letter stream and gets a failed result: its post is quarantined, never left up waiting.

Stopping (SIGTERM) is graceful: no new job is read, the ones in hand are finished and acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot.core.deidentified import Deidentifier
from bot.core.ports import ImageScanner
from bot.scanning.jobs import (
    GROUP,
    JobSealer,
    QueueKeys,
    dead_letter_report,
    encode_rendering,
    encode_report,
)
from detectors.engine import ScanReport

log = logging.getLogger(__name__)

#: Consumers gone this long with nothing pending are removed from the group (a restarted worker is a new one).
_STALE_CONSUMER_MS = 24 * 3600 * 1000
_DEAD_LETTERS_KEPT = 10_000
#: Seconds a de-identified rendering stays in Redis (sealed) for the front end that asked for it.
_RENDERING_TTL_S = 600
#: Seconds between two "alive" marks in the workers hash.
_BEAT_S = 5.0


def consumer_name() -> str:
    """A name of this worker process in the group: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class ScanWorker:
    """Reads scan jobs from the group, scans them with ``scanner`` and stores the results."""

    def __init__(
        self,
        redis: Redis,
        sealer: JobSealer,
        keys: QueueKeys,
        scanner: ImageScanner,
        *,
        concurrency: int,
        claim_idle_s: float,
        max_deliveries: int,
        result_ttl_s: int,
        consumer: str | None = None,
        block_s: float = 2.0,
        deidentifier: Deidentifier | None = None,
    ) -> None:
        self._redis = redis
        self._sealer = sealer
        self._keys = keys
        self._scanner = scanner
        self._concurrency = max(1, concurrency)
        self._claim_idle_ms = int(claim_idle_s * 1000)
        self._max_deliveries = max_deliveries
        self._result_ttl_s = result_ttl_s
        self.consumer = consumer or consumer_name()
        self._block_ms = int(block_s * 1000)
        # Renders de-identified reposts for the front ends; None: this worker renders none (no offer).
        self._deidentifier = deidentifier
        self._tasks: set[asyncio.Task[None]] = set()
        #: Jobs this worker stored a result for, scanned or dead-lettered (for tests and the benchmark).
        self.stored = 0
        self.dead_lettered = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Consume jobs until ``stop`` is set, then finish the jobs in hand."""
        await self._ensure_group()
        loop = asyncio.get_running_loop()
        next_claim = next_beat = 0.0
        try:
            while not stop.is_set():
                try:
                    if loop.time() >= next_beat:
                        # Operators (and the benchmark) count live workers here; Redis lists a consumer
                        # only once it has been given a job.
                        now, _micro = await self._redis.time()  # Redis's clock: hosts' clocks differ
                        await self._redis.hset(self._keys.workers, self.consumer, str(now))
                        next_beat = loop.time() + _BEAT_S
                    free = self._concurrency - len(self._tasks)
                    if free <= 0:
                        await asyncio.wait(self._tasks, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                        continue
                    entries: list[tuple[Any, dict[bytes, bytes]]] = []
                    if loop.time() >= next_claim:
                        entries = await self._claim_abandoned(free)
                        next_claim = loop.time() + max(0.5, self._claim_idle_ms / 4000)
                    if not entries:
                        entries = await self._read_new(free)
                    for entry_id, fields in entries:
                        self._start(entry_id, fields)
                except ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    log.warning("the scan job group is gone (Redis restarted?); creating it again")
                    await self._ensure_group()
                except (RedisError, OSError) as exc:
                    log.warning("Redis unavailable (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(1.0)
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(RedisError, OSError):
                await self._redis.hdel(self._keys.workers, self.consumer)

    # -- reading -------------------------------------------------------------------------------------------

    async def _ensure_group(self) -> None:
        while True:
            try:
                await self._redis.xgroup_create(self._keys.jobs, GROUP, id="0", mkstream=True)
                return
            except ResponseError as exc:
                if "BUSYGROUP" in str(exc):
                    return
                raise
            except (RedisError, OSError) as exc:
                log.warning("Redis unavailable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)

    async def _read_new(self, count: int) -> list[tuple[Any, dict[bytes, bytes]]]:
        response: Any = await self._redis.xreadgroup(
            GROUP, self.consumer, {self._keys.jobs: ">"}, count=count, block=self._block_ms
        )
        return [entry for _stream, entries in response or [] for entry in entries]

    async def _claim_abandoned(self, count: int) -> list[tuple[Any, dict[bytes, bytes]]]:
        """Take over jobs left pending by a worker that died; dead-letter those delivered too often."""
        pending = await self._redis.xpending_range(
            self._keys.jobs, GROUP, min="-", max="+", count=count, idle=self._claim_idle_ms
        )
        taken: list[tuple[Any, dict[bytes, bytes]]] = []
        for item in pending:
            entry_id, deliveries = item["message_id"], int(item["times_delivered"])
            # XCLAIM with the idle bound: of two workers racing for one job, exactly one gets it.
            claimed: Any = await self._redis.xclaim(
                self._keys.jobs, GROUP, self.consumer, self._claim_idle_ms, [entry_id]
            )
            if not claimed:
                continue
            claimed_id, fields = claimed[0]
            if not fields:  # the entry was deleted (its result is stored): only the acknowledgement was lost
                await self._redis.xack(self._keys.jobs, GROUP, claimed_id)
                continue
            log.warning("took over a scan job abandoned by a worker (delivery %d)", deliveries + 1)
            if deliveries >= self._max_deliveries:
                await self._dead_letter(claimed_id, fields, deliveries)
            else:
                taken.append((claimed_id, fields))
        await self._forget_stale_consumers()
        return taken

    async def _forget_stale_consumers(self) -> None:
        with contextlib.suppress(ResponseError):
            for consumer in await self._redis.xinfo_consumers(self._keys.jobs, GROUP):
                name = consumer["name"]
                name = name.decode() if isinstance(name, bytes) else str(name)
                if (
                    consumer["pending"] == 0
                    and consumer["idle"] > _STALE_CONSUMER_MS
                    and name != self.consumer
                ):
                    await self._redis.xgroup_delconsumer(self._keys.jobs, GROUP, name)
        # Workers killed without a word (kill -9, a lost host) leave their last "alive" mark behind.
        now, _micro = await self._redis.time()
        marks = await self._redis.hgetall(self._keys.workers)
        stale = [name for name, mark in marks.items() if int(mark) < now - _STALE_CONSUMER_MS // 1000]
        if stale:
            await self._redis.hdel(self._keys.workers, *stale)

    # -- handling ------------------------------------------------------------------------------------------

    def _start(self, entry_id: Any, fields: dict[bytes, bytes]) -> None:
        task = asyncio.create_task(self._handle(entry_id, fields))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, entry_id: Any, fields: dict[bytes, bytes]) -> None:
        job_id = fields.get(b"id", b"").decode("ascii", "replace")
        try:
            if not job_id or await self._redis.exists(self._keys.result(job_id)):
                # Enqueued twice (a front end restarted, a lost job enqueued again): judged on the first.
                await self._acknowledge(entry_id)
                return
            kind = fields.get(b"kind", b"scan")
            if await self._expired(entry_id, fields):
                log.warning("a scan job waited longer than its front end does; skipped (it failed closed)")
                late = ScanReport(error="scan job expired in the queue", error_type="ScanTimeout")
                await self._store(job_id, entry_id, encode_report(late))
                return
            try:
                data, name_hint = self._sealer.open(job_id, fields.get(b"job", b""))
            except ValueError:
                log.error("a scan job does not open with this worker's queue key; failing it closed")
                failed = ScanReport(error="scan job unreadable by the worker", error_type="DetectorError")
                await self._store(job_id, entry_id, encode_report(failed))
                return
            if kind == b"deidentify":
                jpeg = await self._deidentifier.render(data, name_hint) if self._deidentifier else None
                rendering = encode_rendering(self._sealer, job_id, jpeg)
                # A rendering is fetched at once by the front end that asked: kept minutes, not a day.
                await self._store(
                    job_id, entry_id, rendering, ttl_s=min(self._result_ttl_s, _RENDERING_TTL_S)
                )
            else:
                report = await self._scanner.scan(data, name_hint)
                await self._store(job_id, entry_id, encode_report(report))
            del data
        except Exception as exc:  # the job stays pending: another worker (or this one) claims it later
            log.error("scan job failed in the worker (%s); left for redelivery", type(exc).__name__)

    async def _expired(self, entry_id: Any, fields: dict[bytes, bytes]) -> bool:
        """Whether the job's front end stopped waiting for it (the entry id holds Redis's enqueue time)."""
        try:
            wait_ms = int(fields.get(b"wait_ms", b"0"))
            raw_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            enqueued_ms = int(raw_id.split("-", 1)[0])
        except ValueError:
            return False
        if wait_ms <= 0:
            return False
        seconds, micro = await self._redis.time()
        return seconds * 1000 + micro // 1000 - enqueued_ms > wait_ms

    async def _store(
        self,
        job_id: str,
        entry_id: Any,
        result: str,
        *,
        ttl_s: int | None = None,
        dead_after: int | None = None,
    ) -> None:
        """Store the result, acknowledge and delete the job, announce it: one transaction."""
        async with self._redis.pipeline(transaction=True) as pipe:
            if dead_after is not None:
                # Only the id and the count: the image and its name stay out of the dead-letter stream.
                pipe.xadd(
                    self._keys.dead,
                    {"id": job_id, "deliveries": str(dead_after)},
                    maxlen=_DEAD_LETTERS_KEPT,
                    approximate=True,
                )
            signed = self._sealer.sign_result(job_id, result)
            pipe.set(self._keys.result(job_id), signed, ex=ttl_s or self._result_ttl_s, nx=True)
            pipe.xack(self._keys.jobs, GROUP, entry_id)
            pipe.xdel(self._keys.jobs, entry_id)
            pipe.publish(self._keys.done, job_id)
            await pipe.execute()
        self.stored += 1

    async def _acknowledge(self, entry_id: Any) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._keys.jobs, GROUP, entry_id)
            pipe.xdel(self._keys.jobs, entry_id)
            await pipe.execute()

    async def _dead_letter(self, entry_id: Any, fields: dict[bytes, bytes], deliveries: int) -> None:
        job_id = fields.get(b"id", b"").decode("ascii", "replace")
        log.error("a scan job was delivered %d times without a result; dead-lettered", deliveries)
        report = encode_report(dead_letter_report(deliveries))
        await self._store(job_id, entry_id, report, dead_after=deliveries)
        self.dead_lettered += 1
