"""The scan queue on the machine's real Redis: QueueScanner (front end) and ScanWorker (workers), one process.

Scans are the marker scanner's (tests.fakes.platform.StubScanner: the bytes say what it finds), so each test
is about the queue: sealed jobs, one result per job, acknowledgement with the result, redelivery of a dead
worker's jobs, the dead-letter path, failing closed when no worker answers, and a Redis restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.bootstrap import queue_scanner
from bot.scanning.jobs import DEAD_LETTER, GROUP, JobSealer, QueueKeys, encode_report
from bot.scanning.queue_scanner import QueueScanner
from bot.scanning.worker import ScanWorker
from bot.storage.keys import load_queue_key
from config.settings import Settings
from detectors.engine import ScanReport
from tests.fakes.platform import StubScanner
from tests.fakes.redis import MACHINE_REDIS, OwnRedis
from tests.fakes.settings import make_settings

KEY = secrets.token_bytes(32)


def _scanner(url: str, prefix: str, *, wait_s: float = 20.0, requeue_check_s: float = 10.0) -> QueueScanner:
    return QueueScanner(
        Redis.from_url(url),
        JobSealer(KEY),
        QueueKeys(prefix),
        wait_s=wait_s,
        requeue_check_s=requeue_check_s,
        sweep_s=0.1,
    )


class FakeDeidentifier:
    """Renders b"MASKED:" + the image; None for an image it cannot mask (b"NOMASK...")."""

    def __init__(self) -> None:
        self.rendered: list[bytes] = []

    async def render(self, data: bytes, name_hint: str) -> bytes | None:
        self.rendered.append(data)
        return None if data.startswith(b"NOMASK") else b"MASKED:" + data


def _worker(
    url: str,
    prefix: str,
    scanner: StubScanner,
    *,
    claim_idle_s: float = 30.0,
    key: bytes = KEY,
    deidentifier: FakeDeidentifier | None = None,
) -> ScanWorker:
    return ScanWorker(
        Redis.from_url(url),
        JobSealer(key),
        QueueKeys(prefix),
        scanner,
        deidentifier=deidentifier,
        concurrency=2,
        claim_idle_s=claim_idle_s,
        max_deliveries=3,
        result_ttl_s=600,
        block_s=0.1,
    )


@contextlib.asynccontextmanager
async def running(worker: ScanWorker) -> AsyncIterator[ScanWorker]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await task
        await worker._redis.aclose()


def queue_sealer_key(settings: Settings) -> bytes:
    return load_queue_key(settings)[0]


async def _taken_by_a_worker_that_dies(raw: Redis, keys: QueueKeys, consumer: str) -> bytes:
    """Read the next job as ``consumer`` and never acknowledge it; returns its stream entry id."""
    with contextlib.suppress(ResponseError):  # BUSYGROUP: the front end or a worker made it already
        await raw.xgroup_create(keys.jobs, GROUP, id="0", mkstream=True)
    taken: list[Any] = []
    while not taken:
        taken = await raw.xreadgroup(GROUP, consumer, {keys.jobs: ">"}, count=1, block=100)
    return bytes(taken[0][1][0][0])


async def _raw(url: str) -> Redis:
    return Redis.from_url(url)


async def test_a_job_goes_sealed_and_comes_back_judged_then_leaves_nothing_queued(redis_prefix: str) -> None:
    front = _scanner(MACHINE_REDIS, redis_prefix)
    stub = StubScanner()
    async with running(_worker(MACHINE_REDIS, redis_prefix, stub)):
        face, clean = await asyncio.gather(
            front.scan(b"FACE of a patient", "dupont_jean.jpg"), front.scan(b"CLEAN skin", "b.jpg")
        )
    await front.aclose()
    assert face.kinds == ["face"]
    assert face.error is None
    assert clean.kinds == []
    assert clean.error is None
    assert sorted(stub.scanned) == [b"CLEAN skin", b"FACE of a patient"]
    raw = await _raw(MACHINE_REDIS)
    keys = QueueKeys(redis_prefix)
    assert await raw.xlen(keys.jobs) == 0  # acknowledged and deleted with the result stored
    assert (await raw.xpending(keys.jobs, GROUP))["pending"] == 0
    await raw.aclose()


async def test_what_redis_holds_is_sealed_neither_the_image_nor_its_name_in_clear(redis_prefix: str) -> None:
    front = _scanner(MACHINE_REDIS, redis_prefix, wait_s=0.3)
    report = await front.scan(b"FACE-PIXELS-0123456789", "dupont_jean.jpg")  # no worker: stays queued
    await front.aclose()
    assert report.error_type == "ScanTimeout"  # nobody answered: a failed scan, the post is quarantined
    raw = await _raw(MACHINE_REDIS)
    ((_entry, fields),) = await raw.xrange(QueueKeys(redis_prefix).jobs)
    await raw.aclose()
    stored = b"".join(fields.values())
    assert b"FACE-PIXELS" not in stored
    assert b"dupont" not in stored


async def test_the_same_image_scanned_twice_at_once_is_one_job_one_scan(redis_prefix: str) -> None:
    front = _scanner(MACHINE_REDIS, redis_prefix)
    stub = StubScanner()
    async with running(_worker(MACHINE_REDIS, redis_prefix, stub)):
        reports = await asyncio.gather(*(front.scan(b"FACE twice", "a.jpg") for _ in range(3)))
        again = await front.scan(b"FACE twice", "a.jpg")  # later: the stored result, no new scan
    await front.aclose()
    assert [r.kinds for r in [*reports, again]] == [["face"]] * 4
    assert stub.scanned == [b"FACE twice"]


async def test_a_worker_that_dies_holding_a_job_has_it_redelivered_and_judged_once(redis_prefix: str) -> None:
    keys = QueueKeys(redis_prefix)
    front = _scanner(MACHINE_REDIS, redis_prefix)
    raw = await _raw(MACHINE_REDIS)
    scan = asyncio.create_task(front.scan(b"FACE held by a dead worker", "x.jpg"))
    # A worker takes the job and dies before storing a result: the job stays pending, delivered once.
    await _taken_by_a_worker_that_dies(raw, keys, "dead-worker")
    stub = StubScanner()
    async with running(_worker(MACHINE_REDIS, redis_prefix, stub, claim_idle_s=0.2)) as live:
        report = await scan
    await front.aclose()
    assert report.kinds == ["face"]
    assert stub.scanned == [b"FACE held by a dead worker"]
    assert live.stored == 1
    assert (await raw.xpending(keys.jobs, GROUP))["pending"] == 0
    await raw.aclose()


async def test_a_job_that_kills_every_worker_is_dead_lettered_and_fails_closed(redis_prefix: str) -> None:
    keys = QueueKeys(redis_prefix)
    front = _scanner(MACHINE_REDIS, redis_prefix)
    raw = await _raw(MACHINE_REDIS)
    scan = asyncio.create_task(front.scan(b"FACE poison", "poison.jpg"))
    entry_id = await _taken_by_a_worker_that_dies(raw, keys, "dead-1")
    for dead in ("dead-2", "dead-3"):  # two more workers took it over and died with it
        await raw.xclaim(keys.jobs, GROUP, dead, 0, [entry_id])
    stub = StubScanner()
    async with running(_worker(MACHINE_REDIS, redis_prefix, stub, claim_idle_s=0.05)) as live:
        report = await scan
    await front.aclose()
    assert report.error_type == DEAD_LETTER  # the pipeline quarantines a post on a failed scan
    assert stub.scanned == []
    assert live.dead_lettered == 1
    ((_id, fields),) = await raw.xrange(keys.dead)
    assert set(fields) == {b"id", b"deliveries"}
    assert fields[b"deliveries"] == b"3"
    assert await raw.xlen(keys.jobs) == 0
    await raw.aclose()


async def test_a_worker_with_another_key_fails_the_job_closed_instead_of_guessing(redis_prefix: str) -> None:
    front = _scanner(MACHINE_REDIS, redis_prefix)
    stub = StubScanner()
    async with running(_worker(MACHINE_REDIS, redis_prefix, stub, key=secrets.token_bytes(32))):
        report = await front.scan(b"CLEAN", "a.jpg")
    await front.aclose()
    assert report.error_type == "DetectorError"
    assert stub.scanned == []


async def test_a_stopped_worker_finishes_the_jobs_in_hand_before_it_exits(redis_prefix: str) -> None:
    front = _scanner(MACHINE_REDIS, redis_prefix)
    stub = StubScanner()
    stub.gate = asyncio.Event()
    worker = _worker(MACHINE_REDIS, redis_prefix, stub)
    stop = asyncio.Event()
    run = asyncio.create_task(worker.run(stop))
    scan = asyncio.create_task(front.scan(b"FACE in hand", "a.jpg"))
    while not stub.scanned:  # noqa: ASYNC110 - a list filled by the stub: nothing to await but a poll
        await asyncio.sleep(0.01)
    stop.set()  # SIGTERM while the scan is in progress
    await asyncio.sleep(0.2)
    assert not run.done()
    stub.gate.set()
    await run
    assert (await scan).kinds == ["face"]
    await front.aclose()
    await worker._redis.aclose()


async def test_jobs_lost_in_a_redis_restart_are_enqueued_again_and_judged(tmp_path: Path) -> None:
    server = OwnRedis(tmp_path)
    server.start()
    try:
        front = _scanner(server.url, "restart", requeue_check_s=0.2)
        scans = [asyncio.create_task(front.scan(b"FACE %d" % i, f"{i}.jpg")) for i in range(4)]
        await asyncio.sleep(0.3)  # enqueued; no worker yet
        server.stop()  # everything Redis held is gone
        await asyncio.sleep(0.3)
        server.start()
        stub = StubScanner()
        async with running(_worker(server.url, "restart", stub)):
            reports = await asyncio.gather(*scans)
        await front.aclose()
    finally:
        server.stop()
    assert [r.kinds for r in reports] == [["face"]] * 4
    assert sorted(stub.scanned) == sorted(b"FACE %d" % i for i in range(4))
    assert front.requeued >= 4


async def test_no_result_within_the_wait_is_a_failed_scan_never_a_post_left_waiting(
    redis_prefix: str,
) -> None:
    front = _scanner("redis://127.0.0.1:1/0", redis_prefix, wait_s=0.5)  # nothing listens on port 1
    report = await front.scan(b"FACE", "a.jpg")
    await front.aclose()
    assert report.error_type == "ScanTimeout"
    assert report.identifying


@pytest.mark.parametrize("count", [12])
async def test_two_workers_share_a_burst_each_job_scanned_once(redis_prefix: str, count: int) -> None:
    front = _scanner(MACHINE_REDIS, redis_prefix)
    stubs = [StubScanner(), StubScanner()]
    images = [b"FACE %d" % i if i % 3 == 0 else b"CLEAN %d" % i for i in range(count)]
    async with (
        running(_worker(MACHINE_REDIS, redis_prefix, stubs[0])) as one,
        running(_worker(MACHINE_REDIS, redis_prefix, stubs[1])) as two,
    ):
        reports = await asyncio.gather(*(front.scan(image, "x.jpg") for image in images))
    await front.aclose()
    assert [bool(r.kinds) for r in reports] == [i % 3 == 0 for i in range(count)]
    scanned = stubs[0].scanned + stubs[1].scanned
    assert sorted(scanned) == sorted(images)  # every job once, none twice
    assert one.stored + two.stored == count
    raw = await _raw(MACHINE_REDIS)
    assert await raw.hlen(QueueKeys(redis_prefix).workers) == 0  # each stopped worker said it left
    await raw.aclose()


async def test_a_running_worker_is_listed_alive_before_it_has_a_job(redis_prefix: str) -> None:
    front = _scanner(MACHINE_REDIS, redis_prefix)
    assert await front.live_workers() == 0  # what /readyz reports: no worker, not ready
    async with running(_worker(MACHINE_REDIS, redis_prefix, StubScanner())):
        while await front.live_workers() == 0:  # noqa: ASYNC110 - a hash in Redis: polled
            await asyncio.sleep(0.01)
    assert await front.live_workers() == 0  # a stopped worker takes itself off the list
    await front.aclose()


async def test_a_burst_of_300_scans_waits_for_connections_instead_of_failing(
    redis_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        data_dir=tmp_path, queue={"url": MACHINE_REDIS, "prefix": redis_prefix, "wait_s": 60}
    )
    front = queue_scanner(settings)  # the front end's client, as bootstrap builds it
    stub = StubScanner()
    async with running(_worker(MACHINE_REDIS, redis_prefix, stub, key=queue_sealer_key(settings))):
        reports = await asyncio.gather(*(front.scan(b"CLEAN %d" % i, "x.jpg") for i in range(300)))
    await front.aclose()
    assert all(r.error is None for r in reports)
    assert len(stub.scanned) == 300
    assert "could not be enqueued" not in caplog.text


async def test_a_clean_result_forged_in_redis_without_the_key_fails_closed(redis_prefix: str) -> None:
    keys = QueueKeys(redis_prefix)
    front = _scanner(MACHINE_REDIS, redis_prefix)
    raw = await _raw(MACHINE_REDIS)
    job_id = JobSealer(KEY).job_id(b"FACE forged", "a.jpg")  # ids are visible in the stream
    await raw.set(keys.result(job_id), encode_report(ScanReport()))  # "nothing found", unsigned
    report = await front.scan(b"FACE forged", "a.jpg")
    await front.aclose()
    await raw.aclose()
    assert report.error_type == "DetectorError"  # failed, hence quarantined, never allowed


async def test_a_worker_killed_without_a_word_is_taken_off_the_list_a_day_later(redis_prefix: str) -> None:
    keys = QueueKeys(redis_prefix)
    raw = await _raw(MACHINE_REDIS)
    now, _micro = await raw.time()
    await raw.hset(keys.workers, mapping={"gone-host-1-abc": str(now - 2 * 86400), "recent": str(now - 60)})
    async with running(_worker(MACHINE_REDIS, redis_prefix, StubScanner(), claim_idle_s=0.05)) as worker:
        while await raw.hexists(keys.workers, "gone-host-1-abc"):  # noqa: ASYNC110 - polled
            await asyncio.sleep(0.01)
        assert await raw.hexists(keys.workers, "recent")
        assert await raw.hexists(keys.workers, worker.consumer)
    await raw.aclose()


async def test_a_deidentified_rendering_is_made_by_a_worker_and_travels_sealed(redis_prefix: str) -> None:
    front = _scanner(MACHINE_REDIS, redis_prefix)
    stub, masker = StubScanner(), FakeDeidentifier()
    raw = await _raw(MACHINE_REDIS)
    async with running(_worker(MACHINE_REDIS, redis_prefix, stub, deidentifier=masker)):
        masked = await front.render(b"FACE-PIXELS wound", "a.jpg")
        none = await front.render(b"NOMASK video", "b.mp4")
        report = await front.scan(b"FACE-PIXELS wound", "a.jpg")  # a scan of the same image is its own job
    stored = b"".join(
        [await raw.get(key) or b"" async for key in raw.scan_iter(f"{redis_prefix}:scan:result:*")]
    )
    await front.aclose()
    await raw.aclose()
    assert masked == b"MASKED:FACE-PIXELS wound"
    assert none is None  # no offer: the post stays removed
    assert report.kinds == ["face"]
    assert masker.rendered == [b"FACE-PIXELS wound", b"NOMASK video"]
    assert stub.scanned == [b"FACE-PIXELS wound"]
    assert b"MASKED" not in stored  # the rendering is sealed in Redis too


async def test_a_worker_that_renders_nothing_means_no_offer(redis_prefix: str) -> None:
    front = _scanner(MACHINE_REDIS, redis_prefix)
    async with running(_worker(MACHINE_REDIS, redis_prefix, StubScanner())):
        assert await front.render(b"FACE", "a.jpg") is None
    await front.aclose()


async def test_a_job_its_front_end_gave_up_on_is_skipped_not_scanned(redis_prefix: str) -> None:
    keys = QueueKeys(redis_prefix)
    front = _scanner(MACHINE_REDIS, redis_prefix, wait_s=0.2)
    late = await front.scan(b"FACE queued behind a backlog", "a.jpg")  # no worker in time: fails closed
    assert late.error_type == "ScanTimeout"
    stub = StubScanner()
    raw = await _raw(MACHINE_REDIS)
    async with running(_worker(MACHINE_REDIS, redis_prefix, stub)) as worker:
        while await raw.xlen(keys.jobs):  # noqa: ASYNC110 - polled
            await asyncio.sleep(0.01)
    await front.aclose()
    await raw.aclose()
    assert stub.scanned == []  # the workers' time goes to posts still waiting
    assert worker.stored == 1
