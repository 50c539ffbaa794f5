"""Fixtures of the storage tests: a real bot database (SQLite in a temporary directory, and PostgreSQL) and a
movable clock (tests/fakes/database.py looks at the database as another client would)."""

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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, db_path: Path) -> str:
    """Every storage test runs on SQLite (the embedded default) and on the machine's PostgreSQL."""
    if request.param == "postgresql":
        if request.node.get_closest_marker("sqlite_only"):
            pytest.skip("about SQLite's file on disk")
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{db_path}"


@pytest.fixture
def db(db_url: str) -> Iterator[BotDatabase]:
    database = open_bot_database(db_url)
    yield database
    database.close()
