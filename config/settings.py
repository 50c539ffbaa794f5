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


class DiscordSettings(BaseModel):
    """Discord access; the URLs let the bot run behind a REST or gateway proxy."""

    token: SecretStr | None = None
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str | None = None


class ConsentSettings(BaseModel):
    """Where the consent API lives; without a URL the reference registry runs in-process."""

    url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=3.0, gt=0)
    #: The reference registry's own database (``consentguard consent-api`` and ``consentguard consent``);
    #: default: a SQLite file in the data directory.
    registry_database_url: str | None = None
    registry_lookups_per_minute: int = Field(default=60, ge=1)


class StorageSettings(BaseModel):
    """Databases and the quarantine encryption key."""

    database_url: str | None = None
    quarantine_key: SecretStr | None = None
    quarantine_key_file: Path | None = None


class Settings(BaseSettings):
    """Every setting of consentguard, with embedded defaults that run on one machine."""

    model_config = SettingsConfigDict(
        env_prefix="CONSENTGUARD_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Path("./consentguard-data")
    policy_file: Path | None = None
    log_level: str = "INFO"
    #: Posts the bot holds at once (accepted, unfinished, images in memory); past it, Telegram updates
    #: wait on Telegram's side. A 30-post burst fits, so that strict mode removes all of it at once.
    max_posts_held: int = Field(default=48, ge=1)
    detection: DetectionSettings = DetectionSettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    consent: ConsentSettings = ConsentSettings()
    storage: StorageSettings = StorageSettings()

    def registry_database(self) -> str:
        """The reference registry's database URL (creating the data directory for the SQLite default)."""
        if self.consent.registry_database_url:
            return self.consent.registry_database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'consent-registry.db').resolve()}"
