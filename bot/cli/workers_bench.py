"""``consentguard bench-workers``: judged images/s through the scan queue, and what scaling out would give.

Three measurements, each printed with how it was taken:

1. **Workers:** for each count in ``--workers``, that many ``consentguard worker`` processes (one scan process
   each: one core) consume ``--images`` jobs that a front end's QueueScanner enqueues at once; images/s from
   the first enqueue to the last result, models loaded before the clock starts.
2. **Broker:** the queue machinery alone on this Redis: jobs of the median image's size through enqueue,
   read, store-and-acknowledge, with scanners that answer at once; and Redis memory per queued job.
3. **Database:** the storage calls each judged post makes (work log accept, audit record, work log done),
   eight posts at a time, on the configured database (PostgreSQL with CONSENTGUARD_STORAGE__DATABASE_URL).
   A quarantined post writes its sealed images too: size the disk by the quarantine, not by this.

The projection for N worker machines is min(N x per-machine rate, broker rate, database rate): the first
bound that binds. Measured on whatever else the machine is doing: say so when quoting the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from config.settings import Settings


def add_commands(commands: Any) -> None:
    """Register ``bench-workers`` on the top-level subparsers."""
    bench = commands.add_parser(
        "bench-workers",
        help="judged images/s through the scan queue with 1 and 2 workers; broker and database capacity",
    )
    bench.add_argument("images", type=Path, metavar="IMAGE_DIR", help="folder of images to scan (cycled)")
    bench.add_argument("--images", dest="count", type=int, default=60, help="jobs per run (default 60)")
    bench.add_argument("--workers", default="1,2", help="worker counts to measure (default 1,2)")
    bench.add_argument("--broker-jobs", type=int, default=2000, help="jobs for the broker measurement")
    bench.add_argument("--posts", type=int, default=500, help="posts for the database measurement")
    bench.set_defaults(handler=_cmd_bench_workers)


_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic"})


def load_images(folder: Path) -> list[tuple[str, bytes]]:
    """The image files of ``folder``, sorted by name."""
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no image file in {folder}")
    return [(p.name, p.read_bytes()) for p in paths]


def _cmd_bench_workers(args: argparse.Namespace, settings: Settings) -> int:
    if settings.queue.url is None:
        print("error: set CONSENTGUARD_QUEUE__URL (redis://127.0.0.1:6379/0) to measure the scan queue")
        return 2
    try:
        images = load_images(args.images)
        counts = [int(c) for c in args.workers.split(",") if c.strip()]
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    asyncio.run(_bench(settings, images, counts, args.count, args.broker_jobs, args.posts))
    return 0


async def _bench(
    settings: Settings,
    images: Sequence[tuple[str, bytes]],
    counts: Sequence[int],
    jobs: int,
    broker_jobs: int,
    posts: int,
) -> None:
    rates: dict[int, float] = {}
    for count in counts:
        rates[count] = await _workers_rate(settings, images, count, jobs)
        print(f"workers {count} (1 scan process each): {jobs} images in {jobs / rates[count]:.1f} s: "
              f"{rates[count]:.2f} images/s")  # fmt: skip
    median_size = int(statistics.median(len(data) for _name, data in images))
    broker, memory = await _broker_rate(settings, median_size, broker_jobs)
    print(f"broker: {broker_jobs} jobs of {median_size / 1024:.0f} KiB through Redis with instant scanners: "
          f"{broker:.0f} jobs/s; {memory / 1024:.0f} KiB of Redis memory per queued job")  # fmt: skip
    database, per_post = await asyncio.to_thread(_database_rate, settings, posts)
    print(f"database ({_database_kind(settings)}): {posts} posts' storage calls, 8 at a time: "
          f"{database:.0f} posts/s; {per_post / 1024:.1f} KiB written per post")  # fmt: skip
    per_worker = max(rates.values()) / max(rates, key=lambda c: rates[c])
    print(f"\nprojection, per worker core {per_worker:.2f} images/s (best measured run / its workers):")
    print("  worker cores  images/s  bound")
    for cores in (1, 2, 4, 8, 16, 32, 64, 128):
        # One image per post, the worst case for the database (albums bring several images per post).
        bounds = {"workers": cores * per_worker, "broker": broker, "database": database}
        bound = min(bounds, key=lambda b: bounds[b])
        print(f"  {cores:>12}  {bounds[bound]:>8.1f}  {bound}")


async def _workers_rate(
    settings: Settings, images: Sequence[tuple[str, bytes]], count: int, jobs: int
) -> float:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from bot.bootstrap import queue_redis, queue_sealer
    from bot.scanning.jobs import QueueKeys
    from bot.scanning.queue_scanner import QueueScanner

    prefix = f"{settings.queue.prefix}-bench-{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "CONSENTGUARD_QUEUE__PREFIX": prefix,
        "CONSENTGUARD_DETECTION__WORKERS": "1",
        "CONSENTGUARD_LOG_LEVEL": "WARNING",
    }
    sealer = queue_sealer(settings)  # created here first, so that the workers read the same key file
    processes = [
        subprocess.Popen(  # noqa: ASYNC220 - our own interpreter and command; started once
            [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(['worker']))"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    redis = Redis.from_url(settings.queue.url or "")
    keys = QueueKeys(prefix)
    try:
        while True:  # models loaded: each worker says it is alive only once ready
            with contextlib.suppress(RedisError):
                if await redis.hlen(keys.workers) >= count:
                    break
            if any(p.poll() is not None for p in processes):
                raise SystemExit("a worker exited before it was ready")
            await asyncio.sleep(0.1)
        front = QueueScanner(queue_redis(settings), sealer, keys, wait_s=3600.0)
        started = time.perf_counter()
        # A name of its own per job: cycled images are new jobs, not answers already stored.
        cycled = [
            (f"bench-{i}-{images[i % len(images)][0]}", images[i % len(images)][1]) for i in range(jobs)
        ]
        await asyncio.gather(*(front.scan(data, name) for name, data in cycled))
        elapsed = time.perf_counter() - started
        await front.aclose()
        return jobs / elapsed
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        await _delete_prefix(redis, prefix)
        await redis.aclose()


async def _broker_rate(settings: Settings, size: int, jobs: int) -> tuple[float, float]:
    from redis.asyncio import Redis

    from bot.bootstrap import queue_redis
    from bot.scanning.jobs import JobSealer, QueueKeys
    from bot.scanning.queue_scanner import QueueScanner
    from bot.scanning.worker import ScanWorker
    from detectors.engine import ScanReport

    class Instant:
        async def scan(self, data: bytes, name_hint: str) -> ScanReport:
            return ScanReport()

        async def aclose(self) -> None:
            return None

    url = settings.queue.url or ""
    prefix = f"{settings.queue.prefix}-bench-{secrets.token_hex(4)}"
    keys = QueueKeys(prefix)
    sealer = JobSealer(secrets.token_bytes(32))
    redis = Redis.from_url(url)
    payload = secrets.token_bytes(size)
    try:
        # Memory per queued job: 100 jobs enqueued with no worker running.
        before = int((await redis.info("memory"))["used_memory"])
        for i in range(100):
            job_id = sealer.job_id(payload, str(i))
            await redis.xadd(keys.jobs, {"id": job_id, "job": sealer.seal(job_id, payload, str(i))})
        per_job = (int((await redis.info("memory"))["used_memory"]) - before) / 100
        await redis.delete(keys.jobs)

        stop = asyncio.Event()
        workers = [
            ScanWorker(queue_redis(settings), sealer, keys, Instant(), concurrency=8, claim_idle_s=60,
                       max_deliveries=3, result_ttl_s=300, block_s=0.5)
            for _ in range(4)
        ]  # fmt: skip
        running = [asyncio.create_task(worker.run(stop)) for worker in workers]
        front = QueueScanner(queue_redis(settings), sealer, keys, wait_s=600.0)
        started = time.perf_counter()
        for start in range(0, jobs, 200):  # 200 in flight at a time, as a busy front end holds
            await asyncio.gather(
                *(front.scan(payload, f"b{i}") for i in range(start, min(jobs, start + 200)))
            )
        elapsed = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*running)
        await front.aclose()
        for worker in workers:
            await worker._redis.aclose()
        return jobs / elapsed, per_job
    finally:
        await _delete_prefix(redis, prefix)
        await redis.aclose()


def _database_rate(settings: Settings, posts: int) -> tuple[float, float]:
    from bot.bootstrap import open_storage
    from bot.consent.model import UserRef
    from bot.domain import AuditEvent

    with tempfile.TemporaryDirectory(prefix="consentguard-bench-db-") as folder:
        bench_settings = settings.model_copy(update={"data_dir": Path(folder)})
        with open_storage(bench_settings) as storage:
            size_before = _database_bytes(storage)
            payload = secrets.token_bytes(600)  # a sealed post payload: ids, caption, image references
            tag = secrets.token_hex(4)

            def one_post(i: int) -> None:
                key = f"bench:{tag}:{i}"
                storage.worklog.accept_revisions([(key, "0", payload)])
                poster = UserRef("bench", str(i))
                event = AuditEvent(
                    platform="bench", chat_id=tag, message_id=str(i), poster=poster, verdict="delete",
                    reason="no-consent-strict",
                )  # fmt: skip
                storage.audit.record(event)
                storage.worklog.mark_done(key, "delete")

            started = time.perf_counter()
            # Eight at a time, as front ends and their threads write: the database's rate, not one client's.
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(one_post, range(posts)))
            elapsed = time.perf_counter() - started
            written = max(0, _database_bytes(storage) - size_before)
    return posts / elapsed, written / posts


def _database_bytes(storage: Any) -> int:
    """The database's size on disk (PostgreSQL: pg_database_size; SQLite: the file)."""
    from sqlalchemy import text

    engine = storage.database.engine
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
        page_count = connection.execute(text("PRAGMA page_count")).scalar_one()
        page_size = connection.execute(text("PRAGMA page_size")).scalar_one()
        return int(page_count) * int(page_size)


def _database_kind(settings: Settings) -> str:
    url = settings.storage.database_url or "sqlite"
    return url.split(":", 1)[0]


async def _delete_prefix(redis: Any, prefix: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]
    if keys:
        await redis.delete(*keys)
