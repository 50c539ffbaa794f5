"""The one composition root: the only place that turns Settings into concrete objects (start, stop).

Entry points go through it: ``consentguard run`` (:func:`run`), the demo (:func:`open_core` with an inline
scanner and the sandbox's Telegram server), the operator commands (:func:`open_storage`), the scan and
benchmark commands (:func:`build_scan_engine`), and tests (with :class:`Overrides`). Nothing else builds a
store, a scanner, a consent client or the pipeline. Workers receive an engine factory, never the root.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.domain import Clock, utc_now
from bot.errors import ConfigurationError
from bot.scanning import EngineFactory
from bot.scanning import build_scan_engine as _engine_from_detection
from config.settings import Settings

if TYPE_CHECKING:  # the rest is imported where it is built: `consentguard scan` needs no database or HTTP
    import discord
    from fastapi import FastAPI
    from redis.asyncio import Redis

    from bot.consent.capture import CaptureLinks
    from bot.consent.model import ChatRef
    from bot.consent.port import ConsentLookup
    from bot.console import LoginLinks, ModeratorCheck, Previewer, Reposter
    from bot.core.capture import CaptureDesk
    from bot.core.codec import PayloadCodec
    from bot.core.deidentified import DeidentifiedOffers, Deidentifier
    from bot.core.pipeline import Moderator
    from bot.core.policy import Policies
    from bot.core.ports import ImageScanner, Platform
    from bot.core.review import ReviewService
    from bot.core.shard_watch import ShardWatch
    from bot.core.takedown import RevocationFollower
    from bot.observability.prometheus import PrometheusMetrics
    from bot.platforms.discord import DiscordPlatform
    from bot.platforms.telegram import TelegramPlatform
    from bot.scanning.jobs import JobSealer
    from bot.scanning.queue_scanner import QueueScanner
    from bot.storage import BotDatabase
    from bot.storage.audit import AuditLog
    from bot.storage.deidentified_offers import SqlOfferStore
    from bot.storage.group_settings import SqlGroupSettings
    from bot.storage.quarantine import QuarantineStore
    from bot.storage.takedowns import SqlConsentedPosts, SqlCursorStore
    from bot.storage.worklog import OffenceCounter, WorkLog
    from detectors.engine import ScanEngine

log = logging.getLogger(__name__)


# -- detection ------------------------------------------------------------------------------------------


def build_scan_engine(settings: Settings) -> ScanEngine:
    """The detectors, loaded once, for the commands that scan in this process (scan, bench, demo)."""
    return _engine_from_detection(settings.detection)


def engine_factory(settings: Settings) -> EngineFactory:
    """What a scan worker process calls to build its engine: the detection settings only, no secrets."""
    return functools.partial(_engine_from_detection, settings.detection)


def _posts_scanning(settings: Settings) -> int:
    """Posts whose images are being scanned at once."""
    if settings.queue.url is not None:
        # The images wait in Redis for the workers, however many there are: enough to keep them all busy.
        return settings.queue.max_posts_scanning
    # Two posts per scan worker in the scan queue (one scanned, one ready); fetching and strict mode's early
    # removal are not held back by scans, up to the backlog; the rest wait on the platform.
    return 2 * (settings.detection.workers or os.cpu_count() or 1)


# -- detection workers apart (CONSENTGUARD_QUEUE__URL) -------------------------------------------------


def queue_redis(settings: Settings) -> Redis:
    """A client of the scan queue's Redis (timeouts longer than a worker's blocking read).

    A burst makes hundreds of scans talk to Redis at once: they wait for one of 64 connections rather than
    fail (redis-py's default pool raises past 100, and a failed enqueue only waits for the next sweep).
    """
    from redis.asyncio import BlockingConnectionPool, Redis

    if settings.queue.url is None:
        raise ConfigurationError("set CONSENTGUARD_QUEUE__URL (redis://host:port/db) to use scan workers")
    pool = BlockingConnectionPool.from_url(
        settings.queue.url,
        max_connections=64,
        timeout=30,
        socket_timeout=15.0,
        socket_connect_timeout=5.0,
        health_check_interval=15,
    )
    return Redis.from_pool(pool)


def queue_sealer(settings: Settings) -> JobSealer:
    """The scan jobs' sealer, on the queue key (created in the data directory on first start)."""
    from bot.scanning.jobs import JobSealer
    from bot.storage.keys import load_queue_key

    key, message = load_queue_key(settings)
    if message:
        log.warning(message)
    return JobSealer(key)


def queue_scanner(settings: Settings) -> QueueScanner:
    """The front end's scanner: sealed jobs to the workers, results back (see bot/scanning/queue_scanner)."""
    from bot.scanning.jobs import QueueKeys
    from bot.scanning.queue_scanner import QueueScanner

    return QueueScanner(
        queue_redis(settings),
        queue_sealer(settings),
        QueueKeys(settings.queue.prefix),
        wait_s=settings.queue.wait_s,
        requeue_check_s=settings.queue.requeue_check_s,
    )


async def run_worker(
    settings: Settings, *, stop: asyncio.Event | None = None, scanner: ImageScanner | None = None
) -> None:
    """``consentguard worker``: scan jobs from the queue until ``stop`` (or SIGINT/SIGTERM), then drain.

    ``scanner`` replaces the detection processes (tests); None: one scan process per core (or
    ``detection.workers``), models loaded before the first job is read.
    """
    from bot.scanning.deidentifier import EngineDeidentifier
    from bot.scanning.jobs import QueueKeys
    from bot.scanning.worker import ScanWorker

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    redis = queue_redis(settings)
    sealer = queue_sealer(settings)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(redis.aclose)
        concurrency = settings.detection.workers or os.cpu_count() or 1
        if scanner is None:
            from bot.scanning import ProcessPoolScanner

            pool = ProcessPoolScanner(
                engine_factory(settings), workers=concurrency, budget_s=settings.detection.time_budget_s
            )
            stack.push_async_callback(pool.aclose)
            await pool.warm_up()
            scanner = pool
        # De-identified reposts for the front ends: rendered here, the engine built on the first one.
        deidentifier = EngineDeidentifier(functools.partial(build_scan_engine, settings))
        stack.callback(deidentifier.close)
        worker = ScanWorker(
            redis,
            sealer,
            QueueKeys(settings.queue.prefix),
            scanner,
            deidentifier=deidentifier,
            concurrency=concurrency,
            claim_idle_s=settings.queue.claim_idle_s,
            max_deliveries=settings.queue.max_deliveries,
            result_ttl_s=settings.queue.result_ttl_s,
        )
        log.info("scan worker %s ready (%d scan process(es))", worker.consumer, concurrency)
        await worker.run(stop)
        log.info("scan worker %s stopped after %d job(s)", worker.consumer, worker.stored)


# -- storage --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Storage:
    """The bot's own database and the components built on it."""

    database: BotDatabase
    quarantine: QuarantineStore
    audit: AuditLog
    worklog: WorkLog
    offences: OffenceCounter
    group_settings: SqlGroupSettings
    codec: PayloadCodec
    consented: SqlConsentedPosts
    cursors: SqlCursorStore
    pseudonym_key: bytes
    clock: Clock
    #: De-identified reposts offered to posters (sealed, purged after their lifetime).
    offers: SqlOfferStore


@contextlib.contextmanager
def open_storage(settings: Settings, clock: Clock = utc_now) -> Iterator[Storage]:
    """Open the storage under the data directory (keys created on first start) with one clock for all."""
    from bot.core.codec import PayloadCodec
    from bot.storage import bot_database_url, open_bot_database
    from bot.storage.audit import AuditLog
    from bot.storage.deidentified_offers import SqlOfferStore
    from bot.storage.group_settings import SqlGroupSettings
    from bot.storage.keys import load_keyring, load_pseudonym_key
    from bot.storage.quarantine import QuarantineStore
    from bot.storage.sealing import WORKLOG_CONTEXT, Sealer
    from bot.storage.takedowns import SqlConsentedPosts, SqlCursorStore
    from bot.storage.worklog import OffenceCounter, WorkLog

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keyring, key_message = load_keyring(settings)
    pseudonym_key, pseudonym_message = load_pseudonym_key(settings)
    for message in (key_message, pseudonym_message):
        if message:
            log.warning("%s", message)
    database = open_bot_database(bot_database_url(settings))
    worklog_sealer = Sealer(keyring).bind(WORKLOG_CONTEXT)
    try:
        quarantine = QuarantineStore(database, keyring, clock)
        _check_keyring_covers(quarantine)
        # One clock for everything that stamps time: a test that moves it moves the whole bot.
        yield Storage(
            database=database,
            quarantine=quarantine,
            audit=AuditLog(database, pseudonym_key, clock),
            worklog=WorkLog(database, clock, owner=replica_name(settings)),
            offences=OffenceCounter(database, clock),
            group_settings=SqlGroupSettings(database, clock),
            codec=PayloadCodec(worklog_sealer.seal, worklog_sealer.open),
            consented=SqlConsentedPosts(database, Sealer(keyring), clock),
            cursors=SqlCursorStore(database),
            pseudonym_key=pseudonym_key,
            clock=clock,
            offers=SqlOfferStore(database, keyring, clock),
        )
    finally:
        database.close()


def replica_name(settings: Settings) -> str:
    """The front end name in the work log leases: ``CONSENTGUARD_REPLICA``, else host and data dir."""
    if settings.replica:
        return settings.replica
    import hashlib
    import socket

    folder = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}:{folder}"


def _check_keyring_covers(quarantine: QuarantineStore) -> None:
    """Refuse to start when held images were sealed with a key the keyring no longer has.

    Without it those items could be neither reviewed nor restored, and the unfinished posts sealed with it
    would be lost; better a clear error now than moderators discovering it one item at a time.
    """
    from bot.errors import KeyringError

    missing = quarantine.missing_keys()
    if missing:
        raise KeyringError(
            "the quarantine keyring lacks key(s) "
            + ", ".join(sorted(missing))
            + " that stored items were sealed with: put them back in the keyring (CONSENTGUARD_STORAGE__"
            "QUARANTINE_KEY or the key file, older keys after the current one) and start again"
        )


def load_policies(settings: Settings, storage: Storage) -> Policies:
    """The policy file, with the moderators' saved changes on top (they outlive restarts)."""
    from bot.core.policy import Policies, PolicyBook, load_policy_file

    book = load_policy_file(settings.policy_file)
    groups = dict(book.groups)
    groups.update(storage.group_settings.load())
    return Policies(PolicyBook(book.default, groups))


# -- the moderators' web console ------------------------------------------------------------------------


def login_links(settings: Settings, storage: Storage) -> LoginLinks:
    """One-time login links to the console, on ``CONSENTGUARD_CONSOLE__PUBLIC_URL``."""
    from datetime import timedelta

    from bot.console import LoginLinks
    from bot.storage.console_sessions import SqlConsoleAuth

    validity = timedelta(minutes=settings.console.link_minutes)
    return LoginLinks(SqlConsoleAuth(storage.database, storage.clock), settings.console.public_url, validity)


def console_app(
    settings: Settings,
    storage: Storage,
    *,
    moderator_check: ModeratorCheck | None = None,
    previewer: Previewer | None = None,
    reposter: Reposter | None = None,
    review: ReviewService | None = None,
    metrics: PrometheusMetrics | None = None,
) -> FastAPI:
    """The web console over ``storage`` (``consentguard console``; tests pass fakes for the ports).

    Standalone (no ``reposter``), approving is refused: a repost needs the running bot's platforms. The
    moderator check defaults to the link's scope (:func:`running_console_app` passes the platforms'
    check); previews are de-identified with a scan engine built on the first one. ``review``: the running
    core's review service (its policies), else one built over ``storage``. ``metrics``: the running core's
    (:func:`running_console_app`); standalone, one of its own that only knows the quarantine's depth: its
    counters and latency histogram stay at zero, since no post is judged in this process.
    """
    from bot.console import LinkScopeModeratorCheck, create_console_app
    from bot.console.preview import DeidentifyingPreviewer
    from bot.core.review import ReviewService
    from bot.scanning.deidentifier import EngineDeidentifier
    from bot.storage.audit_queries import SqlAuditHistory
    from bot.storage.console_sessions import SqlConsoleAuth

    review = review or ReviewService(
        quarantine=storage.quarantine,
        audit=storage.audit,
        policies=load_policies(settings, storage),
        group_settings=storage.group_settings,
        clock=storage.clock,
        consented=storage.consented,
        token_key=storage.pseudonym_key,
    )
    return create_console_app(
        review=review,
        quarantine=storage.quarantine,
        auth=SqlConsoleAuth(storage.database, storage.clock),
        settings=settings.console,
        moderator_check=moderator_check or LinkScopeModeratorCheck(),
        previewer=previewer
        or DeidentifyingPreviewer(EngineDeidentifier(functools.partial(build_scan_engine, settings))),
        reposter=reposter,
        clock=storage.clock,
        metrics=metrics or _metrics(storage),
        history=SqlAuditHistory(storage.database),
    )


def _metrics(storage: Storage) -> PrometheusMetrics:
    """A Prometheus exporter over ``storage``'s quarantine: one per process, own registry (not the global)."""
    from bot.observability.prometheus import PrometheusMetrics

    return PrometheusMetrics(storage.quarantine)


def running_console_app(
    settings: Settings,
    core: Core,
    *,
    telegram: TelegramPlatform | None = None,
    discord: DiscordPlatform | None = None,
    previewer: Previewer | None = None,
) -> FastAPI:
    """The console as ``consentguard run`` serves it: over the running core, with the platforms' ports.

    Who moderates a group is asked of its platform at every request (the review buttons' rule), an
    approved item is reposted through the running platform as the Approve button does, and previews are
    rendered by the core's de-identifier (the one the de-identified repost offers use).
    """
    from bot.console import PlatformModeratorCheck, PlatformReposter
    from bot.console.preview import DeidentifyingPreviewer

    if previewer is None and core.offers is not None:
        # The offers' renderer: one engine in memory for both, one rendering at a time.
        previewer = DeidentifyingPreviewer(core.offers.deidentifier)
    checks: dict[str, ModeratorCheck] = {}
    reposters: dict[str, Reposter] = {}
    if telegram is not None:
        from bot.platforms.telegram.console_ports import TelegramModeratorCheck, TelegramReposter

        checks["telegram"] = TelegramModeratorCheck(telegram, core.review)
        reposters["telegram"] = TelegramReposter(telegram, core.review)
    if discord is not None:
        from bot.platforms.discord.console_ports import DiscordModeratorCheck, DiscordReposter

        checks["discord"] = DiscordModeratorCheck(discord, core.review)
        reposters["discord"] = DiscordReposter(discord, core.review)
    return console_app(
        settings,
        core.storage,
        moderator_check=PlatformModeratorCheck(checks),
        previewer=previewer,
        reposter=PlatformReposter(reposters),
        review=core.review,
        metrics=core.metrics,
    )


# -- the consent registry -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def consent_lookup(settings: Settings, *, cache_ttl_s: float = 30.0) -> AsyncIterator[ConsentLookup]:
    """The configured consent API, or the reference registry started in-process on 127.0.0.1."""
    from bot.consent.httpx_lookup import HttpxConsentLookup

    async with (
        consent_registry(settings) as (url, key),
        HttpxConsentLookup(url, key, timeout_s=settings.consent.timeout_s, cache_ttl_s=cache_ttl_s) as lookup,
    ):
        yield lookup


@contextlib.asynccontextmanager
async def consent_registry(settings: Settings) -> AsyncIterator[tuple[str, str | None]]:
    """The consent API's base URL and the bot's key (the lookup and capture clients share them).

    The configured API, or the reference registry started in-process on 127.0.0.1 while the context is open.
    """
    if settings.consent.url:
        key = settings.consent.api_key.get_secret_value() if settings.consent.api_key else None
        yield settings.consent.url, key
        return
    from datetime import timedelta

    from bot.registry.app import create_app
    from bot.registry.inprocess import serve_in_process
    from bot.registry.service import IssuingRules

    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only when created here
    database = settings.registry_database()
    key = _embedded_registry_key(settings.data_dir, database)
    app = create_app(
        database,
        lookups_per_minute=settings.consent.registry_lookups_per_minute,
        staff_lookups_per_minute=settings.consent.registry_staff_lookups_per_minute,
        rules=IssuingRules(
            max_days=settings.consent.registry_max_days,
            default_images=settings.consent.registry_default_images,
            max_images=settings.consent.registry_max_images,
            issues_per_hour=settings.consent.registry_issues_per_hour,
        ),
        public_url=settings.consent.registry_public_url,
        capture_link_validity=timedelta(minutes=settings.consent.registry_capture_link_minutes),
        capture_key_file=settings.registry_capture_key(),
    )
    async with serve_in_process(app) as url:
        log.info("no consent URL configured: reference registry running in-process at %s", url)
        yield url, key


def _embedded_registry_key(data_dir: Path, database: str) -> str:
    """The bot's key for the embedded registry, created once and kept (mode 0600) in the data directory."""
    from bot.registry.commands import new_key
    from bot.storage.keys import create_secret_file, read_secret_file

    path = data_dir / "registry-bot.key"
    if path.exists():
        return read_secret_file(path).strip()
    key = new_key(database, "bot", "embedded-bot")
    create_secret_file(path, key)
    return key


# -- the core: pipeline and review ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overrides:
    """What a test or the demo supplies instead of the real thing; None: built from Settings."""

    clock: Clock = utc_now
    scanner: ImageScanner | None = None
    consent: ConsentLookup | None = None
    #: The registry's capture links (/consent in chat); None with ``consent`` set: no capture in chat.
    capture: CaptureLinks | None = None
    #: Seconds between two looks at a capture link's status.
    capture_poll_s: float = 3.0
    retry_delays_s: tuple[float, ...] = (30.0, 120.0, 600.0)
    #: Seconds between two reads of the registry's revocations; None: the settings' value.
    revocation_poll_s: float | None = None
    #: Renders de-identified reposts; None: ``detectors.deidentify`` with an engine built on first use.
    deidentifier: Deidentifier | None = None


@dataclass(frozen=True, slots=True)
class Core:
    """The running core: the pipeline, the review service, the policies they share, and their storage."""

    moderator: Moderator
    review: ReviewService
    policies: Policies
    storage: Storage
    #: Takes down the posts of withdrawn consents; polling from the moment the core is open.
    takedown: RevocationFollower
    #: Consent capture and withdrawal in chat; None when the registry offers no capture links here.
    capture: CaptureDesk | None = None
    #: One-time login links to the web console (``/console``), on the console's public URL.
    console: LoginLinks | None = None
    #: What the pipeline counts and times, served by the console at ``/metrics`` (with a token set).
    metrics: PrometheusMetrics | None = None
    #: De-identified reposts offered after removals, on the platforms whose front end attaches to it.
    offers: DeidentifiedOffers | None = None
    #: The scan queue to the detection workers (``CONSENTGUARD_QUEUE__URL``); None: detection in-process.
    queue: QueueScanner | None = None

    def groups(self, platform: str) -> list[ChatRef]:
        """Groups of one platform that have a policy of their own (their rights are checked at start-up)."""
        from bot.consent.model import ChatRef

        chats = (ChatRef.parse(name) for name in self.policies.groups)
        return [chat for chat in chats if chat.platform == platform]


@contextlib.asynccontextmanager
async def open_core(
    settings: Settings, *, platforms: dict[str, Platform], overrides: Overrides | None = None
) -> AsyncIterator[Core]:
    """Build storage, scanner, consent client, pipeline and review service; close them all on exit."""
    from datetime import timedelta

    from bot.core.capture import CaptureDesk
    from bot.core.pipeline import Moderator
    from bot.core.poster_limit import PosterLimit
    from bot.core.review import ReviewService
    from bot.core.settings_follower import GroupSettingsFollower
    from bot.core.takedown import RevocationFollower
    from bot.scanning import ProcessPoolScanner

    overrides = overrides or Overrides()
    async with contextlib.AsyncExitStack() as stack:
        storage = stack.enter_context(open_storage(settings, overrides.clock))
        scanner = overrides.scanner
        queue: QueueScanner | None = None
        if scanner is None and settings.queue.url is not None:
            # Detection workers apart: this process enqueues scan jobs and does no detection itself.
            scanner = queue = queue_scanner(settings)
            stack.push_async_callback(queue.aclose)
        if scanner is None:
            pool = ProcessPoolScanner(
                engine_factory(settings),
                workers=settings.detection.workers,
                budget_s=settings.detection.time_budget_s,
            )
            stack.push_async_callback(pool.aclose)
            await pool.warm_up()  # load the models in every worker now, not on the first patient photo
            scanner = pool
        consent, capture = overrides.consent, overrides.capture
        if consent is None:
            from bot.consent.capture_client import HttpxCaptureLinks
            from bot.consent.httpx_lookup import HttpxConsentLookup

            url, key = await stack.enter_async_context(consent_registry(settings))
            timeout_s = settings.consent.timeout_s
            consent = await stack.enter_async_context(HttpxConsentLookup(url, key, timeout_s=timeout_s))
            if capture is None:  # same registry, same key
                capture = await stack.enter_async_context(HttpxCaptureLinks(url, key, timeout_s=timeout_s))
        policies = load_policies(settings, storage)
        metrics = _metrics(storage)
        offers = _deidentified_offers(settings, storage, overrides, stack, policies, queue)
        moderator = Moderator(
            platforms=platforms,
            policies=policies,
            scanner=scanner,
            consent=consent,
            quarantine=storage.quarantine,
            audit=storage.audit,
            worklog=storage.worklog,
            offences=storage.offences,
            token_key=storage.pseudonym_key,
            payload_codec=storage.codec,
            clock=overrides.clock,
            retry_delays_s=overrides.retry_delays_s,
            # Two posts per scan worker in the scan queue (one scanned, one ready); fetching and strict mode's
            # early removal are not held back by scans, up to the backlog; the rest wait on the platform.
            max_concurrent=_posts_scanning(settings),
            max_backlog=settings.max_posts_held,
            consented=storage.consented,
            poster_limit=PosterLimit(
                capacity=settings.consent.poster_lookups,
                window=timedelta(seconds=settings.consent.poster_window_s),
                unknown_cost=settings.consent.poster_unknown_cost,
                clock=overrides.clock,
            ),
            metrics=metrics,
            offers=offers,
        )
        metrics.track_in_flight(lambda: moderator.in_flight)
        if queue is not None:
            waiting_on = queue
            metrics.track_scan_jobs(lambda: waiting_on.waiting)
        stack.push_async_callback(moderator.aclose)
        review = ReviewService(
            quarantine=storage.quarantine,
            audit=storage.audit,
            policies=policies,
            group_settings=storage.group_settings,
            clock=overrides.clock,
            # Approved reposts under a consent token are remembered as allowed posts are (same key).
            consented=storage.consented,
            token_key=storage.pseudonym_key,
        )
        takedown = RevocationFollower(
            consent=consent,
            platforms=platforms,
            policies=policies,
            posts=storage.consented,
            cursor=storage.cursors,
            audit=storage.audit,
            key=storage.pseudonym_key,
            clock=overrides.clock,
            interval_s=overrides.revocation_poll_s or settings.consent.revocation_poll_s,
            first_lookback=timedelta(seconds=settings.consent.revocation_first_lookback_s),
        )
        # A withdrawal must reach the posts whatever runs the core (run, the demo, tests): it starts here,
        # its first round one interval later (the platforms are started by then; a failed round is retried).
        takedown.start()
        stack.push_async_callback(takedown.aclose)
        follower = GroupSettingsFollower(
            storage.group_settings, policies, interval_s=settings.group_settings_poll_s
        )
        follower.start()
        stack.push_async_callback(follower.aclose)
        desk = None
        if capture is not None:
            desk = CaptureDesk(capture, clock=overrides.clock, poll_s=overrides.capture_poll_s)
            stack.push_async_callback(desk.aclose)
        links = login_links(settings, storage)
        yield Core(
            moderator,
            review,
            policies,
            storage,
            takedown,
            desk,
            links,
            metrics,
            offers,
            queue=queue,
        )


def _deidentified_offers(
    settings: Settings,
    storage: Storage,
    overrides: Overrides,
    stack: contextlib.AsyncExitStack,
    policies: Policies,
    queue: QueueScanner | None,
) -> DeidentifiedOffers:
    """The de-identified repost offers; renderings by ``detectors.deidentify``, by a worker with the queue.

    Without the queue, the engine is built in this process on the first rendering (an offer is rare; the
    models take seconds to load) and closed with the core. Offers go out only on platforms whose front end
    attaches to the service.
    """
    from bot.core.deidentified import DeidentifiedOffers
    from bot.scanning.deidentifier import EngineDeidentifier

    deidentifier = overrides.deidentifier or queue
    if deidentifier is None:
        engine_deidentifier = EngineDeidentifier(functools.partial(build_scan_engine, settings))
        stack.callback(engine_deidentifier.close)
        deidentifier = engine_deidentifier
    offers = DeidentifiedOffers(
        store=storage.offers,
        deidentifier=deidentifier,
        audit=storage.audit,
        clock=overrides.clock,
        policies=policies,
    )
    stack.push_async_callback(offers.aclose)
    return offers


# -- consentguard run -----------------------------------------------------------------------------------


def shard_watch(settings: Settings, database: BotDatabase, clock: Clock) -> ShardWatch | None:
    """With Discord sharded over processes (``shard_ids``), the check that every shard is open somewhere."""
    from bot.core.shard_watch import ShardWatch
    from bot.storage.shard_beats import SqlShardBeats

    shard_count, shard_ids = settings.discord.shard_count, settings.discord.shard_ids
    if shard_ids is None or shard_count is None:
        return None  # one process opens every shard: nothing can be left out
    return ShardWatch(
        SqlShardBeats(database, clock),
        owner=replica_name(settings),
        shard_count=shard_count,
        shard_ids=shard_ids,
        clock=clock,
    )


def health_app(
    core: Core,
    tasks: Sequence[asyncio.Task[None]],
    telegram: TelegramPlatform | None,
    discord: discord.Client | None,
    shards: ShardWatch | None = None,
) -> FastAPI:
    """``/healthz`` and ``/readyz`` of ``consentguard run`` (``CONSENTGUARD_HEALTH__PORT``).

    Alive while every platform loop runs; ready when the database answers, every platform is connected
    (Telegram answers ``getMe``, the Discord gateway session is ready) and, with the scan queue, at least one
    detection worker said it was alive within the last 30 seconds.
    """
    from sqlalchemy import text

    from bot.observability.health import Check, create_health_app

    engine = core.storage.database.engine

    def select_one() -> bool:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT 1")).scalar_one() == 1)

    async def database() -> bool:
        return await asyncio.to_thread(select_one)

    checks: dict[str, Check] = {"database": database}
    if core.queue is not None:
        queue = core.queue

        async def scan_workers() -> bool:
            # Without a live worker every post would wait, then fail closed: not ready (a load balancer
            # sends Telegram's webhook calls elsewhere, and the updates wait on Telegram's side).
            return await queue.live_workers() > 0

        checks["scan_workers"] = scan_workers
    if telegram is not None:
        bot = telegram.bot

        async def telegram_ready() -> bool:
            return bool((await bot.get_me()).id)

        checks["telegram"] = telegram_ready
    if discord is not None:
        client = discord

        async def discord_ready() -> bool:
            return client.is_ready() and not client.is_closed()

        checks["discord"] = discord_ready
    if shards is not None:
        watch = shards

        async def discord_shards() -> bool:
            # Every shard of the deployment open in some process: else some guilds go unmoderated.
            return not watch.missing

        checks["discord_shards"] = discord_shards
    return create_health_app(alive=lambda: all(not task.done() for task in tasks), checks=checks)


async def run(
    settings: Settings, *, stop: asyncio.Event | None = None, overrides: Overrides | None = None
) -> None:
    """Run every platform that has a token until ``stop`` is set (or SIGINT/SIGTERM)."""
    telegram_token, discord_token = settings.telegram.token, settings.discord.token
    if telegram_token is None and discord_token is None:
        raise ConfigurationError(
            "no platform token: set CONSENTGUARD_TELEGRAM__TOKEN and/or CONSENTGUARD_DISCORD__TOKEN; "
            "`consentguard demo` runs everything offline without one"
        )
    overrides = overrides or Overrides()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    from bot.core.periodic import Periodic
    from bot.platforms.discord import DiscordFrontend, point_at
    from bot.platforms.telegram import TelegramFrontend, TelegramPlatform, build_application
    from bot.storage.heartbeat import HEARTBEAT_FILE, beat_while

    platforms: dict[str, Platform] = {}
    application = telegram_platform = discord_client = None
    shards: ShardWatch | None = None
    if telegram_token is not None:
        application = build_application(
            telegram_token.get_secret_value(), settings.telegram.base_url, settings.telegram.base_file_url
        )
        telegram_platform = TelegramPlatform(application.bot)
        platforms["telegram"] = telegram_platform
    if discord_token is not None:
        point_at(settings.discord.api_base_url, settings.discord.gateway_url)
        discord_client = DiscordFrontend(
            shard_count=settings.discord.shard_count, shard_ids=settings.discord.shard_ids
        )
        platforms["discord"] = discord_client.platform
    async with (
        open_core(settings, platforms=platforms, overrides=overrides) as core,
        contextlib.AsyncExitStack() as console,
    ):
        tasks: list[asyncio.Task[None]] = []
        telegram_frontend = None
        try:
            if application is not None and telegram_platform is not None:
                telegram_frontend = TelegramFrontend(
                    application,
                    telegram_platform,
                    core.moderator,
                    core.review,
                    capture=core.capture,
                    console=core.console,
                    offers=core.offers,
                )
                hook = settings.telegram
                if hook.webhook_url:  # several replicas behind a load balancer: Telegram posts to each
                    from bot.platforms.telegram.webhook import TelegramWebhook
                    from bot.registry.inprocess import serve_in_process
                    from bot.storage.telegram_updates import TelegramUpdateLog

                    secret = hook.webhook_secret.get_secret_value() if hook.webhook_secret else None
                    claims = TelegramUpdateLog(core.storage.database, overrides.clock)
                    webhook = TelegramWebhook(
                        telegram_frontend, claims, secret=secret, path=hook.webhook_path
                    )
                    serving = webhook.serving(
                        serve_in_process, hook.webhook_url, hook.webhook_host, hook.webhook_port
                    )
                    await telegram_frontend.start(core.groups("telegram"))
                    tasks.append(asyncio.create_task(telegram_frontend.run_webhook(serving)))
                else:
                    await telegram_frontend.start(core.groups("telegram"))
                    tasks.append(asyncio.create_task(telegram_frontend.run_polling()))
            if discord_client is not None and discord_token is not None:
                discord_client.attach(
                    core.moderator,
                    core.review,
                    core.groups("discord"),
                    core.capture,
                    core.console,
                    offers=core.offers,
                )
                await discord_client.login(discord_token.get_secret_value())
                tasks.append(asyncio.create_task(discord_client.connect()))
                shards = shard_watch(settings, core.storage.database, overrides.clock)
                if shards is not None:
                    watching = Periodic(
                        shards.round, interval_s=60.0, name="shard-watch", what="shard coverage round"
                    )
                    watching.start()
                    console.push_async_callback(watching.aclose)
            if settings.console.port is not None:
                from bot.registry.inprocess import serve_in_process

                on_discord = discord_client.platform if discord_client is not None else None
                app = running_console_app(settings, core, telegram=telegram_platform, discord=on_discord)
                host, port = settings.console.host, settings.console.port
                url = await console.enter_async_context(serve_in_process(app, host, port))
                log.info("web console at %s", url)
            if settings.health.port is not None:
                from bot.registry.inprocess import serve_in_process

                health = health_app(core, tasks, telegram_platform, discord_client, shards)
                host, port = settings.health.host, settings.health.port
                url = await console.enter_async_context(serve_in_process(health, host, port))
                log.info("liveness and readiness at %s/healthz and /readyz", url)
            core.moderator.start_housekeeping()
            heartbeat = asyncio.create_task(
                beat_while(settings.data_dir / HEARTBEAT_FILE, tasks[0], overrides.clock)
            )
            log.info("consentguard is running on %s", ", ".join(platforms))
            await stop.wait()
            heartbeat.cancel()
        finally:
            await console.aclose()  # no console request reaches a platform that is stopping
            if telegram_frontend is not None:
                await telegram_frontend.stop()
            if discord_client is not None:
                await discord_client.idle()
                await discord_client.close()
            await asyncio.gather(*tasks, return_exceptions=True)
