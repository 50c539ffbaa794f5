"""The generated evaluation set: deterministic, split half/half by layout, labels true by construction."""

from __future__ import annotations

import argparse
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.cli import evalset as evalset_cli
from bot.evalset.generate import REFERENCE_YEAR, assign_splits, generate, plan, render
from bot.evalset.layouts import LAYOUTS
from bot.evalset.names import ORIGINS, POOLS, Person, draw_person

CORPUS_KEYS = {"file", "faces", "identifying_text", "barcode", "exif_gps", "dicom_phi", "category"}
EXTRA_KEYS = {"split", "layout", "origin", "degradations", "case", "unlabelled_name", "severity", "font"}


def _rows(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines()]


def test_same_seed_same_labels_and_bytes(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, seed=5, count=6)
    generate(second, seed=5, count=6)
    generate(other, seed=6, count=6)
    assert (first / "labels.jsonl").read_bytes() == (second / "labels.jsonl").read_bytes()
    for row in _rows(first):
        assert (first / row["file"]).read_bytes() == (second / row["file"]).read_bytes()
    assert (first / "labels.jsonl").read_bytes() != (other / "labels.jsonl").read_bytes()


def test_an_image_does_not_depend_on_the_set_size() -> None:
    spec = plan(12, 40)[3]
    assert render(spec, 12) == render(spec, 12)
    row, _ = render(spec, 12)
    assert row["layout"] == spec.layout


def test_plan_covers_layouts_origins_and_balances_positives() -> None:
    specs = plan(12, 400)
    positives = [s for s in specs if s.identifying]
    assert len(positives) == 200
    assert {s.origin for s in positives} == set(ORIGINS)
    assert len(ORIGINS) >= 15
    assert {s.layout for s in specs} == set(LAYOUTS) - {"drawing"}  # drawings come after the plan
    assert all(s.origin is None for s in specs if not s.identifying)
    per_origin = Counter(s.origin for s in positives)
    assert max(per_origin.values()) - min(per_origin.values()) <= 1


def test_split_is_half_half_and_stratified_by_layout() -> None:
    specs = plan(12, 400)
    splits = assign_splits(specs, 12)
    assert Counter(splits.values()) == {"tune": 200, "test": 200}
    strata: dict[tuple[str, bool], Counter[str]] = {}
    for spec in specs:
        strata.setdefault((spec.layout, spec.identifying), Counter())[splits[spec.index]] += 1
    for counts in strata.values():
        assert abs(counts["tune"] - counts["test"]) <= 1
    assert assign_splits(plan(12, 400), 12) == splits


def test_people_are_dated_from_the_reference_year_not_today() -> None:
    import random

    rng = random.Random(1)
    people = [draw_person(rng, 1990) for _ in range(200)]
    assert all(1990 - 98 <= p.birth[0] <= 1990 for p in people)
    assert all(0 <= p.age(1990) <= 98 for p in people)
    assert Person("french", "Marie", "Martin", "F", (1950, 9, 1), "1", "2").age(2026) == 75


def test_pools_carry_particles_apostrophes_and_diacritics() -> None:
    surnames = {name for pool in POOLS.values() for name in pool.surnames}
    assert {"de la Roche", "N'Diaye", "Ould Ahmed", "Le Goff", "Nguyễn"} <= surnames
    for pool in POOLS.values():
        assert len(pool.surnames) >= 15
        assert len(pool.female) >= 8
        assert len(pool.male) >= 8


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("evalset")
    generate(folder, seed=12, count=40)
    return folder, _rows(folder)


SmallSet = tuple[Path, list[dict[str, Any]]]


def test_rows_carry_the_corpus_format_and_the_extra_fields(small_set: SmallSet) -> None:
    folder, rows = small_set
    assert len(rows) == 40
    for row in rows:
        assert set(row) >= CORPUS_KEYS | EXTRA_KEYS
        assert row["faces"] == 0
        assert row["exif_gps"] is False
        assert row["dicom_phi"] is False
        with Image.open(io.BytesIO((folder / row["file"]).read_bytes())) as image:
            assert 640 <= max(image.size) <= 1280
            assert image.size == (row["width"], row["height"])
            assert "gps" not in str(image.getexif()).lower()
        assert row["degradations"][-1]["kind"] in {"jpeg", "png"}
        if row["degradations"][-1]["kind"] == "jpeg":
            assert 30 <= row["degradations"][-1]["quality"] <= 92


def test_labels_agree_with_what_was_drawn(small_set: SmallSet) -> None:
    _, rows = small_set
    cases = Counter(row["case"] for row in rows)
    assert cases["name-unlabelled"]
    assert cases["harmless-text"]
    for row in rows:
        if row["identifying_text"]:
            assert row["origin"] in ORIGINS
            assert row["case"] in {"name-labelled", "name-unlabelled"}
            assert row["unlabelled_name"] == (row["case"] == "name-unlabelled")
            drawn = " ".join(row["text"]).upper()
            assert any(surname.upper() in drawn for surname in POOLS[row["origin"]].surnames)
            if row["case"] == "name-labelled":
                assert any(label in drawn for label in ("NOM", "NAME", "PATIENT"))
            assert row["text_px"] >= 8
        else:
            assert row["origin"] is None
            assert row["unlabelled_name"] is False
            assert row["barcode"] is False
            assert row["case"] == ("harmless-text" if row["text"] else "clean")
            assert row["category"] == ("C" if row["text"] else "B")
        if row["barcode"]:
            assert row["layout"] in {"wristband", "tube"}


def test_cli_writes_a_readable_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    evalset_cli.add_commands(parser.add_subparsers())
    args = parser.parse_args(
        [
            *("evalset", str(tmp_path / "out"), "--seed", "3", "--count", "4"),
            *("--drawings", "2", "--faces", "2", "--json"),
        ]
    )
    assert args.handler(args, None) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 8
    rows = _rows(tmp_path / "out")
    assert [row["file"] for row in rows] == [f"eval-{i:04d}.{row['file'][-3:]}" for i, row in enumerate(rows)]
    assert all((tmp_path / "out" / row["file"]).is_file() for row in rows)
    assert Counter(row["split"] for row in rows) == {"tune": 4, "test": 4}
    cases = [row["case"] for row in rows[4:]]
    assert cases == ["drawn-faces", "drawn-faces", "face-plain", "face-surgical_mask"]


def test_drawings_come_after_the_plan_and_change_none_of_its_images(tmp_path: Path) -> None:
    generate(tmp_path / "plain", seed=9, count=4)
    generate(tmp_path / "drawn", seed=9, count=4, drawings=4)
    plain, drawn = _rows(tmp_path / "plain"), _rows(tmp_path / "drawn")
    for before, after in zip(plain, drawn[:4], strict=True):
        assert {**before, "source": ""} == {**after, "source": ""}
        assert (tmp_path / "plain" / before["file"]).read_bytes() == (
            tmp_path / "drawn" / after["file"]
        ).read_bytes()
    extra = drawn[4:]
    assert {row["layout"] for row in extra} == {"drawing"}
    assert all(row["faces"] == 0 and not row["identifying_text"] for row in extra)
    assert Counter(row["split"] for row in extra) == {"tune": 2, "test": 2}


def test_cli_refuses_a_count_below_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    evalset_cli.add_commands(parser.add_subparsers())
    args = parser.parse_args(["evalset", str(tmp_path), "--count", "0"])
    assert args.handler(args, None) == 2
    assert "--count" in capsys.readouterr().err


def test_reference_year_is_the_fixed_default() -> None:
    assert REFERENCE_YEAR == 2026
