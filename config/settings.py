"""consentguard's settings, read from ``CONSENTGUARD_*`` environment variables (and a ``.env`` file).

Nested sections use a double underscore: ``CONSENTGUARD_TELEGRAM__TOKEN``,
``CONSENTGUARD_DETECTION__MAX_FILE_MB``.
Secrets are :class:`~pydantic.SecretStr`, so they never show up in a repr, a log line or a traceback.
Tests build ``Settings(...)`` explicitly instead of touching the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DetectionSettings(BaseModel):
    """Limits and switches of the detection engine."""

    max_file_mb: float = Field(default=60.0, gt=0)
    max_pixels: int = Field(default=80_000_000, gt=0)
    max_frames: int = Field(default=4, ge=1, le=64)
    #: Videos: frames sampled at evenly spaced times over the whole duration, first and last included.
    video_frames: int = Field(default=8, ge=2, le=64)
    #: Videos: frames decoded at most to reach those samples; past it the video counts as unchecked.
    video_max_decoded_frames: int = Field(default=5000, ge=1)
    #: Wall-clock seconds one video or PDF may take to decode; past it the scan fails (quarantine).
    decode_budget_s: float = Field(default=8.0, gt=0)
    #: PDFs with more pages cannot be fully checked and are refused whole (quarantine).
    pdf_max_pages: int = Field(default=20, ge=1, le=500)
    faces: bool = True
    #: CenterFace's second look at frames where BlazeFace saw no face (masked, cut, small faces): about
    #: 100 ms more per face-free image on one core; turning it off trades that recall for speed (README).
    faces_second_opinion: bool = True
    text: bool = True
    barcodes: bool = True
    ocr_threads: int = Field(default=1, ge=1, le=64)
    #: Seconds one image may take; past it the scan counts as failed and the post is quarantined.
    time_budget_s: float = Field(default=20.0, gt=0)
    #: Scan worker processes (default: one per core).
    workers: int | None = Field(default=None, ge=1)


class TelegramSettings(BaseModel):
    """Telegram Bot API access (python-telegram-bot's meaning for base URLs; the token is appended)."""

    token: SecretStr | None = None
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    #: Webhook mode (several replicas behind a load balancer): the public HTTPS URL Telegram posts updates
    #: to, e.g. ``https://bot.example.org/telegram``. None: the bot polls with getUpdates (one replica).
    webhook_url: str | None = None
    #: Required with ``webhook_url`` (16 to 256 of ``A-Z a-z 0-9 _ -``): Telegram sends it in each request's
    #: ``X-Telegram-Bot-Api-Secret-Token`` header; without it anyone could post forged updates.
    webhook_secret: SecretStr | None = None
    #: Address and port the webhook endpoint listens on (the load balancer forwards to it).
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=0, le=65535)
    #: Path of the endpoint on this replica (the load balancer forwards ``webhook_url`` to it).
    webhook_path: str = "/telegram"


class DiscordSettings(BaseModel):
    """Discord access; the URLs let the bot run behind a REST or gateway proxy."""

    token: SecretStr | None = None
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str | None = None
    #: Gateway shards in all (guild ``g`` is on shard ``(g >> 22) % shard_count``); None: Discord's
    #: recommendation from ``GET /gateway/bot``. Required with ``shard_ids``.
    shard_count: int | None = Field(default=None, ge=1)
    #: The shards this process opens, as JSON (``[0, 1]``), to spread them over processes; None: all of them.
    shard_ids: list[int] | None = None


class ConsentSettings(BaseModel):
    """Where the consent API lives; without a URL the reference registry runs in-process."""

    url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=3.0, gt=0)
    #: The reference registry's own database (``consentguard consent-api`` and ``consentguard consent``);
    #: default: a SQLite file in the data directory.
    registry_database_url: str | None = None
    #: The reference registry's address as patients' browsers reach it (consent form links, the withdrawal
    #: page), e.g. ``https://consent.example.org``; default: the address each request came to (in-process).
    registry_public_url: str | None = None
    #: Minutes a consent form link may be signed (it works once).
    registry_capture_link_minutes: int = Field(default=30, ge=1, le=24 * 60)
    #: The key that seals signed consents (names, signatures); default ``<data_dir>/registry-capture.key``,
    #: created mode 0600 on first start. Back it up with the database.
    registry_capture_key_file: Path | None = None
    #: Requests naming a token (lookups, uses, revocations) per minute and per *bot* key, bursts included.
    #: The bot looks up every captioned post of every group it guards through one key, so the budget is sized
    #: for that traffic; each poster is limited by the bot itself. Guessing stays hopeless at this rate
    #: (docs/consent-api.md: about one chance in 3.8 billion per key and year).
    registry_lookups_per_minute: int = Field(default=600, ge=1)
    #: The same allowance for each clinician or admin key (used by hand).
    registry_staff_lookups_per_minute: int = Field(default=60, ge=1)
    #: Longest validity of a consent, in days: a request for more is refused (422), never clipped.
    registry_max_days: int = Field(default=365, ge=1, le=3650)
    #: Images a consent covers when the request names no number, and the most one may ask for.
    registry_default_images: int = Field(default=10, ge=1, le=10_000)
    registry_max_images: int = Field(default=100, ge=1, le=10_000)
    #: Consents one clinician may issue per hour, bursts included (per key and per clinician; 429 past it).
    registry_issues_per_hour: int = Field(default=20, ge=1)
    #: Per-poster limit on registry lookups, checked by the bot before it asks: each (platform, poster) may
    #: have ``poster_lookups`` tokens looked up per ``poster_window_s`` seconds (a token bucket); a token the
    #: registry does not know costs ``poster_unknown_cost`` lookups. Past it the post fails closed.
    poster_lookups: int = Field(default=10, ge=1)
    poster_window_s: float = Field(default=600.0, gt=0)
    poster_unknown_cost: int = Field(default=3, ge=1)
    #: How often the bot asks the registry for withdrawn consents (and takes their posts down).
    revocation_poll_s: float = Field(default=10.0, gt=0)
    #: On the very first start, revocations this far back are read too (clock skew, a late start).
    revocation_first_lookback_s: float = Field(default=600.0, ge=0)


class StorageSettings(BaseModel):
    """Databases and the quarantine encryption key."""

    database_url: str | None = None
    quarantine_key: SecretStr | None = None
    quarantine_key_file: Path | None = None


class ConsoleSettings(BaseModel):
    """The moderators' web console (``consentguard console``)."""

    #: The console's address as browsers reach it: login links are built on it (https: Secure cookies).
    public_url: str = "http://127.0.0.1:8788"
    #: Port to listen on; None: the public URL's port, else 8788. ``consentguard run`` serves the console
    #: (with approve and the platforms' moderator check) only when it is set.
    port: int | None = Field(default=None, ge=1, le=65535)
    #: Address ``consentguard run`` serves the console on (put a TLS reverse proxy in front of it).
    host: str = "127.0.0.1"
    #: Minutes a one-time login link stays valid (10 at most).
    link_minutes: int = Field(default=10, ge=1, le=10)
    #: Minutes of inactivity after which a session ends.
    idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    #: Bearer token Prometheus sends to scrape ``/metrics``; None: ``/metrics`` answers 404.
    metrics_token: SecretStr | None = None


class HealthSettings(BaseModel):
    """Liveness and readiness endpoints of ``consentguard run`` for an orchestrator (off by default)."""

    #: Port of ``/healthz`` and ``/readyz``; None: not served.
    port: int | None = Field(default=None, ge=1, le=65535)
    #: Address to listen on (the orchestrator's probes reach it: 0.0.0.0 in a container).
    host: str = "127.0.0.1"


class QueueSettings(BaseModel):
    """Detection workers apart (``consentguard worker``) through Redis Streams; off by default."""

    #: ``redis://host:port/db``. Set: ``consentguard run`` enqueues scan jobs and does no detection itself;
    #: ``consentguard worker`` processes, on any host, consume them.
    url: str | None = None
    #: Prefix of every key the bot and its workers use (several deployments may share one Redis).
    prefix: str = "consentguard"
    #: AES-256 key sealing the images in transit and in Redis, ``<id>:<base64 of 32 bytes>``; else
    #: ``key_file``, else ``<data_dir>/queue.key`` (created on first start). Every host needs the same key.
    key: SecretStr | None = None
    key_file: Path | None = None
    #: Deliveries of one job before it goes to the dead-letter stream and its post is quarantined.
    max_deliveries: int = Field(default=3, ge=1, le=20)
    #: Seconds a delivered job may stay unacknowledged before another worker takes it over (its worker is
    #: presumed dead); longer than the detection budget.
    claim_idle_s: float = Field(default=60.0, gt=0)
    #: Seconds the front end waits for a job's result before it fails closed (the post is quarantined).
    wait_s: float = Field(default=180.0, gt=0)
    #: Seconds a waiting job may go without a result before the front end checks that Redis still holds it
    #: (a Redis restart without persistence loses it: it is enqueued again).
    requeue_check_s: float = Field(default=10.0, gt=0)
    #: Seconds results stay in Redis (a front end restarted within it finds them there).
    result_ttl_s: int = Field(default=86_400, ge=60)
    #: Posts the front end sends to the workers at once (their images wait in Redis, not in memory).
    max_posts_scanning: int = Field(default=32, ge=1)


class Settings(BaseSettings):
    """Every setting of consentguard, with embedded defaults that run on one machine."""

    model_config = SettingsConfigDict(
        env_prefix="CONSENTGUARD_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Path("./consentguard-data")
    #: This front end's name among replicas sharing one database (its hold on the posts it handles); None:
    #: the host name and the data directory, stable across restarts. Give replicas on one host with one
    #: data directory distinct names.
    replica: str | None = Field(default=None, min_length=1, max_length=200)
    policy_file: Path | None = None
    log_level: str = "INFO"
    #: Posts the bot holds at once (accepted, unfinished, images in memory); past it, Telegram updates
    #: wait on Telegram's side. A 30-post burst fits, so that strict mode removes all of it at once.
    max_posts_held: int = Field(default=48, ge=1)
    #: Seconds between two reads of the stored group settings, so that a change made in a console running
    #: apart (``consentguard console``) comes into force; the console served by ``run`` applies it at once.
    group_settings_poll_s: float = Field(default=5.0, gt=0)
    detection: DetectionSettings = DetectionSettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    consent: ConsentSettings = ConsentSettings()
    storage: StorageSettings = StorageSettings()
    console: ConsoleSettings = ConsoleSettings()
    health: HealthSettings = HealthSettings()
    queue: QueueSettings = QueueSettings()

    def registry_database(self) -> str:
        """The reference registry's database URL (creating the data directory for the SQLite default)."""
        if self.consent.registry_database_url:
            return self.consent.registry_database_url
        if not self.data_dir.exists():
            # Owner-only from the start: it will hold patient references (the registry makes its file 0600).
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.data_dir.chmod(0o700)
        return f"sqlite:///{(self.data_dir / 'consent-registry.db').resolve()}"

    def registry_capture_key(self) -> Path:
        """The key file of the registry's signed consents (``<data_dir>/registry-capture.key`` by default)."""
        return self.consent.registry_capture_key_file or self.data_dir / "registry-capture.key"
