"""Fixtures of the registry tests: a temporary SQLite registry, a movable clock and one key per role."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from bot.registry.app import create_app
from bot.registry.commands import new_key
from tests.fakes.clock import MovableClock


@dataclass(frozen=True)
class Keys:
    admin: str
    bot: str
    clinician: str
    other_clinician: str

    def header(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, role)}"}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "consent-registry.db"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The registry's database: SQLite (its embedded default) for every test; PostgreSQL as well for the
    modules marked ``postgresql`` (storage, issuing rules, withdrawals: what the database decides). The API
    and form tests above them run once: what they check does not depend on the database, and the suite
    has a time budget."""
    if "db_backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("postgresql") is not None
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"] if both else ["sqlite"])


@pytest.fixture
def db_url(request: pytest.FixtureRequest, db_backend: str, db_path: Path) -> str:
    if db_backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{db_path}"


@pytest.fixture
def keys(db_url: str) -> Keys:
    return Keys(
        admin=new_key(db_url, "admin", "ops"),
        bot=new_key(db_url, "bot", None),
        clinician=new_key(db_url, "clinician", "dr-a"),
        other_clinician=new_key(db_url, "clinician", "dr-b"),
    )


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on ``app``, with its lifespan running (the engine is disposed at the end)."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://registry.test") as http,
    ):
        yield http


def registry_app(database_url: str, **options: Any) -> FastAPI:
    """``create_app`` as the tests use it: on PostgreSQL, with a capture key file named for the database.

    With a SQLite database the key lives next to its file; with a server database the operator names it
    (``CONSENTGUARD_CONSENT__REGISTRY_CAPTURE_KEY_FILE``): here, one per test schema in the temp directory.
    """
    if not database_url.startswith("sqlite") and "capture_key_file" not in options:
        schema = parse_qs(urlsplit(database_url).query)["application_name"][0]
        options["capture_key_file"] = Path(tempfile.gettempdir()) / f"consentguard-{schema}-capture.key"
    return create_app(database_url, **options)


@pytest.fixture
async def client(db_url: str, keys: Keys, clock: MovableClock) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(registry_app(db_url, lookups_per_minute=1000, clock=clock)) as http:
        yield http
