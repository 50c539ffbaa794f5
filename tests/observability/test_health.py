"""/healthz and /readyz: what an orchestrator reads, and nothing more."""

from __future__ import annotations

import asyncio

import httpx

from bot.observability.health import create_health_app


async def _get(app: object, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://health.test") as http:
        return await http.get(path)


async def test_ready_when_every_check_passes() -> None:
    async def yes() -> bool:
        return True

    app = create_health_app(alive=lambda: True, checks={"database": yes, "telegram": yes})
    assert (await _get(app, "/healthz")).json() == {"status": "ok"}
    ready = await _get(app, "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": True, "telegram": True}}


async def test_a_failing_raising_or_hanging_check_is_not_ready_and_names_no_error() -> None:
    async def yes() -> bool:
        return True

    async def boom() -> bool:
        raise RuntimeError("password=hunter2 in a connection string")

    async def hang() -> bool:
        await asyncio.Event().wait()
        return True

    app = create_health_app(alive=lambda: True, checks={"database": boom, "telegram": yes, "discord": hang})
    ready = await _get(app, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": False, "telegram": True, "discord": False}
    assert "hunter2" not in ready.text
    assert (await _get(app, "/healthz")).status_code == 200  # alive: not ready is not dead


async def test_a_stopped_loop_is_not_alive() -> None:
    async def yes() -> bool:
        return True

    app = create_health_app(alive=lambda: False, checks={"database": yes})
    assert (await _get(app, "/healthz")).status_code == 503
    assert (await _get(app, "/readyz")).status_code == 503
