"""The fake Telegram server's webhook: setWebhook, delivery with the secret, redelivery, 409 on getUpdates."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot
from telegram.error import BadRequest, Conflict

from bot.registry.inprocess import serve_in_process
from bot.sandbox import FakeTelegramServer

TOKEN = "123:ABC"  # noqa: S105 - the fake server's fake token
GROUP = -1001234567890
ALICE = 42
SECRET = "a-secret_of-the-test"  # noqa: S105 - the test's own


class Receiver:
    """A webhook endpoint that answers from a script (then 200) and records what it got."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.got: list[tuple[int, str | None]] = []  # (update id, secret header)
        self.app = Starlette(routes=[Route("/hook", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        update = json.loads(await request.body())
        self.got.append((update["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return Response(status_code=self.answers.pop(0) if self.answers else 200)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN, webhook_retry_s=0.01) as running:
        running.add_group(GROUP, "Dermatologie")
        running.add_user(ALICE, "Alice")
        yield running


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as client:
        yield client


async def test_updates_are_posted_with_the_secret_and_redelivered_until_acknowledged(
    server: FakeTelegramServer, bot: Bot
) -> None:
    receiver = Receiver([500, 503])
    async with serve_in_process(receiver.app) as url:
        assert await bot.set_webhook(f"{url}/hook", secret_token=SECRET, allowed_updates=["message"])
        server.post_text(GROUP, ALICE, "bonjour")
        await server.wait_until(lambda: not server.pending_updates)
        assert receiver.got == [(1, SECRET)] * 3
        assert [a.status for a in server.webhook_deliveries] == [500, 503, 200]
        info = await bot.get_webhook_info()
        assert info.url == f"{url}/hook"
        assert info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 503"
        with pytest.raises(Conflict):
            await bot.get_updates()
        assert await bot.delete_webhook()
    server.post_text(GROUP, ALICE, "encore")
    assert [u.update_id for u in await bot.get_updates()] == [2]  # polling again, nothing delivered
    assert len(receiver.got) == 3


async def test_an_unreachable_webhook_keeps_the_update_and_retries(
    server: FakeTelegramServer, bot: Bot
) -> None:
    receiver = Receiver([])
    async with serve_in_process(receiver.app) as url:
        pass  # the port is free again: nothing listens there now
    await bot.set_webhook(f"{url}/hook", secret_token=SECRET)
    server.post_text(GROUP, ALICE, "bonjour")
    await server.wait_until(lambda: len(server.webhook_deliveries) >= 2)
    assert {a.status for a in server.webhook_deliveries} == {None}
    assert len(server.pending_updates) == 1
    assert (await bot.get_webhook_info()).last_error_message.startswith("Connection failed")  # type: ignore[union-attr]


async def test_set_webhook_checks_its_url_and_secret(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)https url"):
        await bot.set_webhook("http://bot.example.org/hook")
    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook("https://bot.example.org/hook", secret_token="not allowed!")  # noqa: S106
