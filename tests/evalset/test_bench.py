"""``consentguard bench`` on a generated set: split filter and the per-layout / per-origin figures."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli.bench import print_summary, read_rows, run_benchmark
from bot.evalset.generate import generate
from detectors.base import Finding, FindingKind
from detectors.engine import ScanReport


class _FakeEngine:
    """Says "person name" on files listed, nothing elsewhere (no models: fast)."""

    def __init__(self, hits: set[str]) -> None:
        self.hits = hits

    def scan(self, data: bytes, *, name_hint: str = "", exhaustive: bool = False) -> ScanReport:
        del data, exhaustive
        if name_hint in self.hits:
            finding = Finding(FindingKind.PERSON_NAME, "text", 0.9, True, "a person name")
            return ScanReport(findings=[finding])
        return ScanReport()


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    generate(folder, seed=12, count=12)
    return folder


def test_split_keeps_only_that_half(tiny_set: Path) -> None:
    tune = read_rows(tiny_set, "tune")
    test = read_rows(tiny_set, "test")
    assert len(tune) == len(test) == 6
    assert {r["file"] for r in tune}.isdisjoint(r["file"] for r in test)


def test_split_on_a_corpus_without_splits_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "labels.jsonl").write_text(json.dumps({"file": "a.jpg", "faces": 0}) + "\n")
    with pytest.raises(ValueError, match="split"):
        read_rows(tmp_path, "test")


def test_breakdown_figures_match_the_rows(tiny_set: Path) -> None:
    rows = read_rows(tiny_set, "test")
    positives = [r for r in rows if r["identifying_text"]]
    hits = {positives[0]["file"]} | {r["file"] for r in rows if r["case"] == "harmless-text"}
    figures = run_benchmark(_FakeEngine(hits), tiny_set, progress=None, split="test")  # type: ignore[arg-type]
    assert figures["images"] == len(rows)
    assert figures["split"] == "test"
    layouts = figures["breakdown"]["layout"]
    assert set(layouts) == {r["layout"] for r in rows}
    for layout, stats in layouts.items():
        assert stats["text"]["positives"] == sum(1 for r in positives if r["layout"] == layout), layout
    origins = figures["breakdown"]["origin"]
    assert sum(o["text"]["positives"] for o in origins.values()) == len(positives)
    harmless = [r for r in rows if r["case"] == "harmless-text"]
    assert figures["harmless_text"]["images"] == len(harmless)
    if harmless:
        assert figures["harmless_text"]["false_alarm_rate"] == 1.0
    unlabelled = [r for r in positives if r["unlabelled_name"]]
    assert figures["unlabelled_names"]["positives"] == len(unlabelled)
    out = io.StringIO()
    print_summary(figures, out)
    text = out.getvalue()
    assert "by layout" in text
    assert "by origin" in text
    assert "recall on unlabelled names" in text
    assert "false alarms on harmless text" in text


def test_dev_corpus_rows_get_no_breakdown(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 64), "white").save(tmp_path / "a.png")
    (tmp_path / "labels.jsonl").write_text(json.dumps({"file": "a.png", "faces": 0, "category": "B"}) + "\n")
    figures = run_benchmark(_FakeEngine(set()), tmp_path, progress=None)  # type: ignore[arg-type]
    assert "breakdown" not in figures
    assert "split" not in figures
    out = io.StringIO()
    print_summary(figures, out)
    assert "by layout" not in out.getvalue()
    assert "unlabelled" not in out.getvalue()


@pytest.mark.slow
def test_real_engine_on_a_tiny_generated_set(tmp_path: Path) -> None:
    from bot.scanning import build_scan_engine
    from config.settings import DetectionSettings

    generate(tmp_path, seed=12, count=6)
    with build_scan_engine(DetectionSettings()) as engine:
        figures = run_benchmark(engine, tmp_path, progress=None, split="tune")
    assert figures["images"] == 3
    assert figures["errors"] == []
    assert figures["breakdown"]["layout"]
    for stats in figures["breakdown"]["layout"].values():
        assert {"text", "verdict"} <= set(stats)
    assert "unlabelled_names" in figures
    assert "harmless_text" in figures
