"""``consentguard run``: every platform that has a token, the pipeline, and a consent registry.

Without ``CONSENTGUARD_CONSENT__URL`` the reference registry runs in-process on 127.0.0.1, on its SQLite file
in the data directory, and the bot talks to it over HTTP like to any hospital's registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from bot.bootstrap import build_moderator
from bot.consent.lookup import ConsentLookup, HttpxConsentLookup
from bot.consent.model import ChatRef
from bot.keys import create_secret_file, read_secret_file
from bot.platforms.base import Platform
from bot.policy import PolicyBook
from bot.registry_inprocess import serve_in_process
from bot.scanning import ImageScanner, ProcessPoolScanner
from bot.storage.db import Clock, utc_now
from config.settings import Settings

log = logging.getLogger(__name__)


HEARTBEAT_FILE = "heartbeat"
HEARTBEAT_INTERVAL_S = 30.0


async def _heartbeat(path: Path, polling: asyncio.Task[None], clock: Clock) -> None:
    """Write the time to ``path`` while the polling task is alive; ``consentguard health`` reads it."""
    while not polling.done():
        await asyncio.to_thread(write_heartbeat, path, clock())
        await asyncio.sleep(HEARTBEAT_INTERVAL_S)


def write_heartbeat(path: Path, now: datetime) -> None:
    """Record ``now`` as the last sign of life (the bot's own clock, not the file's mtime)."""
    path.write_text(now.isoformat(), encoding="ascii")


def healthy(
    settings: Settings, *, clock: Clock = utc_now, max_age_s: float = 4 * HEARTBEAT_INTERVAL_S
) -> tuple[bool, str]:
    """Whether a running bot wrote its heartbeat recently (the container's health check)."""
    path = settings.data_dir / HEARTBEAT_FILE
    try:
        beat = datetime.fromisoformat(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        return False, "no heartbeat yet: is `consentguard run` running?"
    except ValueError:
        return False, "heartbeat file is unreadable"
    age = (clock() - beat).total_seconds()
    if age > max_age_s:
        return False, f"heartbeat is {age:.0f} s old (polling stalled?)"
    return True, f"heartbeat {age:.0f} s ago"


class ConfigurationError(Exception):
    """The settings do not allow the bot to start; the message says what to set."""


@contextlib.asynccontextmanager
async def consent_lookup(settings: Settings) -> AsyncIterator[ConsentLookup]:
    """The configured consent API, or the reference registry started in-process."""
    if settings.consent.url:
        key = settings.consent.api_key.get_secret_value() if settings.consent.api_key else None
        async with HttpxConsentLookup(
            settings.consent.url, key, timeout_s=settings.consent.timeout_s
        ) as lookup:
            yield lookup
        return
    from bot.registry.app import create_app

    database = settings.registry_database()
    key = _embedded_registry_key(settings.data_dir, database)
    app = create_app(database, lookups_per_minute=settings.consent.registry_lookups_per_minute)
    async with serve_in_process(app) as url:
        log.info("no consent URL configured: reference registry running in-process at %s", url)
        async with HttpxConsentLookup(url, key, timeout_s=settings.consent.timeout_s) as lookup:
            yield lookup


def _embedded_registry_key(data_dir: Path, database: str) -> str:
    """The bot's key for the embedded registry, created once and kept (mode 0600) in the data directory."""
    from bot.registry.commands import new_key

    path = data_dir / "registry-bot.key"
    if path.exists():
        return read_secret_file(path).strip()
    key = new_key(database, "bot", "embedded-bot")
    create_secret_file(path, key)
    return key


def policy_groups(policies: PolicyBook, platform: str) -> list[ChatRef]:
    """Groups of one platform named in the policy file (their rights are checked at start-up)."""
    return [chat for name in policies.groups if (chat := ChatRef.parse(name)).platform == platform]


async def run(
    settings: Settings, *, stop: asyncio.Event | None = None, scanner: ImageScanner | None = None
) -> None:
    """Run every platform that has a token until ``stop`` is set (or SIGINT/SIGTERM)."""
    telegram_token, discord_token = settings.telegram.token, settings.discord.token
    if telegram_token is None and discord_token is None:
        raise ConfigurationError(
            "no platform token: set CONSENTGUARD_TELEGRAM__TOKEN and/or CONSENTGUARD_DISCORD__TOKEN; "
            "`consentguard demo` runs everything offline without one"
        )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    own_scanner = scanner is None
    if scanner is None:
        pool = ProcessPoolScanner(settings, workers=settings.detection.workers)
        await pool.warm_up()  # load the models in every worker now, not on the first patient photo
        scanner = pool
    platforms: dict[str, Platform] = {}
    telegram_parts = None
    discord_client = None
    if telegram_token is not None:
        from bot.platforms.telegram_adapter import TelegramPlatform, build_application

        application = build_application(
            telegram_token.get_secret_value(), settings.telegram.base_url, settings.telegram.base_file_url
        )
        telegram_platform = TelegramPlatform(application.bot)
        platforms["telegram"] = telegram_platform
        telegram_parts = (application, telegram_platform)
    if discord_token is not None:
        from bot.platforms.discord_adapter import DiscordFrontend, point_at

        point_at(settings.discord.api_base_url, settings.discord.gateway_url)
        discord_client = DiscordFrontend()
        platforms["discord"] = discord_client.platform
    async with consent_lookup(settings) as lookup:
        moderator, database = build_moderator(settings, platforms=platforms, scanner=scanner, consent=lookup)
        tasks: list[asyncio.Task[None]] = []
        telegram_frontend = None
        try:
            if telegram_parts is not None:
                from bot.platforms.telegram_adapter import TelegramFrontend

                telegram_frontend = TelegramFrontend(telegram_parts[0], telegram_parts[1], moderator)
                await telegram_frontend.start(policy_groups(moderator.policies, "telegram"))
                tasks.append(asyncio.create_task(telegram_frontend.run_polling()))
            if discord_client is not None and discord_token is not None:
                discord_client.attach(moderator, policy_groups(moderator.policies, "discord"))
                await discord_client.login(discord_token.get_secret_value())
                tasks.append(asyncio.create_task(discord_client.connect()))
            moderator.start_housekeeping()
            heartbeat = asyncio.create_task(_heartbeat(settings.data_dir / HEARTBEAT_FILE, tasks[0], utc_now))
            log.info("consentguard is running on %s", ", ".join(platforms))
            await stop.wait()
            heartbeat.cancel()
        finally:
            if telegram_frontend is not None:
                await telegram_frontend.stop()
            if discord_client is not None:
                await discord_client.idle()
                await discord_client.close()
            await asyncio.gather(*tasks, return_exceptions=True)
            await moderator.aclose()
            if own_scanner:
                await scanner.aclose()
            database.close()
