"""Fixtures of the registry tests: a temporary SQLite registry, a movable clock and one key per role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

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


@pytest.fixture
def db_url(db_path: Path) -> str:
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


@pytest.fixture
async def client(db_url: str, keys: Keys, clock: MovableClock) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_app(db_url, lookups_per_minute=1000, clock=clock)) as http:
        yield http
