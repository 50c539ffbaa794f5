"""Redis restarted mid-burst, end to end: the real Telegram front end, its posts waiting on the scan queue.

The broker is a ``redis-server`` of the test's own without persistence (the machine's Redis keeps nothing on
disk either): killing it loses every queued job. The posts are in the work log (SQLite here), so nothing is
lost: the front end enqueues the jobs again once Redis is back, a worker judges them, each post once.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from pathlib import Path

from redis.asyncio import Redis

from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.scanning.jobs import JobSealer, QueueKeys
from bot.scanning.queue_scanner import QueueScanner
from bot.scanning.worker import ScanWorker
from tests.bot.platforms.telegram_harness import GROUP_ID, start_bot, stop_bot
from tests.fakes.platform import StubScanner
from tests.fakes.redis import OwnRedis

POSTERS = list(range(3000, 3008))


async def test_a_broker_restart_mid_burst_loses_no_post(tmp_path: Path) -> None:
    broker = OwnRedis(tmp_path)
    broker.start()
    key = secrets.token_bytes(32)
    keys = QueueKeys("restart")
    front = QueueScanner(
        Redis.from_url(broker.url), JobSealer(key), keys, wait_s=20, requeue_check_s=0.5, sweep_s=0.1
    )
    try:
        async with FakeTelegramServer() as server:
            server.add_group(GROUP_ID, "Réa")
            for poster in POSTERS:
                server.add_user(poster, f"Dr {poster}", started_bot=True)
            bot = await start_bot(
                server,
                tmp_path / "data",
                '[default]\nmode = "identifying-only"\n',
                front,
                # Eight posts scanning at once: all eight jobs are in Redis when it goes down.
                extra_settings={"detection": {"workers": 4}},
            )
            try:
                photos = [b"FACE %d" % i if i % 2 == 0 else b"CLEAN %d" % i for i in range(len(POSTERS))]
                posted = [
                    server.post_photo(GROUP_ID, p, photo) for p, photo in zip(POSTERS, photos, strict=True)
                ]
                raw = Redis.from_url(broker.url)
                async with asyncio.timeout(30):
                    while await raw.xlen(keys.jobs) < len(POSTERS):  # noqa: ASYNC110 - polled
                        await asyncio.sleep(0.02)
                await raw.aclose()
                broker.stop()  # every queued job is gone; no worker had started
                await asyncio.sleep(0.5)
                broker.start()
                stub = StubScanner()
                worker = ScanWorker(
                    Redis.from_url(broker.url), JobSealer(key), keys, stub,
                    concurrency=2, claim_idle_s=30, max_deliveries=3, result_ttl_s=600, block_s=0.1,
                )  # fmt: skip
                stop = asyncio.Event()
                running = asyncio.create_task(worker.run(stop))
                await bot.settle()
                faces = [m for i, m in enumerate(posted) if i % 2 == 0]
                await server.wait_until(lambda: len(server.deleted) >= len(faces), timeout=30)
                await bot.frontend.idle()
                stop.set()
                await running
                await worker._redis.aclose()
                decisions = {str(m["message_id"]): [e["reason"] for e in bot.audit(m)] for m in posted}
                unfinished = bot.core.storage.worklog.unfinished()
            finally:
                await stop_bot(bot)
                await front.aclose()  # a scanner given to the core is the caller's to close
    finally:
        broker.stop()
    removed = Counter(int(c.params["message_id"]) for c in server.calls_of("deleteMessage"))
    assert removed == Counter(m["message_id"] for m in faces)  # the faces, each once
    assert sorted(stub.scanned) == sorted(photos)  # every image scanned once, after the restart
    assert all(len(reasons) == 1 for reasons in decisions.values())  # each post judged once
    assert unfinished == []
    assert front.requeued >= len(POSTERS)
