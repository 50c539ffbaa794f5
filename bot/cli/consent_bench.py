"""``consentguard bench-consent``: lookups per second through the real client against a local registry."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.consent.model import ConsentStatus
from bot.consent.token import parse_token
from config.settings import Settings


async def run_consent_bench(settings: Settings, *, lookups: int, concurrency: int) -> dict[str, Any]:
    """Start a throwaway registry (SQLite in a temporary folder), issue a token, and time lookups."""
    from bot.bootstrap import consent_lookup
    from bot.registry.commands import new_consent

    with tempfile.TemporaryDirectory(prefix="consentguard-bench-") as folder:
        # The embedded registry of a throwaway data directory, exactly as `run` starts it; its per-key rate
        # limit protects against guessing and is lifted here to measure raw throughput.
        bench_settings = settings.model_copy(
            update={
                "data_dir": Path(folder),
                "consent": settings.consent.model_copy(
                    update={"url": None, "registry_database_url": None, "registry_lookups_per_minute": 10**9}
                ),
            }
        )
        database = bench_settings.registry_database()
        record = new_consent(
            database,
            patient_ref="BENCH-1",
            groups=["telegram:-1"],
            clinicians=["telegram:1"],
            purposes=["advice"],
            days=1,
            max_images=None,
        )
        token = parse_token(str(record["token"]))
        latencies: list[float] = []
        async with consent_lookup(bench_settings, cache_ttl_s=0.0) as client:
            await client.lookup(token)  # warm-up: connection, SQLite page cache
            queue: asyncio.Queue[None] = asyncio.Queue()
            for _ in range(lookups):
                queue.put_nowait(None)

            async def worker() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    started = time.perf_counter()
                    answer = await client.lookup(token)
                    latencies.append((time.perf_counter() - started) * 1000)
                    if answer.status is not ConsentStatus.GRANTED:
                        raise RuntimeError("benchmark token not granted")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "lookups": len(latencies),
        "concurrency": concurrency,
        "lookups_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[round(0.95 * (len(ordered) - 1))], 2),
        "max_ms": round(ordered[-1], 2),
        "database": "SQLite (temporary file)",
        "elapsed_s": round(elapsed, 2),
    }
