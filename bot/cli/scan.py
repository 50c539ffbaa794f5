"""``consentguard scan`` and ``consentguard bench``: the detectors on files, and on a labelled corpus."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from config.settings import Settings
from detectors.engine import ScanReport


def add_commands(commands: Any) -> None:
    """Register ``scan`` and ``bench`` on the top-level subparsers."""
    scan = commands.add_parser("scan", help="scan image files and say whether they could identify a patient")
    scan.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders to scan")
    scan.add_argument("--json", action="store_true", help="one JSON object per line (schema in README)")
    scan.add_argument(
        "--verdict-only",
        action="store_true",
        help="stop at the first identifying finding, as the bot does (faster, lists fewer kinds)",
    )
    scan.set_defaults(handler=_cmd_scan)

    bench = commands.add_parser("bench", help="measure detection quality and speed on a labelled corpus")
    bench.add_argument("corpus", type=Path, metavar="CORPUS_DIR", help="folder with labels.jsonl")
    bench.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    bench.add_argument(
        "--split",
        choices=("tune", "test"),
        help="only the images of this split (a set written by 'consentguard evalset')",
    )
    bench.set_defaults(handler=_cmd_bench)


def _iter_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def _cmd_scan(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import build_scan_engine

    exit_code = 0
    with build_scan_engine(settings) as engine:
        for path in _iter_files(args.paths):
            try:
                data = path.read_bytes()
            except OSError as exc:
                _print_unreadable(path, exc, as_json=args.json)
                exit_code = 2
                continue
            report = engine.scan(data, name_hint=path.name, exhaustive=not args.verdict_only)
            record = report.to_json(str(path))
            if args.json:
                print(json.dumps(record, ensure_ascii=False), flush=True)
            else:
                print(_human_line(record), flush=True)
            if report.error:
                exit_code = max(exit_code, 1)
    return exit_code


def _print_unreadable(path: Path, exc: OSError, *, as_json: bool) -> None:
    # The same record as any scan that failed (fail closed), so readers of --json see one schema.
    report = ScanReport(error=f"cannot read file: {exc.strerror or type(exc).__name__}", error_type="OSError")
    record = report.to_json(str(path))
    print(json.dumps(record) if as_json else _human_line(record), flush=True)


def _human_line(record: dict[str, object]) -> str:
    if record["error"]:
        verdict = f"ERROR ({record['error']}) -> treated as identifying"
    else:
        verdict = "IDENTIFYING" if record["identifying"] else "not identifying"
    identifiers = record["identifiers"] or []
    parts = [
        f"faces={record['faces']}",
        f"barcodes={record['barcodes']}",
        f"identifiers=[{', '.join(identifiers)}]" if isinstance(identifiers, list) else "",
        f"exif_gps={'yes' if record['exif_gps'] else 'no'}",
        f"dicom_phi={'yes' if record['dicom_phi'] else 'no'}",
    ]
    if record.get("plain_text"):
        parts.append("plain_text=yes")
    timings = record["timings_ms"]
    timing = ", ".join(f"{k} {v:.0f} ms" for k, v in timings.items()) if isinstance(timings, dict) else ""
    line = f"{record['file']}  {verdict}  {' '.join(p for p in parts if p)}"
    return f"{line}  ({timing})" if timing else line


def _cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bootstrap import build_scan_engine
    from bot.cli.bench import print_summary, read_rows, run_benchmark

    labels = args.corpus / "labels.jsonl"
    if not labels.is_file():
        print(f"error: {labels} not found", file=sys.stderr)
        return 2
    try:
        read_rows(args.corpus, args.split)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with build_scan_engine(settings) as engine:
        progress = sys.stderr if sys.stderr.isatty() or os.environ.get("CONSENTGUARD_PROGRESS") else None
        figures = run_benchmark(engine, args.corpus, progress=progress or _DotProgress(), split=args.split)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_summary(figures)
    return 0


class _DotProgress:
    """Progress for non-terminals (CI logs): a line every 25 images instead of carriage returns."""

    def __init__(self) -> None:
        self._count = 0

    def write(self, text: str) -> int:
        if text.startswith("\r"):
            self._count += 1
            if self._count % 25 == 0:
                sys.stderr.write(f"... {self._count} images scanned\n")
        return len(text)

    def flush(self) -> None:
        sys.stderr.flush()
