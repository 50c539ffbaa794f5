"""Telegram webhook mode: replicas behind a load balancer, real python-telegram-bot, the fake Bot API server.

The fake posts each update to the webhook URL (a round-robin load balancer on 127.0.0.1 in front of the
replicas, as in production) and delivers it again on any non-2xx answer; the replicas share one database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram.error import Conflict

from bot.bootstrap import Core, Overrides, run
from bot.errors import ConfigurationError
from bot.platforms.telegram import TelegramFrontend
from bot.platforms.telegram.frontend import ALLOWED_UPDATES
from bot.platforms.telegram.webhook import SECRET_HEADER, TelegramWebhook
from bot.registry.inprocess import serve_in_process
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.storage.telegram_updates import TelegramUpdateLog, TelegramUpdateRow
from config.settings import Settings
from tests.bot.platforms.telegram_harness import ALICE, GROUP_ID, MOD, Bot, start_bot, stop_bot
from tests.fakes.platform import FakeConsentLookup, StubScanner
from tests.fakes.settings import make_settings

SECRET = "s3cret-webhook_token-0123456789"  # noqa: S105 - the tests' own
Json = dict[str, Any]
Run = Callable[[TelegramFrontend, Core], Coroutine[Any, Any, None]]


class LoadBalancer:
    """Round-robin over the replicas whose endpoint is up; 502 when none is (as a real one answers)."""

    def __init__(self) -> None:
        self.backends: list[TelegramWebhook] = []
        self.url = ""
        self._turn = 0
        self.app = Starlette(routes=[Route("/telegram", self._forward, methods=["POST"])])

    def mode(self, secret: str | None = SECRET) -> Run:
        """start_bot's ``run``: the replica serves a webhook behind this load balancer."""

        def serve(frontend: TelegramFrontend, core: Core) -> Coroutine[Any, Any, None]:
            hook = TelegramWebhook(frontend, TelegramUpdateLog(core.storage.database), secret=secret)
            self.backends.append(hook)
            return frontend.run_webhook(
                hook.serving(serve_in_process, f"{self.url}/telegram", "127.0.0.1", 0)
            )

        return serve

    async def _forward(self, request: Request) -> Response:
        up = [hook.url for hook in self.backends if hook.url]
        if not up:
            return Response(status_code=502)
        target = up[self._turn % len(up)]
        self._turn += 1
        headers = {
            k: v for k, v in request.headers.items() if k.lower() in {SECRET_HEADER.lower(), "content-type"}
        }
        async with httpx.AsyncClient(timeout=30) as client:
            try:
                answer = await client.post(
                    f"{target}/telegram", content=await request.body(), headers=headers
                )
            except httpx.HTTPError:
                return Response(status_code=502)
        return Response(status_code=answer.status_code)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(webhook_retry_s=0.02) as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(MOD, "Modé", started_bot=True)
        fake.set_admin(GROUP_ID, MOD)
        fake.set_bot_rights(GROUP_ID, admin=True, can_delete_messages=True)
        yield fake


@pytest.fixture
async def balancer() -> AsyncIterator[LoadBalancer]:
    lb = LoadBalancer()
    async with serve_in_process(lb.app) as url:
        lb.url = url
        yield lb


async def start_replicas(
    server: FakeTelegramServer, data_dir: Path, balancer: LoadBalancer, count: int, **kwargs: Any
) -> list[tuple[Bot, StubScanner]]:
    """``count`` replicas sharing one database (one data directory), each with its own recording scanner."""
    consent = FakeConsentLookup()
    replicas = []
    for _ in range(count):  # one after the other: the first creates the keys the others read
        scanner = StubScanner()
        bot = await start_bot(
            server, data_dir, scanner=scanner, consent=consent, run=balancer.mode(), **kwargs
        )
        replicas.append((bot, scanner))
    await server.wait_until(lambda: all(hook.url for hook in balancer.backends))
    await server.wait_for("setWebhook", lambda c: len(server.calls_of("setWebhook")) == count)
    return replicas


@pytest.fixture
async def replicas(
    server: FakeTelegramServer, balancer: LoadBalancer, tmp_path: Path
) -> AsyncIterator[list[tuple[Bot, StubScanner]]]:
    running = await start_replicas(server, tmp_path / "data", balancer, 2)
    yield running
    for bot, _ in running:
        await stop_bot(bot)


async def settle(server: FakeTelegramServer, replicas: list[tuple[Bot, StubScanner]]) -> None:
    """Every update delivered (so persisted) and every replica's posts handled."""
    await server.wait_until(lambda: not server.pending_updates, timeout=20)
    for bot, _ in replicas:
        await bot.frontend.idle()


def deleted(server: FakeTelegramServer, message: Json) -> bool:
    return (GROUP_ID, message["message_id"]) in server.deleted


def verdicts(bot: Bot, message: Json) -> list[str]:
    return [event["verdict"] for event in bot.audit(message) if event["verdict"] and not event["decision"]]


def forged_update(server: FakeTelegramServer, data: bytes) -> Json:
    """An update Telegram never queued: a photo message stored in the fake, posted by the test itself."""
    message = server.state.new_message(
        GROUP_ID, server.state.user(ALICE).to_json(), photo=server.state.photo_sizes(data)
    )
    return {"update_id": 900_000 + message["message_id"], "message": message}


async def post(url: str, update: Json, headers: dict[str, str]) -> int:
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.post(f"{url}/telegram", content=json.dumps(update), headers=headers)
    return answer.status_code


# -- several replicas ---------------------------------------------------------------------------------


async def test_a_burst_across_two_replicas_is_judged_once_each_and_nothing_stays_up(
    server: FakeTelegramServer, replicas: list[tuple[Bot, StubScanner]]
) -> None:
    burst = [server.post_photo(GROUP_ID, ALICE, f"FACE-{i}".encode(), caption="avis ?") for i in range(12)]
    await settle(server, replicas)
    assert all(deleted(server, message) for message in burst)
    scanned = [data for _, scanner in replicas for data in scanner.scanned]
    assert sorted(scanned) == sorted(f"FACE-{i}".encode() for i in range(12))  # each post once, nowhere twice
    assert all(scanner.scanned for _, scanner in replicas)  # both replicas took their share
    bot = replicas[0][0]
    assert all(len(verdicts(bot, message)) == 1 for message in burst)
    deletions = [int(call.params["message_id"]) for call in server.calls_of("deleteMessage")]
    assert sorted(deletions) == sorted(message["message_id"] for message in burst)
    with pytest.raises(Conflict):  # as on Telegram: no getUpdates while a webhook is set
        await bot.frontend.platform.bot.get_updates()


async def test_an_album_split_across_replicas_is_removed_whole(
    server: FakeTelegramServer, replicas: list[tuple[Bot, StubScanner]]
) -> None:
    # Its items reach both replicas, each gathering its own part: no part may escape judgment (each part's
    # post key is its first message, so the parts never pass for repeats of one another).
    items = server.post_album(GROUP_ID, ALICE, [b"CLEAN-a", b"FACE-b", b"CLEAN-c", b"FACE-d"])
    await settle(server, replicas)
    assert all(deleted(server, item) for item in items)
    assert all(scanner.scanned for _, scanner in replicas)


async def test_the_same_update_delivered_to_both_replicas_is_handled_once(
    server: FakeTelegramServer, balancer: LoadBalancer, replicas: list[tuple[Bot, StubScanner]]
) -> None:
    message = server.post_photo(GROUP_ID, ALICE, b"FACE-twice")
    update = server.pending_updates[-1]  # the fake also delivers it through the load balancer
    headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}
    answers = await asyncio.gather(*(post(str(hook.url), update, headers) for hook in balancer.backends))
    assert set(answers) <= {200, 503}  # 503: the other delivery holds it; if that one failed, a retry is due
    await settle(server, replicas)
    assert deleted(server, message)
    assert sum(scanner.scanned.count(b"FACE-twice") for _, scanner in replicas) == 1
    assert len(verdicts(replicas[0][0], message)) == 1
    assert await post(str(balancer.backends[1].url), update, headers) == 200  # done: acknowledged, no more


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_handled(
    server: FakeTelegramServer, balancer: LoadBalancer, replicas: list[tuple[Bot, StubScanner]]
) -> None:
    url = str(balancer.backends[0].url)
    update = forged_update(server, b"FACE-forged")
    for headers in ({}, {SECRET_HEADER: "not-the-secret-at-all-000"}, {SECRET_HEADER: SECRET[:-1]}):
        assert await post(url, update, headers) == 403
    assert not any(scanner.scanned for _, scanner in replicas)
    with replicas[0][0].core.storage.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TelegramUpdateRow)) == 0
    # The control: the very same update with the secret is handled (so the 403s above were the secret's).
    assert await post(url, update, {SECRET_HEADER: SECRET}) == 200
    await server.wait_until(lambda: deleted(server, update["message"]))


async def test_a_replica_that_cannot_persist_answers_5xx_and_the_redelivery_is_judged_once(
    server: FakeTelegramServer, replicas: list[tuple[Bot, StubScanner]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first replica (the load balancer's first turn) cannot write its work log at all.
    failures = 0

    def accept_revisions(items: Any) -> list[bool]:
        nonlocal failures
        failures += 1
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(replicas[0][0].core.storage.worklog, "accept_revisions", accept_revisions)
    first = server.post_photo(GROUP_ID, ALICE, b"FACE-retried")
    update_id = server.pending_updates[-1]["update_id"]
    await settle(server, replicas)
    assert failures >= 1
    attempts = [a.status for a in server.webhook_deliveries if a.update_id == update_id]
    assert attempts[0] == 500  # not persisted: Telegram must deliver it again
    assert attempts[-1] == 200  # the released claim let the redelivery through (else 503 for a minute)
    assert deleted(server, first)
    assert sum(scanner.scanned.count(b"FACE-retried") for _, scanner in replicas) == 1
    assert len(verdicts(replicas[0][0], first)) == 1


async def test_a_full_replica_answers_503_and_takes_the_update_once_it_has_room(
    server: FakeTelegramServer, balancer: LoadBalancer, tmp_path: Path
) -> None:
    [(bot, scanner)] = await start_replicas(
        server, tmp_path / "data", balancer, 1, extra_settings={"max_posts_held": 1}
    )
    try:
        scanner.gate = asyncio.Event()  # the first post's scan waits: the replica holds all it may
        first = server.post_photo(GROUP_ID, ALICE, b"FACE-1")
        await server.wait_until(lambda: bot.core.moderator.in_flight == 1)
        second = server.post_photo(GROUP_ID, ALICE, b"FACE-2")
        await server.wait_until(lambda: any(a.status == 503 for a in server.webhook_deliveries))
        assert scanner.scanned == [b"FACE-1"]
        scanner.gate.set()
        await settle(server, [(bot, scanner)])
        assert deleted(server, first)
        assert deleted(server, second)
        assert sorted(scanner.scanned) == [b"FACE-1", b"FACE-2"]
    finally:
        await stop_bot(bot)


# -- start-up ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "says"),
    [(None, "WEBHOOK_SECRET: an open webhook"), ("short", "16 to 256 characters"), ("a b" * 10, "16 to 256")],
)
async def test_webhook_mode_refuses_to_start_without_a_usable_secret(
    server: FakeTelegramServer, tmp_path: Path, secret: str | None, says: str
) -> None:
    telegram: Json = {
        "token": server.token,
        "base_url": server.base_url,
        "base_file_url": server.base_file_url,
        "webhook_url": "https://bot.example.org/telegram",
        "webhook_port": 0,
    }
    if secret is not None:
        telegram["webhook_secret"] = secret
    settings = make_settings(data_dir=tmp_path / "data", telegram=telegram)
    overrides = Overrides(scanner=StubScanner(), consent=FakeConsentLookup())
    with pytest.raises(ConfigurationError, match=says):
        await run(settings, stop=asyncio.Event(), overrides=overrides)
    assert not server.calls_of("setWebhook")
    assert not server.calls_of("getUpdates")


async def test_run_in_webhook_mode_registers_the_webhook_and_never_polls(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    telegram: Json = {
        "token": server.token,
        "base_url": server.base_url,
        "base_file_url": server.base_file_url,
        "webhook_url": "http://127.0.0.1:9/telegram",  # where the load balancer would be
        "webhook_secret": SECRET,
        "webhook_port": 0,
    }
    settings = make_settings(data_dir=tmp_path / "data", telegram=telegram)
    stop = asyncio.Event()
    running = asyncio.create_task(
        run(settings, stop=stop, overrides=Overrides(scanner=StubScanner(), consent=FakeConsentLookup()))
    )
    registered = await server.wait_for("setWebhook")
    stop.set()
    await running
    assert registered.params["url"] == "http://127.0.0.1:9/telegram"
    assert registered.params["secret_token"] == SECRET
    assert registered.params["allowed_updates"] == ALLOWED_UPDATES
    assert not server.calls_of("getUpdates")
    assert not server.calls_of("deleteWebhook")  # the other replicas keep receiving


def test_webhook_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTGUARD_TELEGRAM__WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.setenv("CONSENTGUARD_TELEGRAM__WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("CONSENTGUARD_TELEGRAM__WEBHOOK_PORT", "8081")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    hook = settings.telegram
    assert hook.webhook_url == "https://bot.example.org/telegram"
    assert hook.webhook_secret is not None
    assert hook.webhook_secret.get_secret_value() == SECRET
    assert SECRET not in repr(settings)
    assert (hook.webhook_host, hook.webhook_port, hook.webhook_path) == ("127.0.0.1", 8081, "/telegram")
