"""Fixtures of the storage tests: a real SQLite bot database in a temporary directory, a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage import BotDatabase, open_bot_database
from config.settings import Settings
from tests.fakes.clock import MovableClock
from tests.fakes.settings import make_settings


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return make_settings(data_dir=data_dir)


@pytest.fixture
def db_path(data_dir: Path) -> Path:
    return data_dir / "consentguard.db"


@pytest.fixture
def db_url(db_path: Path) -> str:
    return f"sqlite:///{db_path}"


@pytest.fixture
def db(db_url: str) -> Iterator[BotDatabase]:
    database = open_bot_database(db_url)
    yield database
    database.close()


def file_bytes(db_path: Path) -> bytes:
    """The database file and its WAL file, as they are on disk now."""
    content = b""
    for path in (db_path, db_path.with_name(db_path.name + "-wal")):
        if path.exists():
            content += path.read_bytes()
    return content
