"""Shared fixtures: real detectors built once per session, and a guard against the internet."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

from config.settings import Settings
from detectors.engine import ScanEngine


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


@pytest.fixture(scope="session")
def engine() -> Iterator[ScanEngine]:
    """The production engine with every detector, models loaded once."""
    from bot.bootstrap import build_scan_engine

    with build_scan_engine(Settings(_env_file=None)) as built:  # type: ignore[call-arg]
        yield built
