"""Group settings stored by moderators: round trip, replacement, restarts, and rows that do not parse."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from bot.consent.model import ChatRef, Purpose, UserRef
from bot.core.policy import GroupPolicy, Mode
from bot.domain import Verdict
from bot.errors import PolicyError
from bot.sqlbase import create_database_engine
from bot.storage import BotDatabase, open_bot_database
from bot.storage.group_settings import SqlGroupSettings
from bot.storage.migrations import SCRIPT_LOCATION
from tests.fakes.clock import MovableClock
from tests.fakes.database import run_sql, stored_bytes

CHAT = ChatRef("telegram", "-1001234")
OTHER_CHAT = ChatRef("discord", "98765")
MODERATOR = UserRef("telegram", "42")
CUSTOM = GroupPolicy(
    mode=Mode.IDENTIFYING_ONLY,
    identifying_action=Verdict.QUARANTINE,
    language="en",
    retention=timedelta(days=30),
    purpose=Purpose.TEACHING,
    review_chat=ChatRef("telegram", "-1009999"),
    moderators=(MODERATOR, UserRef("telegram", "43")),
    repeat_offence_threshold=5,
    notice_ttl_s=120,
)


def test_save_then_load_gives_the_same_policy(db: BotDatabase, clock: MovableClock) -> None:
    store = SqlGroupSettings(db, clock)
    assert store.load() == {}
    store.save(CHAT, CUSTOM, MODERATOR)
    store.save(OTHER_CHAT, GroupPolicy(), MODERATOR)
    assert store.load() == {str(CHAT): CUSTOM, str(OTHER_CHAT): GroupPolicy()}


def test_a_second_save_replaces_the_first(db: BotDatabase, db_url: str, clock: MovableClock) -> None:
    store = SqlGroupSettings(db, clock)
    store.save(CHAT, CUSTOM, MODERATOR)
    clock.advance(minutes=5)
    store.save(CHAT, GroupPolicy(mode=Mode.MONITOR), MODERATOR)
    assert store.load() == {str(CHAT): GroupPolicy(mode=Mode.MONITOR)}
    rows = run_sql(db_url, "SELECT platform, chat_id, updated_at FROM group_settings")
    assert len(rows) == 1
    assert rows[0][:2] == ("telegram", "-1001234")
    assert str(rows[0][2]).startswith(clock().strftime("%Y-%m-%d %H:%M:%S"))


def test_settings_survive_reopening_the_database(db_url: str, clock: MovableClock) -> None:
    db = open_bot_database(db_url)
    SqlGroupSettings(db, clock).save(CHAT, CUSTOM, MODERATOR)
    db.close()  # the bot restarts
    db = open_bot_database(db_url)
    try:
        assert SqlGroupSettings(db, clock).load() == {str(CHAT): CUSTOM}
    finally:
        db.close()


def test_the_moderator_is_not_stored_in_clear(db: BotDatabase, db_url: str, db_path: Path) -> None:
    SqlGroupSettings(db).save(CHAT, GroupPolicy(), UserRef("telegram", "777000111"))
    db.close()
    assert b"777000111" not in stored_bytes(db_url, db_path)


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ('{"mode": "lenient"}', r"telegram:-1001234: key 'mode'.*lenient"),
        ('{"colour": "blue"}', r"telegram:-1001234: unknown key 'colour'"),
        ('{"retention_days": 0}', r"key 'retention_days'"),
        ('{"moderators": ["nobody"]}', r"key 'moderators\[0\]'"),
        ("not json", r"telegram:-1001234: not valid JSON"),
        ("[1, 2]", r"expected a table"),
    ],
)
def test_unknown_or_invalid_stored_json_fails_clearly(
    db: BotDatabase, db_url: str, stored: str, message: str
) -> None:
    store = SqlGroupSettings(db)
    store.save(CHAT, GroupPolicy(), MODERATOR)
    run_sql(db_url, "UPDATE group_settings SET policy = :stored", stored=stored)
    with pytest.raises(PolicyError, match=message):
        store.load()


def test_a_policy_that_cannot_be_stored_is_refused_before_writing(db: BotDatabase) -> None:
    store = SqlGroupSettings(db)
    with pytest.raises(PolicyError, match="whole number of days"):
        store.save(CHAT, GroupPolicy(retention=timedelta(hours=36)), MODERATOR)
    with pytest.raises(PolicyError, match="key 'language'"):
        store.save(CHAT, GroupPolicy(language="de"), MODERATOR)
    assert store.load() == {}


def test_a_database_at_the_first_revision_gains_the_table(db_url: str) -> None:
    engine = create_database_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION).replace("%", "%%"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    assert "group_settings" not in inspect(engine).get_table_names()
    engine.dispose()
    db = open_bot_database(db_url)  # what a restart after the upgrade does
    try:
        SqlGroupSettings(db).save(CHAT, CUSTOM, MODERATOR)
        assert SqlGroupSettings(db).load() == {str(CHAT): CUSTOM}
    finally:
        db.close()
