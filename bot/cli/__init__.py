"""The ``consentguard`` command line: one module per group of commands, each registering its own."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot.cli import (
    bot_bench,
    consent,
    console,
    deidentify,
    demo,
    evalset,
    ops,
    run,
    scan,
    worker,
    workers_bench,
)
from bot.errors import ConfigurationError
from config.settings import Settings

log = logging.getLogger("consentguard")

#: Third-party loggers that would write request URLs (which carry consent tokens) or payloads at INFO.
_CHATTY_LOGGERS = ("httpx", "httpcore", "uvicorn.access", "telegram.ext", "discord.http", "alembic")


def configure_logging(level: str) -> None:
    """Log to stderr; keep libraries that print URLs or payloads at WARNING, whatever our level."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``consentguard`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        return int(args.handler(args, settings))
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="consentguard",
        description="Keeps identifiable patient images out of clinicians' group chats without consent.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        scan,
        run,
        worker,
        demo,
        bot_bench,
        workers_bench,
        consent,
        ops,
        evalset,
        console,
        deidentify,
    ):
        module.add_commands(commands)
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
