"""``consentguard bench-bot``: the real bot under a burst or a steady rate of posts (local Telegram server).

With ``demo``, the only command that reaches into the sandbox: it needs the local Bot API server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from config.settings import Settings


def add_commands(commands: Any) -> None:
    """Register ``bench-bot`` on the top-level subparsers."""
    bench = commands.add_parser(
        "bench-bot", help="drive the real bot through the local Telegram server and measure it under load"
    )
    bench.add_argument("images", type=Path, metavar="IMAGE_DIR", help="folder of images to post (cycled)")
    bench.add_argument("--posts", type=int, default=30, help="how many posts, one per member (default 30)")
    bench.add_argument("--rate", type=float, default=None, help="posts per second (default: all at once)")
    bench.add_argument(
        "--mode", choices=("strict", "identifying-only"), default="strict", help="the group's policy mode"
    )
    bench.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    bench.set_defaults(handler=_cmd_bench_bot)


def _cmd_bench_bot(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sandbox.load import load_images, run_bot_bench

    if args.posts < 1 or (args.rate is not None and args.rate <= 0):
        print("error: --posts must be at least 1 and --rate positive")
        return 2
    try:
        images = load_images(args.images)
    except (FileNotFoundError, NotADirectoryError) as exc:
        print(f"error: {exc}")
        return 2
    report = asyncio.run(run_bot_bench(settings, images, posts=args.posts, rate=args.rate, mode=args.mode))
    if args.json:
        print(json.dumps(report))
    return 0
