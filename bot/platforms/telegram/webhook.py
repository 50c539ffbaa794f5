"""Telegram's webhook mode: Telegram posts each update to an HTTP endpoint, so several replicas can share it.

The endpoint refuses a request without the secret Telegram was given (403), claims the update in the shared
database so that a second delivery (to this replica or another) is not handled again, and hands it to the
front end's :meth:`~bot.platforms.telegram.frontend.TelegramFrontend.accept_update`, the handling the
polling loop uses. It answers 200 only once the update's posts are persisted in the work log; 5xx when they
could not be, so that Telegram delivers the update again; 503 at once while the bot holds as many posts as
it may (back-pressure: the update waits on Telegram's side, not in this process's memory).

The HTTP server and the update store are injected by bot/bootstrap.py (``serve_in_process`` and
:class:`bot.storage.telegram_updates.TelegramUpdateLog`): the platforms import neither.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update

from bot.errors import ConfigurationError
from bot.platforms.telegram.frontend import ALLOWED_UPDATES

if TYPE_CHECKING:
    from bot.platforms.telegram.frontend import TelegramFrontend

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
#: Telegram accepts 1-256 of these characters; fewer than 16 would be guessable, so we ask for more.
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{16,256}")
#: Telegram keeps an undelivered update 24 hours; a week of claims covers every redelivery with room.
CLAIM_RETENTION = timedelta(days=7)

ClaimOutcome = Literal["new", "done", "busy"]
#: ``serve_in_process``'s shape: serve an ASGI app on (host, port) while the block runs; yield its URL.
Serve = Callable[[Any, str, int], contextlib.AbstractAsyncContextManager[str]]


class UpdateClaims(Protocol):
    """Claims on updates shared by the replicas (bot.storage.telegram_updates.TelegramUpdateLog)."""

    def claim(self, bot_id: int, update_id: int) -> ClaimOutcome:
        """Take the update (``new``), or say it was handled (``done``) or is being handled (``busy``)."""
        ...

    def confirm(self, bot_id: int, update_id: int) -> None:
        """The update is durably accepted: later deliveries of it are only acknowledged."""
        ...

    def release(self, bot_id: int, update_id: int) -> None:
        """Accepting the update failed: forget the claim, so that its redelivery is handled."""
        ...

    def forget_older_than(self, age: timedelta) -> int:
        """Delete claims older than ``age``; how many."""
        ...


def check_secret(secret: str | None) -> str:
    """The webhook secret, or a ConfigurationError saying why it cannot be used."""
    if not secret:
        raise ConfigurationError(
            "CONSENTGUARD_TELEGRAM__WEBHOOK_URL is set without CONSENTGUARD_TELEGRAM__WEBHOOK_SECRET: "
            "an open webhook lets anyone post forged updates to the bot; set a random secret "
            "(16 to 256 of A-Z a-z 0-9 _ -), "
            "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    if not _SECRET_RE.fullmatch(secret):
        raise ConfigurationError(
            "CONSENTGUARD_TELEGRAM__WEBHOOK_SECRET must be 16 to 256 characters of A-Z a-z 0-9 _ - "
            "(what Telegram allows, long enough not to be guessed)"
        )
    return secret


class TelegramWebhook:
    """The endpoint Telegram posts updates to; one per replica, all behind the same public URL."""

    def __init__(
        self,
        frontend: TelegramFrontend,
        claims: UpdateClaims,
        *,
        secret: str | None,
        path: str = "/telegram",
        purge_interval_s: float = 3600.0,
    ) -> None:
        self._frontend = frontend
        self._claims = claims
        self._secret = check_secret(secret).encode()
        self._purge_interval_s = purge_interval_s
        self.app = Starlette(routes=[Route(path, self._receive, methods=["POST"])])
        self.url: str | None = None
        """Where this replica's endpoint listens while it is served (``http://host:port``)."""

    def __repr__(self) -> str:
        return f"TelegramWebhook(url={self.url!r})"  # never the secret

    @contextlib.asynccontextmanager
    async def serving(self, serve: Serve, public_url: str, host: str, port: int) -> AsyncIterator[str]:
        """Serve the endpoint, then register ``public_url`` with Telegram; purge old claims meanwhile.

        Every replica registers the same URL, secret and update list: setWebhook is idempotent. The webhook
        is not deleted on the way out: the other replicas keep receiving (Telegram keeps what none takes).
        """
        async with serve(self.app, host, port) as bound:
            self.url = bound
            await self._frontend.platform.bot.set_webhook(
                url=public_url, secret_token=self._secret.decode(), allowed_updates=ALLOWED_UPDATES
            )
            log.info("Telegram webhook mode: listening at %s", bound)
            purging = asyncio.create_task(self._purge_periodically())
            try:
                yield bound
            finally:
                purging.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await purging
                self.url = None

    async def purge(self) -> int:
        """Forget claims older than a week; how many."""
        return await asyncio.to_thread(self._claims.forget_older_than, CLAIM_RETENTION)

    async def _purge_periodically(self) -> None:
        while True:
            try:
                forgotten = await self.purge()
                if forgotten:
                    log.info("forgot %d Telegram update claim(s) older than %s", forgotten, CLAIM_RETENTION)
            except Exception:  # retried next round; it must not stop the webhook
                log.exception("purging Telegram update claims failed")
            await asyncio.sleep(self._purge_interval_s)

    async def _receive(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook request without the right secret refused")
            return Response(status_code=403)
        frontend = self._frontend
        moderator = frontend.moderator
        if frontend.stopping or moderator.in_flight >= moderator.backlog_limit:
            # Back-pressure: Telegram keeps the update and retries; nothing waits in this process's memory.
            return Response(status_code=503)
        try:
            update = Update.de_json(await request.json(), frontend.application.bot)
        except Exception:  # not an update (Telegram never sends one): nothing to redeliver
            log.warning("webhook request with an undecodable body refused")
            return Response(status_code=400)
        bot_id = frontend.application.bot.id
        try:
            claimed = await asyncio.to_thread(self._claims.claim, bot_id, update.update_id)
        except Exception as exc:  # the database: Telegram delivers the update again later
            log.error("update %d could not be claimed (%s)", update.update_id, type(exc).__name__)
            return Response(status_code=500)
        if claimed == "done":
            return Response(status_code=200)  # a repeat delivery: handled already, once
        if claimed == "busy":
            return Response(status_code=503)  # another delivery is at it; if it fails, this retry is needed
        return await self._accept(update, bot_id)

    async def _accept(self, update: Update, bot_id: int) -> Response:
        try:
            accepted = await self._frontend.accept_update(update)
        except Exception:
            log.exception("update %d could not be dispatched", update.update_id)
            accepted = False
        if not accepted:
            try:
                await asyncio.to_thread(self._claims.release, bot_id, update.update_id)
            except Exception as exc:  # the claim then lapses after its lease and a redelivery takes it over
                log.error("claim on update %d not released (%s)", update.update_id, type(exc).__name__)
            return Response(status_code=500)
        try:
            await asyncio.to_thread(self._claims.confirm, bot_id, update.update_id)
        except Exception as exc:
            # The posts are persisted; a redelivery (after the claim's lease) meets the work log's refusal.
            log.error("claim on update %d not confirmed (%s)", update.update_id, type(exc).__name__)
            return Response(status_code=500)
        return Response(status_code=200)
