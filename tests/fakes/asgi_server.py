"""Helpers for tests that serve apps over real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket

from bot.registry.inprocess import serve_in_process as serve

__all__ = ["closed_port", "serve"]


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
