"""Redis for the scan-queue tests: the machine's server under a prefix of the test's own, or a server of ours.

The machine's Redis (127.0.0.1:6379) is shared: each test gets a key prefix of its own and its keys are
deleted after it. A test that restarts the broker starts its own ``redis-server`` (the Debian package) on a
free port, without persistence, like the machine's: a restart loses everything it held.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

MACHINE_REDIS = "redis://127.0.0.1:6379/0"


def new_prefix() -> str:
    """A key prefix no other test run uses."""
    return f"cg-test-{secrets.token_hex(6)}"


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under ``prefix``; returns how many."""
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRedis:
    """A ``redis-server`` process of the test's own, to stop and start again (a broker restart)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server)")
        self._binary = binary
        self._workdir = workdir
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - the Debian package's server, our arguments
            [
                self._binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self._workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self) -> None:
        """Kill the server: what it held is gone (no persistence), as after a crash."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None
