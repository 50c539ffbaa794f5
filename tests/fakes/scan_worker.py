"""``python -m tests.fakes.scan_worker``: the production worker (bootstrap.run_worker) on the marker engine.

Settings come from the environment, as for ``consentguard worker``; only the detectors differ: the marker
engine of tests.fakes.engines (b"SLOW..." takes a quarter of a second, b"FACE" finds a face), in one scan
process, so that the end-to-end tests can kill a worker while it holds a job.
"""

from __future__ import annotations

import asyncio
import logging

from bot.bootstrap import run_worker
from bot.scanning import ProcessPoolScanner
from config.settings import Settings
from tests.fakes.engines import marker_engine


async def main() -> None:
    settings = Settings()
    pool = ProcessPoolScanner(marker_engine, workers=1, budget_s=30.0)
    await pool.warm_up()
    try:
        await run_worker(settings, scanner=pool)
    finally:
        await pool.aclose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(main())
