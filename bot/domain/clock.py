"""Time is injected: whatever stamps time takes a Clock (tests move it; nothing reads the date)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, UTC-aware (the production clock)."""
    return datetime.now(UTC)
