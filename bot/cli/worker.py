"""``consentguard worker``: a detection worker consuming the scan queue (``CONSENTGUARD_QUEUE__URL``)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from config.settings import Settings


def add_commands(commands: Any) -> None:
    """Register ``worker`` on the top-level subparsers."""
    worker = commands.add_parser(
        "worker",
        help="scan images for `consentguard run` instances (needs CONSENTGUARD_QUEUE__URL); run any number",
    )
    worker.set_defaults(handler=_cmd_worker)


def _cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import run_worker

    asyncio.run(run_worker(settings))
    return 0
