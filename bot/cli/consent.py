"""``consentguard consent-api``, ``consentguard consent ...`` and ``consentguard bench-consent``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from config.settings import Settings

if TYPE_CHECKING:
    from bot.registry.service import IssuingRules


def add_commands(commands: Any) -> None:
    """Register the consent commands on the top-level subparsers."""
    api = commands.add_parser("consent-api", help="run the reference consent registry (HTTP API)")
    api.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    api.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    api.set_defaults(handler=_cmd_consent_api)

    consent = commands.add_parser("consent", help="manage the reference registry's keys and consents")
    sub = consent.add_subparsers(dest="consent_command", required=True, metavar="ACTION")

    key = sub.add_parser("key", help="API keys")
    key_sub = key.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    key_new = key_sub.add_parser("new", help="create an API key and print it once")
    key_new.add_argument("--role", required=True, choices=["bot", "clinician", "admin"])
    key_new.add_argument("--owner", default=None, help="who holds the key (a clinician's PLATFORM:USER_ID)")
    key_new.set_defaults(handler=_cmd_key_new)

    new = sub.add_parser("new", help="issue a consent token")
    new.add_argument("--patient-ref", required=True, help="opaque patient reference (never a name)")
    new.add_argument("--group", action="append", required=True, help="PLATFORM:CHAT_ID or * (repeatable)")
    new.add_argument("--clinician", action="append", required=True, help="PLATFORM:USER_ID (repeatable)")
    new.add_argument(
        "--purpose", action="append", default=None, choices=["advice", "teaching", "publication"]
    )
    new.add_argument(
        "--days",
        type=int,
        default=30,
        help="validity in days (default 30; at most CONSENTGUARD_CONSENT__REGISTRY_MAX_DAYS, 365 by default)",
    )
    new.add_argument(
        "--max-images",
        type=int,
        default=None,
        help="how many images it may cover (default CONSENTGUARD_CONSENT__REGISTRY_DEFAULT_IMAGES, 10)",
    )
    new.add_argument("--json", action="store_true", help="print a JSON object (with at least 'token')")
    new.set_defaults(handler=_cmd_consent_new)

    revoke = sub.add_parser("revoke", help="revoke a consent token")
    revoke.add_argument("token")
    revoke.set_defaults(handler=_cmd_consent_revoke)

    show = sub.add_parser("show", help="show what the registry knows of a token")
    show.add_argument("token")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_cmd_consent_show)

    bench = commands.add_parser(
        "bench-consent", help="measure consent lookups per second against a local reference registry"
    )
    bench.add_argument("--lookups", type=int, default=2000)
    bench.add_argument("--concurrency", type=int, default=4)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=_cmd_bench_consent)


def _cmd_consent_api(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import timedelta

    import uvicorn

    from bot.registry.app import create_app

    url = settings.registry_database()
    app = create_app(
        url,
        lookups_per_minute=settings.consent.registry_lookups_per_minute,
        staff_lookups_per_minute=settings.consent.registry_staff_lookups_per_minute,
        rules=_issuing_rules(settings),
        public_url=settings.consent.registry_public_url,
        capture_link_validity=timedelta(minutes=settings.consent.registry_capture_link_minutes),
        capture_key_file=settings.registry_capture_key(),
    )
    print(f"consent registry: database {_safe_url(url)}", flush=True)
    print(f"listening on http://{args.host}:{args.port} (OpenAPI at /docs and /openapi.json)", flush=True)
    print("create a key for the bot with: consentguard consent key new --role bot", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _cmd_key_new(args: argparse.Namespace, settings: Settings) -> int:
    from bot.registry.commands import new_key

    key = new_key(settings.registry_database(), args.role, args.owner)
    print(key)
    print("this key is shown once; store it as CONSENTGUARD_CONSENT__API_KEY (bot role)", file=sys.stderr)
    return 0


def _cmd_consent_new(args: argparse.Namespace, settings: Settings) -> int:
    from bot.registry.commands import new_consent

    try:
        record = new_consent(
            settings.registry_database(),
            patient_ref=args.patient_ref,
            groups=args.group,
            clinicians=args.clinician,
            purposes=args.purpose or ["advice"],
            days=args.days,
            max_images=args.max_images,
            rules=_issuing_rules(settings),
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(record, default=str))
    else:
        print(record["token"])
        print(
            f"valid until {record.get('valid_until')}, groups {', '.join(record.get('groups', []))}, "
            f"clinicians {', '.join(record.get('clinicians', []))}",
            file=sys.stderr,
        )
    return 0


def _cmd_consent_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from bot.registry.commands import revoke_consent

    try:
        revoked = revoke_consent(settings.registry_database(), args.token)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("revoked" if revoked else "unknown token (nothing revoked)")
    return 0 if revoked else 1


def _cmd_consent_show(args: argparse.Namespace, settings: Settings) -> int:
    from bot.registry.commands import show_consent

    try:
        record = show_consent(settings.registry_database(), args.token)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(record, default=str))
    else:
        for key, value in record.items():
            print(f"{key}: {value}")
    return 0


def _cmd_bench_consent(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.cli.consent_bench import run_consent_bench

    figures = asyncio.run(run_consent_bench(settings, lookups=args.lookups, concurrency=args.concurrency))
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{figures['lookups']} lookups, concurrency {figures['concurrency']}: "
            f"{figures['lookups_per_s']:.0f} lookups/s, p50 {figures['p50_ms']:.1f} ms, "
            f"p95 {figures['p95_ms']:.1f} ms, max {figures['max_ms']:.1f} ms "
            f"(registry on {figures['database']}, client cache off)"
        )
    return 0


def _issuing_rules(settings: Settings) -> IssuingRules:
    """The registry's issuing rules from the settings (the server and the operator commands share them)."""
    from bot.registry.service import IssuingRules

    consent = settings.consent
    return IssuingRules(
        max_days=consent.registry_max_days,
        default_images=consent.registry_default_images,
        max_images=consent.registry_max_images,
        issues_per_hour=consent.registry_issues_per_hour,
    )


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
