"""``consentguard deidentify IN OUT.jpg``: a masked, metadata-free copy that a fresh scan finds clean."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from config.settings import Settings


def add_commands(commands: Any) -> None:
    """Register ``deidentify`` on the top-level subparsers."""
    parser = commands.add_parser(
        "deidentify",
        help="write a de-identified JPEG of an image (faces and text masked, metadata stripped)",
        description=(
            "Masks faces, every line of text and codes with solid fills, re-encodes the pixels alone as JPEG "
            "and scans the result again; writes it only when that scan finds nothing identifying. Exit 1, "
            "with the reason, when no clean rendering can be made (video, PDF, DICOM, animation, a finding "
            "that cannot be located, a rescan that is not clean)."
        ),
    )
    parser.add_argument("source", type=Path, metavar="IN", help="image to de-identify")
    parser.add_argument("target", type=Path, metavar="OUT", help="JPEG file to write")
    parser.set_defaults(handler=_cmd_deidentify)


def _cmd_deidentify(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import build_scan_engine
    from detectors.deidentify import NotDeidentified, deidentify

    try:
        data = args.source.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.source}: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return 2
    with build_scan_engine(settings) as engine:
        result = deidentify(engine, data, name_hint=args.source.name)
    if isinstance(result, NotDeidentified):
        print(f"{args.source}  not de-identified: {result.reason}", file=sys.stderr)
        return 1
    try:
        args.target.write_bytes(result.jpeg)
    except OSError as exc:
        print(f"error: cannot write {args.target}: {exc.strerror or type(exc).__name__}", file=sys.stderr)
        return 2
    kinds = ", ".join(result.kinds) or "nothing"
    print(
        f"{args.target}  {result.width}x{result.height}, {result.masked} region(s) masked; removed: {kinds}"
    )
    return 0
