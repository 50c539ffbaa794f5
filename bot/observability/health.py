"""Liveness and readiness for an orchestrator: ``/healthz`` and ``/readyz`` of a running bot.

``/healthz`` (liveness) answers 200 while every platform loop of the process runs, 503 once one has stopped
(restart the process). ``/readyz`` (readiness) answers 200 when every check passes now (the database
answers, each platform is connected), 503 otherwise with the failing checks named; a load balancer sends
traffic only to ready replicas. Bodies name checks and say ok or not, nothing else: no id, no message, no
error text (an error could carry a value from the database).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)

#: One readiness check: True when that part is ready now.
Check = Callable[[], Awaitable[bool]]
#: How long one check may take before it counts as failed.
CHECK_TIMEOUT_S = 2.0


async def _run(name: str, check: Check) -> bool:
    try:
        return await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_S)
    except Exception as exc:  # a check that fails or hangs is a "not ready", never a 500
        log.warning("readiness check %s failed: %s", name, type(exc).__name__)
        return False


def create_health_app(*, alive: Callable[[], bool], checks: Mapping[str, Check]) -> FastAPI:
    """The two endpoints over ``alive`` (the process's loops run) and the readiness ``checks``."""
    app = FastAPI(title="consentguard health", docs_url=None, redoc_url=None, openapi_url=None)

    async def healthz() -> JSONResponse:
        ok = alive()
        return JSONResponse({"status": "ok" if ok else "down"}, status_code=200 if ok else 503)

    async def readyz() -> JSONResponse:
        names = list(checks)
        results = await asyncio.gather(*(_run(name, checks[name]) for name in names))
        ready = dict(zip(names, results, strict=True))
        ok = alive() and all(results)
        body = {"status": "ready" if ok else "not ready", "checks": ready}
        return JSONResponse(body, status_code=200 if ok else 503)

    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/readyz", readyz, methods=["GET"])
    return app
