"""`consentguard run` as operators use it: settings in, every platform with a token started, clean stop."""

import asyncio
import contextlib
import socket
from pathlib import Path

import httpx
import pytest

from bot.bootstrap import Overrides, run
from bot.errors import ConfigurationError
from bot.sandbox.fake_telegram import FakeTelegramServer
from config.settings import Settings
from tests.fakes.platform import StubScanner


async def test_run_moderates_telegram_with_the_embedded_registry(tmp_path: Path) -> None:
    async with FakeTelegramServer() as server:
        server.add_group(-1001, "Groupe")
        server.add_user(42, "Alice", started_bot=True)
        settings = Settings.model_validate(
            {
                "data_dir": tmp_path,
                "telegram": {
                    "token": server.token,
                    "base_url": server.base_url,
                    "base_file_url": server.base_file_url,
                },
            }
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop=stop, overrides=Overrides(scanner=StubScanner())))
        message = server.post_photo(-1001, 42, b"FACE-1", caption="#consent CG-0000-0000-0000-0000-0")
        await server.wait_until(lambda: (-1001, message["message_id"]) in server.deleted, timeout=30)
        reminder = await server.wait_for("sendMessage", lambda c: int(c.params["chat_id"]) == 42)
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    # The embedded registry answered (the token is well formed but unknown) and kept its files.
    assert "aucun consentement" in reminder.params["text"]
    assert (tmp_path / "consent-registry.db").exists()
    assert (tmp_path / "registry-bot.key").stat().st_mode & 0o077 == 0
    assert (tmp_path / "heartbeat").exists()


async def test_run_without_any_token_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CONSENTGUARD_TELEGRAM__TOKEN"):
        await run(Settings.model_validate({"data_dir": tmp_path}))


async def test_run_serves_the_console_on_the_configured_port_while_it_runs(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free port for the console
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with FakeTelegramServer() as server:
        server.add_group(-1001, "Groupe")
        settings = Settings.model_validate(
            {
                "data_dir": tmp_path,
                "telegram": {
                    "token": server.token,
                    "base_url": server.base_url,
                    "base_file_url": server.base_file_url,
                },
                "console": {"port": port, "host": "127.0.0.1"},
            }
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop=stop, overrides=Overrides(scanner=StubScanner())))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            response = None
            for _ in range(500):  # until run has started the console (no timing asserted)
                with contextlib.suppress(httpx.ConnectError):
                    response = await http.get("/")
                    break
                await asyncio.sleep(0.02)
            assert response is not None
            assert response.status_code == 401  # served, and no page without a session
            stop.set()
            await asyncio.wait_for(task, timeout=30)
            with pytest.raises(httpx.ConnectError):  # gone with the bot
                await http.get("/")


async def test_run_serves_liveness_and_readiness_on_the_health_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with FakeTelegramServer() as server:
        server.add_group(-1001, "Groupe")
        settings = Settings.model_validate(
            {
                "data_dir": tmp_path,
                "telegram": {
                    "token": server.token,
                    "base_url": server.base_url,
                    "base_file_url": server.base_file_url,
                },
                "health": {"port": port},
            }
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run(settings, stop=stop, overrides=Overrides(scanner=StubScanner())))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            live = None
            for _ in range(500):  # until run serves it (no timing asserted)
                with contextlib.suppress(httpx.ConnectError):
                    live = await http.get("/healthz")
                    break
                await asyncio.sleep(0.02)
            assert live is not None
            assert live.json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"database": True, "telegram": True}
            server.fail_next("getMe", 502)  # Telegram unreachable for a moment: not ready, still alive
            unready = await http.get("/readyz")
            assert unready.status_code == 503
            assert unready.json()["checks"]["telegram"] is False
            assert (await http.get("/healthz")).status_code == 200
            stop.set()
            await asyncio.wait_for(task, timeout=30)
