"""The running bot's sign of life: a file in the data directory holding the bot's own time.

``consentguard health`` (the container's health check) reads it. The time inside comes from the bot's
injected clock, not the file's mtime, so the writer and the reader always compare one clock with itself.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from bot.domain import Clock, utc_now
from config.settings import Settings

HEARTBEAT_FILE = "heartbeat"
HEARTBEAT_INTERVAL_S = 30.0


def write_heartbeat(path: Path, now: datetime) -> None:
    """Record ``now`` as the last sign of life."""
    path.write_text(now.isoformat(), encoding="ascii")


async def beat_while(path: Path, alive: asyncio.Task[None], clock: Clock) -> None:
    """Write the time to ``path`` every interval while ``alive`` (the polling task) runs."""
    while not alive.done():
        await asyncio.to_thread(write_heartbeat, path, clock())
        await asyncio.sleep(HEARTBEAT_INTERVAL_S)


def healthy(
    settings: Settings, *, clock: Clock = utc_now, max_age_s: float = 4 * HEARTBEAT_INTERVAL_S
) -> tuple[bool, str]:
    """Whether a running bot wrote its heartbeat recently, and a line saying so."""
    path = settings.data_dir / HEARTBEAT_FILE
    try:
        beat = datetime.fromisoformat(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        return False, "no heartbeat yet: is `consentguard run` running?"
    except ValueError:
        return False, "heartbeat file is unreadable"
    age = (clock() - beat).total_seconds()
    if age > max_age_s:
        return False, f"heartbeat is {age:.0f} s old (polling stalled?)"
    return True, f"heartbeat {age:.0f} s ago"
