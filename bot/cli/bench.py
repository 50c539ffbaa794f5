"""``consentguard bench``: detection quality and speed on a labelled corpus.

The corpus format is ``labels.jsonl`` beside the images (see the shared corpus README). Each image is
scanned one at a time. Quality per label comes from an exhaustive scan (every detector runs); the
identifying verdict and its latency come from verdict mode, the path the bot takes.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from detectors.base import FindingKind
from detectors.engine import ScanEngine, ScanReport

#: label key -> (is the label positive?, did the scan say so?)
LABELS: dict[str, tuple[Callable[[dict[str, Any]], bool], Callable[[ScanReport], bool]]] = {
    "faces": (lambda row: int(row.get("faces", 0)) > 0, lambda r: r.count(FindingKind.FACE) > 0),
    "identifying_text": (
        lambda row: bool(row.get("identifying_text")),
        lambda r: bool(r.identifier_kinds),
    ),
    "barcode": (lambda row: bool(row.get("barcode")), lambda r: r.count(FindingKind.BARCODE) > 0),
    "exif_gps": (lambda row: bool(row.get("exif_gps")), lambda r: r.count(FindingKind.EXIF_GPS) > 0),
    "dicom_phi": (
        lambda row: bool(row.get("dicom_phi")),
        lambda r: r.count(FindingKind.DICOM_PATIENT_TAG) > 0,
    ),
}


class Progress(Protocol):
    """Where progress lines go (a terminal, or something that thins them out for logs)."""

    def write(self, text: str, /) -> int: ...  # noqa: D102

    def flush(self) -> None: ...  # noqa: D102


def is_identifying(row: dict[str, Any]) -> bool:
    """The corpus's definition of an identifying image."""
    return any(positive(row) for positive, _ in LABELS.values())


@dataclass(slots=True)
class Confusion:
    """Image-level confusion counts for one label."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    def add(self, name: str, truth: bool, predicted: bool) -> None:
        """Count one image."""
        if truth and predicted:
            self.tp += 1
        elif truth:
            self.fn += 1
            self.misses.append(name)
        elif predicted:
            self.fp += 1
            self.false_alarms.append(name)
        else:
            self.tn += 1

    def as_dict(self) -> dict[str, Any]:
        """Recall and false-positive rate with the counts behind them."""
        positives, negatives = self.tp + self.fn, self.fp + self.tn
        return {
            "recall": round(self.tp / positives, 4) if positives else None,
            "false_positive_rate": round(self.fp / negatives, 4) if negatives else None,
            "positives": positives,
            "negatives": negatives,
            "misses": self.misses,
            "false_alarms": self.false_alarms,
        }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _latency(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": round(_percentile(values, 0.95), 1),
        "max_ms": round(max(values), 1),
    }


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux: the high-water mark of this process, models included.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_benchmark(engine: ScanEngine, corpus: Path, progress: Progress | None = sys.stderr) -> dict[str, Any]:
    """Scan every labelled image and return the figures (see ``print_summary`` for the text form)."""
    rows = [json.loads(line) for line in (corpus / "labels.jsonl").read_text().splitlines() if line.strip()]
    per_label = {key: Confusion() for key in LABELS}
    overall = Confusion()
    category_b = Confusion()
    verdict_ms: list[float] = []
    exhaustive_ms: list[float] = []
    errors: list[str] = []
    per_image: list[dict[str, Any]] = []
    for index, row in enumerate(rows, 1):
        name = str(row["file"])
        data = (corpus / name).read_bytes()
        started = time.perf_counter()
        verdict = engine.scan(data, name_hint=name)
        verdict_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        full = engine.scan(data, name_hint=name, exhaustive=True)
        exhaustive_ms.append((time.perf_counter() - started) * 1000)
        per_image.append(
            {
                "file": name,
                "verdict_ms": round(verdict_ms[-1], 1),
                "exhaustive_ms": round(exhaustive_ms[-1], 1),
                "verdict_timings_ms": {k: round(v, 1) for k, v in verdict.timings_ms.items()},
            }
        )
        if full.error:
            errors.append(f"{name}: {full.error_type}")
        for key, (positive, predicted) in LABELS.items():
            per_label[key].add(name, positive(row), predicted(full))
        overall.add(name, is_identifying(row), verdict.identifying)
        if row.get("category") == "B":
            category_b.add(name, False, verdict.identifying)
        if progress is not None:
            progress.write(f"\r[{index}/{len(rows)}] {name[:60]:<60}")
            progress.flush()
    if progress is not None:
        progress.write("\n")
    return {
        "corpus": str(corpus),
        "images": len(rows),
        "labels": {key: c.as_dict() for key, c in per_label.items()},
        "identifying": overall.as_dict(),
        "category_b_false_alarm_rate": category_b.as_dict()["false_positive_rate"],
        "category_b_false_alarms": category_b.false_alarms,
        "latency_verdict": _latency(verdict_ms),
        "latency_exhaustive": _latency(exhaustive_ms),
        "peak_rss_mb": _peak_rss_mb(),
        "errors": errors,
        "slowest_verdict": sorted(per_image, key=lambda r: -float(r["verdict_ms"]))[:12],
    }


def print_summary(figures: dict[str, Any], out: TextIO = sys.stdout) -> None:
    """Human-readable table of the figures."""
    out.write(f"corpus {figures['corpus']} ({figures['images']} images)\n\n")
    out.write(f"{'label':<18}{'recall':>8}{'FP rate':>9}{'pos':>6}{'neg':>6}\n")
    for key, stats in figures["labels"].items():
        recall = "-" if stats["recall"] is None else f"{stats['recall']:.3f}"
        fpr = "-" if stats["false_positive_rate"] is None else f"{stats['false_positive_rate']:.3f}"
        out.write(f"{key:<18}{recall:>8}{fpr:>9}{stats['positives']:>6}{stats['negatives']:>6}\n")
    ident = figures["identifying"]
    out.write(
        f"\nidentifying (verdict mode): recall {ident['recall']:.3f} on {ident['positives']} images, "
        f"false alarms on category B {figures['category_b_false_alarm_rate']:.3f}\n"
    )
    for mode in ("verdict", "exhaustive"):
        lat = figures[f"latency_{mode}"]
        out.write(
            f"latency {mode:<10} median {lat['median_ms']} ms, "
            f"p95 {lat['p95_ms']} ms, max {lat['max_ms']} ms\n"
        )
    out.write(f"peak RSS {figures['peak_rss_mb']} MB\n")
    for key, stats in figures["labels"].items():
        if stats["misses"] or stats["false_alarms"]:
            out.write(f"{key}: missed {stats['misses']} false alarms {stats['false_alarms']}\n")
    if ident["misses"]:
        out.write(f"identifying missed: {ident['misses']}\n")
    if figures["category_b_false_alarms"]:
        out.write(f"category B false alarms: {figures['category_b_false_alarms']}\n")
    if figures["errors"]:
        out.write(f"errors: {figures['errors']}\n")
    slowest = ", ".join(f"{r['file']} {r['verdict_ms']:.0f} ms" for r in figures["slowest_verdict"][:5])
    out.write(f"slowest (verdict mode): {slowest}\n")
