"""The bot database: default location, migrations at open (idempotent), WAL, its own version table."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from bot.storage import bot_database_url, open_bot_database
from bot.storage.migrations import SCRIPT_LOCATION, VERSION_TABLE
from config.settings import Settings, StorageSettings
from tests.fakes.settings import make_settings


def test_default_url_is_a_sqlite_file_in_the_data_dir(settings: Settings, data_dir: Path) -> None:
    assert bot_database_url(settings) == f"sqlite:///{(data_dir / 'consentguard.db').resolve()}"
    assert data_dir.is_dir()
    configured = make_settings(
        storage=StorageSettings(database_url="postgresql://bot@db/consentguard"),
    )
    assert bot_database_url(configured) == "postgresql://bot@db/consentguard"


def test_open_migrates_once_and_reopens(db_url: str) -> None:
    db = open_bot_database(db_url)
    tables = set(inspect(db.engine).get_table_names())
    db.close()
    assert {
        "quarantine_items",
        "quarantine_images",
        "audit_events",
        "work_items",
        "offences",
        "group_settings",
        "consented_posts",
        "feed_cursors",
        "deidentified_offers",
        "telegram_updates",
        "shard_beats",
    } <= tables
    assert VERSION_TABLE in tables
    assert "alembic_version" not in tables  # the registry's name stays free for a shared database

    db = open_bot_database(db_url)  # already at head: a no-op
    try:
        with db.engine.connect() as connection:
            if db_url.startswith("sqlite"):
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
            assert (
                connection.exec_driver_sql(
                    "SELECT version_num FROM consentguard_bot_alembic_version"
                ).scalar()
                == "0010"
            )
    finally:
        db.close()


def test_in_memory_database_works() -> None:
    db = open_bot_database("sqlite://")
    try:
        assert "audit_events" in inspect(db.engine).get_table_names()
    finally:
        db.close()


def test_migrations_go_all_the_way_down_and_up_again(db_url: str) -> None:
    db = open_bot_database(db_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(SCRIPT_LOCATION))
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        left = set(inspect(db.engine).get_table_names()) - {VERSION_TABLE}
        assert left == set()  # every table, index and trigger of every revision undone
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        assert {"audit_events", "quarantine_items", "deidentified_offers", "telegram_updates"} <= set(
            inspect(db.engine).get_table_names()
        )
    finally:
        db.close()
