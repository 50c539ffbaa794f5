"""``consentguard evalset``: write the generated evaluation set (images and labels.jsonl) to a folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from config.settings import Settings


def add_commands(commands: Any) -> None:
    """Register ``evalset`` on the top-level subparsers."""
    from bot.evalset import DEFAULT_COUNT, DEFAULT_DRAWINGS, DEFAULT_FACES, DEFAULT_SEED

    parser = commands.add_parser(
        "evalset",
        help="write a generated evaluation set (names and harmless text on ward objects, photographed)",
        description=(
            "Writes images and labels.jsonl (shared corpus format plus split, layout, origin, case, "
            "unlabelled_name, degradations) for 'consentguard bench OUT_DIR --split test'."
        ),
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder to write (created if needed)")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"the set's seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--count", type=int, default=DEFAULT_COUNT, help=f"number of images (default {DEFAULT_COUNT})"
    )
    parser.add_argument(
        "--drawings",
        type=int,
        default=DEFAULT_DRAWINGS,
        help=f"drawn faces that are no one: pain scales, smileys (default {DEFAULT_DRAWINGS})",
    )
    parser.add_argument(
        "--faces",
        type=int,
        default=DEFAULT_FACES,
        help=f"real faces in clinical settings: masks, cannula, lying, small, dark (default {DEFAULT_FACES})",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(handler=_cmd_evalset)


def _cmd_evalset(args: argparse.Namespace, settings: Settings) -> int:
    del settings
    from bot.evalset import generate

    if args.count < 1 or args.drawings < 0 or args.faces < 0:
        print("error: --count must be at least 1, --drawings and --faces at least 0", file=sys.stderr)
        return 2
    if args.out_dir.exists() and not args.out_dir.is_dir():
        print(f"error: {args.out_dir} is not a folder", file=sys.stderr)
        return 2
    summary = generate(
        args.out_dir, seed=args.seed, count=args.count, drawings=args.drawings, faces=args.faces
    )
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"wrote {summary['images']} images and labels.jsonl to {summary['out_dir']} in {summary['seconds']} s"
    )
    for key in ("cases", "layouts", "origins", "splits", "severities"):
        print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in summary[key].items()))
    return 0
