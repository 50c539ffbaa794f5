"""``consentguard console``: the moderators' web console; ``console link --operator``: a login link."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlsplit

from config.settings import Settings

DEFAULT_PORT = 8788


def add_commands(commands: Any) -> None:
    """Register the commands on the top-level subparsers."""
    console = commands.add_parser("console", help="serve the moderators' web console for the data directory")
    console.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    console.add_argument("--port", type=int, default=None, help="port (default: the settings', else 8788)")
    console.set_defaults(handler=_cmd_serve)
    sub = console.add_subparsers(dest="console_command", metavar="ACTION")
    link = sub.add_parser("link", help="print a one-time login link (valid 10 minutes at most)")
    link.add_argument("--operator", action="store_true", required=True, help="a link for every group")
    link.set_defaults(handler=_cmd_link)


def listening_port(settings: Settings, given: int | None) -> int:
    """The port to serve on: ``--port``, the settings' port, the public URL's, else 8788."""
    if given is not None:
        return given
    if settings.console.port is not None:
        return settings.console.port
    return urlsplit(settings.console.public_url).port or DEFAULT_PORT


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.bootstrap import console_app, open_storage

    with open_storage(settings) as storage:
        app = console_app(settings, storage)
        port = listening_port(settings, args.port)
        print(f"console listening on http://{args.host}:{port} (links on {settings.console.public_url})")
        # No access log: login links carry their secret in the path.
        uvicorn.run(app, host=args.host, port=port, log_level="warning", access_log=False)
    return 0


def _cmd_link(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import login_links, open_storage

    with open_storage(settings) as storage:
        print(login_links(settings, storage).issue_operator_link())
    return 0
