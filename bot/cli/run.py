"""``consentguard run`` and ``consentguard health``: the bot itself, and the container's health check."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bot.errors import ConfigurationError
from config.settings import Settings


def add_commands(commands: Any) -> None:
    """Register ``run`` and ``health`` on the top-level subparsers."""
    run = commands.add_parser("run", help="run the bot on every platform that has a token")
    run.set_defaults(handler=_cmd_run)
    health = commands.add_parser(
        "health", help="exit 0 when a running bot is polling (container health check)"
    )
    health.set_defaults(handler=_cmd_health)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import run

    try:
        asyncio.run(run(settings))
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.heartbeat import healthy

    ok, detail = healthy(settings)
    print(detail)
    return 0 if ok else 1
