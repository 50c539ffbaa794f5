"""The front end apart from its detection workers, end to end: real processes, real PostgreSQL and Redis.

The front end is the real python-telegram-bot code against the fake Bot API server (in this process, or
``consentguard run`` in a process of its own); the workers are ``python -m tests.fakes.scan_worker``: the
production worker (bot.bootstrap.run_worker) on the marker engine, each in its own process group, so that
``kill -9`` takes a worker down with its scan process as a lost container would. Counts, never timings.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from bot.bootstrap import Overrides, open_core, open_storage
from bot.platforms.telegram import TelegramFrontend, TelegramPlatform, build_application
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.scanning.jobs import GROUP, QueueKeys
from config.settings import Settings
from tests.fakes.platform import FakeConsentLookup
from tests.fakes.redis import MACHINE_REDIS
from tests.fakes.settings import make_settings

GROUP_ID = -1001
FIRST_MEMBER = 2000
ROOT = Path(__file__).resolve().parents[3]
#: ``consentguard run`` with this interpreter (the console script is a wrapper around the same call).
CONSENTGUARD_RUN = ("-c", "import sys; from bot.cli import main; sys.exit(main(['run']))")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _queue_key() -> str:
    return "k1:" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class Processes:
    """Child processes of the test, each in a session of its own; all killed at the end."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self._tmp_path = tmp_path
        self._env = env
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *args: str, extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = self._tmp_path / f"{name}-{len(self.started)}.log"
        with log.open("wb") as out:  # the child writes to its own copy of the descriptor
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, *args],
                cwd=ROOT,
                env={**self._env, **(extra or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill -9 reaches its scan process too
            )
        self.started.append((process, log))
        return process

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        return next(log.read_text(errors="replace") for p, log in self.started if p is process)

    async def wait_for_line(self, process: subprocess.Popen[bytes], text: str) -> None:
        async with asyncio.timeout(60):
            while text not in self.log_of(process):
                if process.poll() is not None:
                    raise AssertionError(f"process exited:\n{self.log_of(process)[-3000:]}")
                await asyncio.sleep(0.05)

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def kill_all(self) -> None:
        for process, _log in self.started:
            if process.poll() is None:
                self.kill(process)


@pytest.fixture
def queue_env(tmp_path: Path, redis_prefix: str, postgres_url: str) -> dict[str, str]:
    """What every process of the deployment shares: the database, the queue and its key."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "NO_PROXY": "127.0.0.1,localhost",
        "CONSENTGUARD_STORAGE__DATABASE_URL": postgres_url,
        "CONSENTGUARD_QUEUE__URL": MACHINE_REDIS,
        "CONSENTGUARD_QUEUE__PREFIX": redis_prefix,
        "CONSENTGUARD_QUEUE__KEY": _queue_key(),
        # A dead worker's jobs are taken over after a second (production: a minute, past the scan budget).
        "CONSENTGUARD_QUEUE__CLAIM_IDLE_S": "1",
        "CONSENTGUARD_DATA_DIR": str(tmp_path / "worker-data"),
    }


@contextlib.asynccontextmanager
async def deployment(tmp_path: Path, env: dict[str, str], workers: int) -> AsyncIterator[Processes]:
    processes = Processes(tmp_path, env)
    try:
        started = [processes.start("worker", "-m", "tests.fakes.scan_worker") for _ in range(workers)]
        for worker in started:
            await processes.wait_for_line(worker, "ready")
        yield processes
    finally:
        processes.kill_all()


def _settings(tmp_path: Path, env: dict[str, str]) -> Settings:
    return make_settings(
        data_dir=tmp_path / "front-data",
        storage={"database_url": env["CONSENTGUARD_STORAGE__DATABASE_URL"]},
        queue={
            "url": env["CONSENTGUARD_QUEUE__URL"],
            "prefix": env["CONSENTGUARD_QUEUE__PREFIX"],
            "key": env["CONSENTGUARD_QUEUE__KEY"],
            "requeue_check_s": 1.0,
        },
    )


def _members(server: FakeTelegramServer, count: int) -> list[int]:
    server.add_group(GROUP_ID, "Réa")
    server.set_bot_rights(GROUP_ID, admin=True, can_delete_messages=True)
    members = [FIRST_MEMBER + i for i in range(count)]
    for member in members:
        server.add_user(member, f"Dr {member}", started_bot=True)
    return members


def _decisions(settings: Settings) -> Counter[str]:
    """Audit decisions by message id, read from the shared database."""
    with open_storage(settings) as storage:
        out = io.StringIO()
        storage.audit.export(datetime(2000, 1, 1, tzinfo=UTC), "jsonl", out)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    return Counter(e["message_id"] for e in events if e["chat_id"] == str(GROUP_ID))


async def _holder(redis_prefix: str, pid: int) -> Callable[[], Any]:
    """A check that the worker of process ``pid`` holds at least one job unacknowledged."""
    client = Redis.from_url(MACHINE_REDIS)
    jobs = QueueKeys(redis_prefix).jobs

    async def holds() -> bool:
        with contextlib.suppress(Exception):
            summary = await client.xpending(jobs, GROUP)
            for consumer in summary.get("consumers") or []:
                name = consumer["name"]
                name = name.decode() if isinstance(name, bytes) else name
                if f"-{pid}-" in name and int(consumer["pending"]) > 0:
                    return True
        return False

    holds.client = client  # type: ignore[attr-defined]
    return holds


async def test_a_worker_killed_mid_burst_loses_nothing_each_post_judged_and_reminded_once(
    tmp_path: Path, queue_env: dict[str, str], redis_prefix: str
) -> None:
    burst = 16
    async with FakeTelegramServer() as server, deployment(tmp_path, queue_env, workers=2) as processes:
        members = _members(server, burst)
        settings = _settings(tmp_path, queue_env)
        application = build_application(server.token, server.base_url, server.base_file_url)
        platform = TelegramPlatform(application.bot, backoff_s=0.01)
        overrides = Overrides(consent=FakeConsentLookup())  # no scanner: the settings' queue is used
        async with open_core(settings, platforms={"telegram": platform}, overrides=overrides) as core:
            frontend = TelegramFrontend(application, platform, core.moderator, core.review, poll_timeout_s=1)
            await frontend.start([])
            polling = asyncio.create_task(frontend.run_polling())
            photos = [b"SLOW-FACE %d" % i if i % 4 == 0 else b"SLOW-%d" % i for i in range(burst)]
            posted = [server.post_photo(GROUP_ID, m, p) for m, p in zip(members, photos, strict=True)]

            victim = processes.started[0][0]
            holds = await _holder(redis_prefix, victim.pid)
            async with asyncio.timeout(60):
                while not await holds():  # noqa: ASYNC110 - Redis's pending list: polled
                    await asyncio.sleep(0.01)
            processes.kill(victim)  # kill -9 while it holds a job: that job must be taken over
            await holds.client.aclose()  # type: ignore[attr-defined]
            assert core.metrics is not None
            exposition, _type = await asyncio.to_thread(core.metrics.render)
            waiting = re.search(rb"^consentguard_scan_jobs_waiting (\S+)$", exposition, re.MULTILINE)
            assert waiting is not None
            assert float(waiting.group(1)) >= 1  # operators see the backlog the workers owe

            await server.wait_until(
                lambda: not server.pending_updates and len(server.deleted) >= burst, timeout=120
            )
            await frontend.idle()
            await frontend.stop()
            await polling
            assert core.storage.worklog.unfinished() == []

    ids = [str(m["message_id"]) for m in posted]
    removals = Counter(str(call.params["message_id"]) for call in server.calls_of("deleteMessage"))
    assert removals == Counter(ids)  # each removed once
    assert _decisions(settings) == Counter(ids)  # each judged once
    reminded = Counter(int(call.params["chat_id"]) for call in server.calls_of("sendMessage"))
    assert [reminded[m] for m in members] == [1] * burst  # each poster reminded once
    survivor = processes.log_of(processes.started[1][0])
    assert "took over a scan job abandoned by a worker" in survivor


async def test_the_front_end_killed_mid_burst_and_restarted_loses_nothing(
    tmp_path: Path, queue_env: dict[str, str]
) -> None:
    burst = 12
    async with FakeTelegramServer() as server, deployment(tmp_path, queue_env, workers=2) as processes:
        members = _members(server, burst)
        front_env = {
            "CONSENTGUARD_TELEGRAM__TOKEN": server.token,
            "CONSENTGUARD_TELEGRAM__BASE_URL": server.base_url,
            "CONSENTGUARD_TELEGRAM__BASE_FILE_URL": server.base_file_url,
            "CONSENTGUARD_DATA_DIR": str(tmp_path / "front-data"),
            "CONSENTGUARD_QUEUE__REQUEUE_CHECK_S": "1",
        }
        first = processes.start("front", *CONSENTGUARD_RUN, extra=front_env)
        await processes.wait_for_line(first, "consentguard is running")
        photos = [b"SLOW-FACE %d" % i if i % 3 == 0 else b"SLOW-%d" % i for i in range(burst)]
        posted = [server.post_photo(GROUP_ID, m, p) for m, p in zip(members, photos, strict=True)]
        await server.wait_until(lambda: len(server.deleted) >= 3, timeout=60)
        processes.kill(first)  # kill -9 in the middle of the burst
        health_port = _free_port()
        second = processes.start(
            "front", *CONSENTGUARD_RUN, extra={**front_env, "CONSENTGUARD_HEALTH__PORT": str(health_port)}
        )
        await processes.wait_for_line(second, "consentguard is running")
        settings = _settings(tmp_path, queue_env)

        def all_judged() -> bool:
            return set(_decisions(settings)) >= {str(m["message_id"]) for m in posted}

        async with asyncio.timeout(120):
            while not (all_judged() and len(server.deleted) >= burst):  # noqa: ASYNC110 - polled
                await asyncio.sleep(0.2)
        async with httpx.AsyncClient() as client:
            ready = await client.get(f"http://127.0.0.1:{health_port}/readyz")
        processes.kill(second)

    ids = {str(m["message_id"]) for m in posted}
    assert {str(call.params["message_id"]) for call in server.calls_of("deleteMessage")} >= ids
    assert set(_decisions(settings)) >= ids  # every post of the burst judged, none lost in the crash
    reminded = Counter(int(call.params["chat_id"]) for call in server.calls_of("sendMessage"))
    assert all(reminded[m] >= 1 for m in members)
    # The orchestrator's view: ready, the two workers among the checks.
    assert ready.status_code == 200
    assert ready.json()["checks"]["scan_workers"] is True
