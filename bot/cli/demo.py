"""``consentguard demo``: the whole system offline. The only command that reaches into the sandbox."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from config.settings import Settings


def add_commands(commands: Any) -> None:
    """Register ``demo`` on the top-level subparsers."""
    demo = commands.add_parser("demo", help="run the whole system offline with a scripted Telegram group")
    demo.set_defaults(handler=_cmd_demo)


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox.demo import run_demo

    asyncio.run(run_demo(settings))
    return 0
