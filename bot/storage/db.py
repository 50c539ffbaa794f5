"""The bot's own database (SQLite or PostgreSQL): quarantine, audit log, work log, offences, group settings.

A separate database from the consent registry's: the registry may run elsewhere, and the bot's tables hold
encrypted patient images that no registry operator needs. Each component opens short transactions through
:attr:`BotDatabase.sessions`, so they can be called from worker threads (``asyncio.to_thread``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from bot.sqlbase import UtcDateTime, create_database_engine
from config.settings import Settings

#: File name of the default SQLite database in the data directory.
DEFAULT_DATABASE_FILE = "consentguard.db"


class Base(DeclarativeBase):
    """Declarative base of the bot's tables."""


class QuarantineItemRow(Base):
    """One quarantined post. Who posted it, its caption and the deciding moderator are stored encrypted."""

    __tablename__ = "quarantine_items"
    __table_args__ = (Index("ix_quarantine_items_status_chat", "status", "platform", "chat_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    finding_kinds: Mapped[str] = mapped_column(Text)  # JSON list of finding kinds (never content)
    reason: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(16))
    image_count: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str] = mapped_column(String(32))  # key of sealed_meta and sealed_caption
    sealed_meta: Mapped[bytes] = mapped_column(LargeBinary)  # author, author name, thread
    sealed_caption: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # None once purged
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    decided_key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sealed_decided_by: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: A rejecting moderator's free note (sealed with ``decided_key_id``): it may name a patient, so it is
    #: kept only until ``expires_at``, like the images it was about.
    sealed_note: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class QuarantineImageRow(Base):
    """One encrypted image of a quarantined post; deleted when the item is decided or expires."""

    __tablename__ = "quarantine_images"

    item_id: Mapped[str] = mapped_column(
        ForeignKey("quarantine_items.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[str] = mapped_column(String(256))
    key_id: Mapped[str] = mapped_column(String(32))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # 12-byte nonce + AES-256-GCM ciphertext and tag


class AuditEventRow(Base):
    """One audit event; the table is append-only (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_events"
    # The console's history and figures read one group's events by time.
    __table_args__ = (Index("ix_audit_events_chat_time", "platform", "chat_id", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    poster: Mapped[str] = mapped_column(String(16))  # keyed pseudonym
    verdict: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(128))
    finding_kinds: Mapped[str] = mapped_column(Text)  # JSON list
    consent_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    token_fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True)
    moderator: Mapped[str | None] = mapped_column(String(16), nullable=True)  # keyed pseudonym
    decision: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # When the judged post was sent (removal times); None for other events and those before 0005.
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WorkItemRow(Base):
    """One accepted platform message (or revision of an edited one), until it is handled."""

    __tablename__ = "work_items"
    __table_args__ = (UniqueConstraint("post_key", "revision", name="uq_work_items_post_revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_key: Mapped[str] = mapped_column(String(255))
    revision: Mapped[str] = mapped_column(String(128))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # emptied once done: nothing kept longer than needed
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    outcome: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The front end handling the item, and until when: another replica resumes it only once that passed.
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class OffenceRow(Base):
    """How many posts of one (pseudonymised) poster were removed in one chat."""

    __tablename__ = "offences"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    poster: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)


class GroupSettingsRow(Base):
    """One group's policy as its moderators last set it (overrides the policy file for that group)."""

    __tablename__ = "group_settings"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    policy: Mapped[str] = mapped_column(Text)  # JSON of bot.core.policy.GroupPolicySchema
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ConsentedPostRow(Base):
    """A post allowed under a consent, until a withdrawal of that consent has been dealt with.

    ``takedown_key`` is a keyed hash of the registry's token fingerprint (never the token); who posted it
    and where are sealed (the moderators' and the poster's messages need them), the ids are not.
    """

    __tablename__ = "consented_posts"
    __table_args__ = (
        UniqueConstraint("platform", "chat_id", "message_id", name="uq_consented_posts_message"),
        Index("ix_consented_posts_withdrawn", "withdrawn_at", "settled_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    message_ids: Mapped[str] = mapped_column(Text)  # JSON list: every message of the post (an album)
    thread_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    takedown_key: Mapped[str] = mapped_column(String(64), index=True)
    token_fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True)  # the audit's
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    allowed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sealed_people: Mapped[bytes] = mapped_column(LargeBinary)  # author, name, language, chat title
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)


class FeedCursorRow(Base):
    """Where the bot is in an external feed (the registry's revocations), kept across restarts."""

    __tablename__ = "feed_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[datetime] = mapped_column(UtcDateTime)


class BotDatabase:
    """An open bot database: its engine and session factory. Close it at shutdown."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    def close(self) -> None:
        """Close every pooled connection (SQLite then checkpoints and removes its WAL file)."""
        self.engine.dispose()

    def __enter__(self) -> BotDatabase:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # render_as_string hides a PostgreSQL password.
        return f"BotDatabase({self.engine.url.render_as_string(hide_password=True)!r})"


def bot_database_url(settings: Settings) -> str:
    """The bot database's URL: the configured one, else a SQLite file in the data directory."""
    if settings.storage.database_url:
        return settings.storage.database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(settings.data_dir / DEFAULT_DATABASE_FILE).resolve()}"


def open_bot_database(url: str) -> BotDatabase:
    """Open the database at ``url`` and bring its schema to the latest migration."""
    from bot.storage.migrations import upgrade  # the migrations import this module's models

    engine = create_bot_engine(url)
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return BotDatabase(engine)


def create_bot_engine(database_url: str) -> Engine:
    """Create the bot database's engine (see :func:`bot.sqlbase.create_database_engine`)."""
    return create_database_engine(database_url)


class ConsoleLinkRow(Base):
    """A one-time login link of the moderators' web console: only the SHA-256 of its secret is kept."""

    __tablename__ = "console_links"

    secret_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(Text)  # JSON: operator, or a moderator and their groups
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ConsoleSessionRow(Base):
    """A signed-in console session: only the SHA-256 of its id is kept (the cookie holds the id)."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(Text)
    csrf: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revealed_item: Mapped[str | None] = mapped_column(String(32), nullable=True)
    revealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class DeidentifiedOfferRow(Base):
    """A de-identified repost offered to a poster; deleted once posted or past its lifetime (24 hours).

    The masked images (already clean, yet derived from a patient photo) and who may post them are sealed;
    the chat, the original message id and the finding kinds stay in clear for the audit and the purge.
    """

    __tablename__ = "deidentified_offers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    finding_kinds: Mapped[str] = mapped_column(Text)  # JSON list of finding kinds (never content)
    key_id: Mapped[str] = mapped_column(String(32))  # key of sealed_meta and sealed_images
    sealed_meta: Mapped[bytes] = mapped_column(LargeBinary)  # author, name, thread, languages
    sealed_images: Mapped[bytes] = mapped_column(LargeBinary)  # the masked JPEGs, length-prefixed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    #: Set while a confirmed repost is under way (one use); cleared again if the repost fails.
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
