"""Shared fixtures: real detectors built once per session, and a guard against the internet."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings
from detectors.engine import ScanEngine
from tests.fakes.postgres import PostgresRun
from tests.fakes.redis import MACHINE_REDIS, delete_prefix, new_prefix
from tests.fakes.settings import consentguard_env_names, make_settings


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock-shift-days",
        type=int,
        default=0,
        help="run with the wall clock moved N days ahead: a test that depends on today's date then fails",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Move the wall clock (not the monotonic one) for the whole run when --clock-shift-days is given.

    Code and tests must take time from an injected clock; whatever still reads the real date (or a test that
    pins a date and mixes it with the real one) shows up as a failure in the shifted run (`make test`).
    """
    days = config.getoption("--clock-shift-days")
    if days:
        import time_machine

        traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        traveller.start()
        config.add_cleanup(traveller.stop)


class InternetAccessError(RuntimeError):
    """A test tried to reach a host that is not on this machine."""


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection to a non-loopback address (as PTB's OfflineRequest does for its tests)."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if isinstance(host, str):
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = host == "localhost"
            if not loopback:
                raise InternetAccessError(f"test tried to reach {host}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(autouse=True)
def _hermetic_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's ``CONSENTGUARD_*`` variables and ``.env`` file out of every test.

    Code under test (the CLI) builds ``Settings()`` itself: without this, a ``.env`` in the working directory
    or an exported variable would change what it does. A test that sets variables with ``monkeypatch.setenv``
    still gets them: it runs after this fixture.
    """
    for name in consentguard_env_names():
        monkeypatch.delenv(name)
    monkeypatch.setitem(Settings.model_config, "env_file", None)


@pytest.fixture(scope="session")
def postgres_run() -> Iterator[PostgresRun]:
    """This test run's database on the machine's PostgreSQL (dropped at the end of the run)."""
    run = PostgresRun()
    yield run
    run.drop()


@pytest.fixture
def postgres_url(postgres_run: PostgresRun) -> Iterator[str]:
    """A SQLAlchemy URL to an empty schema of the run's PostgreSQL database, dropped after the test."""
    with postgres_run.schema() as url:
        yield url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the machine's Redis; its keys are deleted after the test."""
    prefix = new_prefix()
    yield prefix
    delete_prefix(MACHINE_REDIS, prefix)


@pytest.fixture(scope="session")
def engine() -> Iterator[ScanEngine]:
    """The production engine with every detector, models loaded once."""
    from bot.bootstrap import build_scan_engine

    with build_scan_engine(make_settings()) as built:
        yield built
