"""The process-pool scanner under bursts and faults: budgets count a worker's time only, a stuck or dead
worker is replaced alone, and every scan ends with a report (counts, not timings)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.scanning import ProcessPoolScanner
from bot.scanning.process_pool import _Worker
from detectors.engine import ScanReport
from tests.fakes.engines import SLOW_S, marker_engine

WORKERS = 2


@pytest.fixture
async def pool() -> AsyncIterator[ProcessPoolScanner]:
    # Budget: several SLOW images fit in it one at a time, but not a whole burst's queue.
    scanner = ProcessPoolScanner(marker_engine, workers=WORKERS, budget_s=SLOW_S * 8)
    await scanner.warm_up()
    yield scanner
    await scanner.aclose()


async def test_the_budget_starts_when_a_worker_takes_the_image_not_in_the_queue(
    pool: ProcessPoolScanner,
) -> None:
    burst = 30  # queued for 30 * SLOW_S / 2 workers: about twice the budget for the last ones
    reports = await asyncio.gather(*(pool.scan(b"SLOW-%d" % i, f"photo-{i}.jpg") for i in range(burst)))
    assert [r.error for r in reports] == [None] * burst
    assert pool.replaced_workers == 0


async def test_a_stuck_worker_is_replaced_alone_and_the_other_scans_go_on(pool: ProcessPoolScanner) -> None:
    hung = asyncio.ensure_future(pool.scan(b"HANG", "stuck.jpg"))
    others = [pool.scan(b"SLOW-FACE" if i % 3 == 0 else b"SLOW-%d" % i, f"p{i}.jpg") for i in range(12)]
    reports = await asyncio.gather(*others)
    assert [r.error for r in reports] == [None] * 12
    assert sum(r.identifying for r in reports) == 4
    stuck = await hung
    assert stuck.error_type == "ScanTimeout"
    assert stuck.identifying  # fails closed
    assert pool.replaced_workers == 1
    after = await pool.scan(b"FACE", "after.jpg")  # the replacement works
    assert after.error is None
    assert after.identifying


async def test_a_crashed_worker_fails_only_its_image(pool: ProcessPoolScanner) -> None:
    reports = await asyncio.gather(
        pool.scan(b"CRASH", "evil.jpg"), *(pool.scan(b"SLOW-%d" % i, "ok.jpg") for i in range(6))
    )
    crashed, *fine = reports
    assert crashed.error_type == "DetectorError"
    assert crashed.identifying
    assert [r.error for r in fine] == [None] * 6
    assert pool.replaced_workers == 1


async def test_a_caller_that_gives_up_does_not_break_the_pool(pool: ProcessPoolScanner) -> None:
    waiting = asyncio.ensure_future(pool.scan(b"SLOW", "a.jpg"))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    reports = await asyncio.gather(*(pool.scan(b"SLOW", "b.jpg") for _ in range(4)))
    assert [r.error for r in reports] == [None] * 4


async def test_closing_ends_queued_scans_with_a_failed_report() -> None:
    scanner = ProcessPoolScanner(marker_engine, workers=1, budget_s=60)
    await scanner.warm_up()
    scans = [asyncio.ensure_future(scanner.scan(b"SLOW", f"{i}.jpg")) for i in range(5)]
    await asyncio.sleep(SLOW_S / 2)
    await scanner.aclose()
    reports = await asyncio.gather(*scans)
    assert all(r.error is None or r.error_type == "ScanCancelled" for r in reports)
    assert any(r.error_type == "ScanCancelled" for r in reports)
    late = await scanner.scan(b"FACE", "late.jpg")
    assert late.error_type == "ScanCancelled"
    assert late.identifying


async def test_a_bug_in_a_driver_fails_its_scan_and_the_pool_goes_on(
    pool: ProcessPoolScanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _Worker.scan

    def buggy(self: _Worker, data: bytes, name_hint: str, budget_s: float) -> ScanReport | None:
        if data == b"BUG":
            raise ValueError("a bug between the driver and its worker")
        return real(self, data, name_hint, budget_s)

    monkeypatch.setattr(_Worker, "scan", buggy)
    bug, *others = await asyncio.gather(
        pool.scan(b"BUG", "x.jpg"), *(pool.scan(b"SLOW", "y.jpg") for _ in range(4))
    )
    assert bug.error_type == "DetectorError"
    assert bug.identifying
    assert [r.error for r in others] == [None] * 4
