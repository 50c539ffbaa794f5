"""The bot on Telegram for end-to-end tests: real python-telegram-bot, the fake Bot API server, real SQLite.

Shared by the end-to-end suite (stubbed detection) and the bypass suite (the real engine): ``start_bot``
takes the scanner to use.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.bootstrap import Core, Overrides, open_core
from bot.consent.capture import CaptureLinks
from bot.consent.model import ChatRef, ConsentRecord, ConsentStatus, Purpose, UserRef
from bot.consent.token import new_token
from bot.core.deidentified import Deidentifier
from bot.core.ports import ImageScanner
from bot.domain import Clock, utc_now
from bot.platforms.telegram import TelegramFrontend, TelegramPlatform, build_application
from bot.sandbox.fake_telegram import FakeTelegramServer
from tests.fakes.platform import FakeConsentLookup, StubScanner
from tests.fakes.settings import make_settings

GROUP_ID = -1001
ALICE, BOB, MOD = 42, 43, 7
GROUP = ChatRef("telegram", str(GROUP_ID))

Json = dict[str, Any]


@dataclass
class Bot:
    server: FakeTelegramServer
    frontend: TelegramFrontend
    consent: Any  # a FakeConsentLookup, or the embedded registry's client (``real_registry``)
    core: Core
    stack: contextlib.AsyncExitStack
    polling: asyncio.Task[None]

    def granted_token(self) -> str:
        token = new_token()
        self.consent.records[token.compact] = ConsentRecord(
            status=ConsentStatus.GRANTED,
            purposes=frozenset({Purpose.ADVICE}),
            groups=(GROUP,),
            clinicians=(UserRef("telegram", str(ALICE)),),
            max_images=10,
        )
        return token.value

    async def settle(self) -> None:
        """Wait until every injected update was acknowledged (so persisted) and its post handled."""
        await self.server.wait_until(lambda: not self.server.pending_updates, timeout=20)
        await self.frontend.idle()

    def audit(self, message: Json) -> list[Json]:
        """The audit events of one group message, oldest first."""
        out = io.StringIO()
        self.core.storage.audit.export(datetime(2000, 1, 1, tzinfo=UTC), "jsonl", out)
        events = (json.loads(line) for line in out.getvalue().splitlines())
        wanted = (str(GROUP_ID), str(message["message_id"]))
        return [e for e in events if (e["chat_id"], e["message_id"]) == wanted]


async def start_bot(
    server: FakeTelegramServer,
    data_dir: Path,
    policy: str = "",
    scanner: ImageScanner | None = None,
    *,
    clock: Clock = utc_now,
    consent: FakeConsentLookup | None = None,
    real_registry: bool = False,
    revocation_poll_s: float | None = None,
    consent_settings: dict[str, Any] | None = None,
    capture: CaptureLinks | None = None,
    deidentifier: Deidentifier | None = None,
    run: Callable[[TelegramFrontend, Core], Coroutine[Any, Any, None]] | None = None,
    extra_settings: dict[str, Any] | None = None,
) -> Bot:
    """The bot polling ``server`` for the group GROUP_ID, with ``policy`` (TOML) and ``scanner``.

    ``clock`` is the bot's (give the server the same one); ``real_registry`` runs the reference registry
    in-process instead of the fake one (``consent_settings`` then tunes it). ``deidentifier``: de-identified
    reposts are offered, rendered by it (without one, none is offered). ``run`` runs the started front end
    (default: ``run_polling``; the webhook suite serves a webhook instead); ``Bot.polling`` is its task.
    ``extra_settings``: more settings (``max_posts_held``...).
    """
    policy_file = data_dir.parent / f"{data_dir.name}-policy.toml"
    policy_file.write_text(policy)
    settings = make_settings(
        data_dir=data_dir, policy_file=policy_file, consent=consent_settings or {}, **(extra_settings or {})
    )
    application = build_application(server.token, server.base_url, server.base_file_url)
    platform = TelegramPlatform(application.bot, backoff_s=0.01)
    fake = None if real_registry else (consent or FakeConsentLookup())
    stack = contextlib.AsyncExitStack()
    core = await stack.enter_async_context(
        open_core(
            settings,
            platforms={"telegram": platform},
            overrides=Overrides(
                clock=clock,
                scanner=scanner or StubScanner(),
                consent=fake,
                revocation_poll_s=revocation_poll_s,
                capture=capture,
                capture_poll_s=0.05,
                deidentifier=deidentifier,
            ),
        )
    )
    frontend = TelegramFrontend(
        application,
        platform,
        core.moderator,
        core.review,
        album_window_s=0.3,
        poll_timeout_s=1,
        capture=core.capture,
        console=core.console,
        offers=core.offers if deidentifier is not None else None,
    )
    await frontend.start(list(dict.fromkeys([GROUP, *core.groups("telegram")])))
    polling = asyncio.create_task(frontend.run_polling() if run is None else run(frontend, core))
    return Bot(server, frontend, fake, core, stack, polling)


async def stop_bot(bot: Bot) -> None:
    await bot.frontend.stop()
    await bot.polling
    await bot.stack.aclose()
