"""Operator commands on the bot's own storage: ``audit export``, ``queue``, ``quarantine purge``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import Clock
from config.settings import Settings


def add_commands(commands: Any) -> None:
    """Register the commands on the top-level subparsers."""
    audit = commands.add_parser("audit", help="the audit log, for the data-protection officer")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = audit_sub.add_parser("export", help="write audit events (no image, text or token in them)")
    export.add_argument("--since", default=None, help="ISO date or datetime (default: 30 days ago)")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.set_defaults(handler=_cmd_audit_export)

    queue = commands.add_parser("queue", help="list the quarantine queue awaiting moderator review")
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(handler=_cmd_queue)

    quarantine = commands.add_parser("quarantine", help="quarantine housekeeping")
    q_sub = quarantine.add_subparsers(dest="quarantine_command", required=True, metavar="ACTION")
    purge = q_sub.add_parser(
        "purge", help="purge items past their retention now (a running bot does it every hour)"
    )
    purge.set_defaults(handler=_cmd_purge)


def _parse_since(text: str | None, clock: Clock) -> datetime:
    if text is None:
        return clock() - timedelta(days=30)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SystemExit(f"error: --since {text!r} is not an ISO date such as 2026-11-01") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cmd_audit_export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import open_storage

    with open_storage(settings) as storage:
        count = storage.audit.export(_parse_since(args.since, storage.clock), args.format, sys.stdout)
    print(f"{count} event(s)", file=sys.stderr)
    return 0


def _cmd_queue(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import open_storage

    with open_storage(settings) as storage:
        items = storage.quarantine.pending()
    rows: list[dict[str, Any]] = [
        {
            "item": item.item_id,
            "group": str(item.chat),
            "message": item.message_id,
            "reason": item.reason,
            "kinds": list(item.finding_kinds),
            "images": item.image_count,
            "quarantined_at": item.created_at.isoformat(timespec="seconds"),
            "purged_after": item.expires_at.isoformat(timespec="seconds"),
        }
        for item in items
    ]
    if args.json:
        for row in rows:
            print(json.dumps(row))
    elif not rows:
        print("quarantine queue is empty")
    else:
        for row in rows:
            kinds = ",".join(row["kinds"]) or "-"
            print(
                f"{row['item']}  {row['group']} msg {row['message']}  {row['reason']}  kinds={kinds}  "
                f"images={row['images']}  until {row['purged_after']}"
            )
    return 0


def _cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import open_storage

    with open_storage(settings) as storage:
        purged = storage.quarantine.purge_expired()
    print(f"purged {purged} item(s) past their retention")
    return 0
