"""Webhook delivery of the fake Telegram server: while a webhook is set, each update is POSTed to it.

As Telegram does: the update's JSON in the body, the webhook's secret in ``X-Telegram-Bot-Api-Secret-Token``,
up to ``max_connections`` deliveries at once; a 2xx answer delivers the update (it leaves the queue), any
other answer or a connection error keeps it, and it is posted again after a short delay (Telegram's delay
grows to minutes; the fake's is ``retry_s``). Every attempt is recorded in :attr:`WebhookDelivery.attempts`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from bot.sandbox.fake_telegram_state import FakeTelegramState
from bot.sandbox.fake_telegram_wire import JsonDict

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One POST of an update to the webhook: the answer's status, None when the connection failed."""

    update_id: int
    status: int | None
    at: float


class WebhookDelivery:
    """Posts the queued updates to the state's webhook while one is set; run :meth:`run` as a task."""

    def __init__(self, state: FakeTelegramState, *, retry_s: float = 0.05, timeout_s: float = 30.0) -> None:
        self.state = state
        self.retry_s = retry_s
        self.attempts: list[DeliveryAttempt] = []
        self._timeout_s = timeout_s
        self._in_flight: dict[int, asyncio.Task[None]] = {}

    async def run(self) -> None:
        """Deliver until the server closes (wakes on every change of the state; never polls)."""
        async with httpx.AsyncClient(timeout=self._timeout_s) as client:
            try:
                while not self.state.closing:
                    signal = self.state.signal  # taken before looking, so no change slips between
                    self._start_deliveries(client)
                    await signal.wait()
            finally:
                running = list(self._in_flight.values())
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)

    def _start_deliveries(self, client: httpx.AsyncClient) -> None:
        state = self.state
        if not state.webhook_url:
            return
        room = state.webhook_max_connections - len(self._in_flight)
        for update in state.pending_updates(100):
            if room <= 0:
                break
            update_id = int(update["update_id"])
            if update_id not in self._in_flight:
                self._in_flight[update_id] = asyncio.create_task(self._deliver(client, update))
                room -= 1

    async def _deliver(self, client: httpx.AsyncClient, update: JsonDict) -> None:
        update_id = int(update["update_id"])
        state = self.state
        headers = {SECRET_HEADER: state.webhook_secret} if state.webhook_secret else {}
        status: int | None = None
        try:
            try:
                response = await client.post(state.webhook_url, json=update, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                state.webhook_last_error = (int(state.clock()), f"Connection failed: {type(exc).__name__}")
            self.attempts.append(DeliveryAttempt(update_id, status, time.monotonic()))
            if status is not None and 200 <= status < 300:
                state.forget_update(update_id)
                return
            if status is not None:
                state.webhook_last_error = (int(state.clock()), f"Wrong response from the webhook: {status}")
            state.changed()
            await asyncio.sleep(self.retry_s)
        finally:
            self._in_flight.pop(update_id, None)
            state.changed()  # the update may be delivered again (or the next one may go)
