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


def read_rows(corpus: Path, split: str | None = None) -> list[dict[str, Any]]:
    """The label rows, only those of one split when asked (a generated set's "tune" or "test")."""
    text = (corpus / "labels.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    if split is None:
        return rows
    if not any("split" in row for row in rows):
        raise ValueError(f"{corpus / 'labels.jsonl'} has no split field: run without --split")
    return [row for row in rows if row.get("split") == split]


#: Row fields of a generated evaluation set that the figures are broken down by (when rows carry them).
BREAKDOWN_KEYS = ("layout", "origin", "case", "severity")


@dataclass(slots=True)
class Breakdown:
    """Figures per value of one row field: identifying text found (exhaustive) and the verdict.

    "Text found" is any identifier kind (name, birth date, record number...), as the ``identifying_text``
    label of the main table; the unlabelled-names figure also counts the person_name kind alone.
    """

    text: dict[str, Confusion] = field(default_factory=dict)
    verdict: dict[str, Confusion] = field(default_factory=dict)

    def add(self, value: str, name: str, row: dict[str, Any], full: ScanReport, verdict: ScanReport) -> None:
        """Count one image under its value."""
        self.text.setdefault(value, Confusion()).add(
            name, bool(row.get("identifying_text")), bool(full.identifier_kinds)
        )
        self.verdict.setdefault(value, Confusion()).add(name, is_identifying(row), verdict.identifying)

    def as_dict(self) -> dict[str, Any]:
        """Per value: text recall (exhaustive scan) and verdict recall / false-alarm rate."""
        return {
            value: {"text": self.text[value].as_dict(), "verdict": self.verdict[value].as_dict()}
            for value in sorted(self.text)
        }


def run_benchmark(
    engine: ScanEngine, corpus: Path, progress: Progress | None = sys.stderr, split: str | None = None
) -> dict[str, Any]:
    """Scan every labelled image and return the figures (see ``print_summary`` for the text form).

    With ``split``, only the rows of that split. Rows of a generated evaluation set (``bot.evalset``)
    carry ``layout``, ``origin``, ``case``: the figures then add a breakdown by those fields, the recall on
    names written without a field label, and the false alarms on harmless text.
    """
    rows = read_rows(corpus, split)
    breakdowns = {key: Breakdown() for key in BREAKDOWN_KEYS if any(row.get(key) for row in rows)}
    unlabelled = Confusion()
    unlabelled_any = Confusion()
    harmless = Confusion()
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
        for key, breakdown in breakdowns.items():
            if row.get(key):
                breakdown.add(str(row[key]), name, row, full, verdict)
        if row.get("unlabelled_name"):
            truth = bool(row.get("identifying_text"))
            unlabelled.add(name, truth, full.count(FindingKind.PERSON_NAME) > 0)
            unlabelled_any.add(name, truth, bool(full.identifier_kinds))
        if row.get("case") == "harmless-text":
            harmless.add(name, False, verdict.identifying)
        if progress is not None:
            progress.write(f"\r[{index}/{len(rows)}] {name[:60]:<60}")
            progress.flush()
    if progress is not None:
        progress.write("\n")
    figures: dict[str, Any] = {
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
    if split is not None:
        figures["split"] = split
    if breakdowns:
        figures["breakdown"] = {key: b.as_dict() for key, b in breakdowns.items()}
        figures["unlabelled_names"] = {
            **unlabelled.as_dict(),
            "recall_any_identifier": unlabelled_any.as_dict()["recall"],
        }
        figures["harmless_text"] = {
            "false_alarm_rate": harmless.as_dict()["false_positive_rate"],
            "images": harmless.fp + harmless.tn,
            "false_alarms": harmless.false_alarms,
        }
    return figures


def print_summary(figures: dict[str, Any], out: TextIO = sys.stdout) -> None:
    """Human-readable table of the figures."""
    split = f", split {figures['split']}" if "split" in figures else ""
    out.write(f"corpus {figures['corpus']} ({figures['images']} images{split})\n\n")
    out.write(f"{'label':<18}{'recall':>8}{'FP rate':>9}{'pos':>6}{'neg':>6}\n")
    for key, stats in figures["labels"].items():
        recall = "-" if stats["recall"] is None else f"{stats['recall']:.3f}"
        fpr = "-" if stats["false_positive_rate"] is None else f"{stats['false_positive_rate']:.3f}"
        out.write(f"{key:<18}{recall:>8}{fpr:>9}{stats['positives']:>6}{stats['negatives']:>6}\n")
    ident = figures["identifying"]
    out.write(
        f"\nidentifying (verdict mode): recall {_rate(ident['recall'])} on {ident['positives']} images, "
        f"false alarms on category B {_rate(figures['category_b_false_alarm_rate'])}\n"
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
    if "breakdown" in figures:
        _print_breakdown(figures, out)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _print_breakdown(figures: dict[str, Any], out: TextIO) -> None:
    """The generated set's figures: per layout, case, severity and origin, unlabelled names, harmless text."""
    breakdown = figures["breakdown"]
    for key in ("layout", "case", "severity"):
        if key not in breakdown:
            continue
        out.write(
            f"\n{'by ' + key:<18}{'pos':>5}{'text rec':>10}{'verdict rec':>13}{'neg':>6}{'false al.':>11}\n"
        )
        for value, stats in breakdown[key].items():
            text, verdict = stats["text"], stats["verdict"]
            out.write(
                f"{value:<18}{text['positives']:>5}{_rate(text['recall']):>10}{_rate(verdict['recall']):>13}"
                f"{verdict['negatives']:>6}{_rate(verdict['false_positive_rate']):>11}\n"
            )
    if "origin" in breakdown:
        out.write(f"\n{'by origin':<18}{'pos':>5}{'text rec':>10}\n")
        for value, stats in breakdown["origin"].items():
            text = stats["text"]
            out.write(f"{value:<18}{text['positives']:>5}{_rate(text['recall']):>10}\n")
    names = figures["unlabelled_names"]
    harmless = figures["harmless_text"]
    out.write(
        f"\nrecall on unlabelled names (exhaustive): {_rate(names['recall'])} person_name found, "
        f"{_rate(names['recall_any_identifier'])} any identifier, on {names['positives']} images\n"
        f"false alarms on harmless text (verdict mode): {_rate(harmless['false_alarm_rate'])} "
        f"on {harmless['images']} images\n"
    )
    if names["misses"]:
        out.write(f"unlabelled names without a person_name finding: {names['misses']}\n")
    if harmless["false_alarms"]:
        out.write(f"harmless text judged identifying: {harmless['false_alarms']}\n")
