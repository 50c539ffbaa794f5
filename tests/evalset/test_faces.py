"""Real faces in clinical settings: one face per case, each setting in both halves, masks where faces are."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.evalset.faces import PORTRAITS, SETTINGS, load_portrait, render_face
from bot.evalset.generate import drawing_splits, face_specs, generate


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)


def test_settings_cycle_and_each_is_in_both_halves() -> None:
    specs = face_specs(100, 4 * len(SETTINGS))
    assert [spec.index for spec in specs] == list(range(100, 100 + 4 * len(SETTINGS)))
    assert Counter(spec.setting for spec in specs) == dict.fromkeys(SETTINGS, 4)
    splits = drawing_splits(specs, 12, "faces")
    for setting in SETTINGS:
        halves = Counter(splits[s.index] for s in specs if s.setting == setting)
        assert halves == {"tune": 2, "test": 2}


def test_face_rows_come_after_the_drawings_and_change_nothing_before(tmp_path: Path) -> None:
    generate(tmp_path / "without", seed=4, count=3, drawings=2)
    generate(tmp_path / "with", seed=4, count=3, drawings=2, faces=3)
    before = (tmp_path / "without" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    after = (tmp_path / "with" / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert [line.split('"source"')[0] for line in after[:5]] == [line.split('"source"')[0] for line in before]
    faces = [json.loads(line) for line in after[5:]]
    assert [row["case"] for row in faces] == ["face-plain", "face-surgical_mask", "face-oxygen_mask"]
    assert all(row["faces"] == 1 and row["category"] == "A" and row["layout"] == "face" for row in faces)
    assert all(row["portrait"] in {p.file for p in PORTRAITS} for row in faces)
    for row in faces:
        with Image.open(tmp_path / "with" / row["file"]) as image:
            assert image.size == (row["width"], row["height"])


@pytest.mark.parametrize("setting", SETTINGS)
def test_each_setting_renders_the_same_bytes_from_the_same_seed(setting: str) -> None:
    first = render_face(setting, random.Random(7), np.random.default_rng(7))
    second = render_face(setting, random.Random(7), np.random.default_rng(7))
    assert first.data == second.data
    assert first.setting == setting
    assert {step["kind"] for step in first.steps} >= {"camera", "jpeg"}


def _case_on(portrait_file: str, setting: str) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """The setting applied to one portrait, and the same portrait plain, with the same draws."""
    seed = 0
    while True:  # the first seed whose portrait draw is the one asked for
        if random.Random(seed).choice(PORTRAITS).file == portrait_file:
            break
        seed += 1
    case = render_face(setting, random.Random(seed), np.random.default_rng(seed))
    plain = render_face("plain", random.Random(seed), np.random.default_rng(seed))
    box = next(p.box for p in PORTRAITS if p.file == portrait_file)
    return _pixels(case.data), _pixels(plain.data), box


def test_a_surgical_mask_covers_the_lower_face_not_the_eyes() -> None:
    masked, plain, (x, y, w, h) = _case_on("astronaut.jpg", "surgical_mask")
    lower = (slice(int(y + 0.75 * h), int(y + 1.05 * h)), slice(int(x + 0.2 * w), int(x + 0.8 * w)))
    eyes = (slice(int(y + 0.15 * h), int(y + 0.35 * h)), slice(int(x + 0.2 * w), int(x + 0.8 * w)))
    assert np.abs(masked[lower] - plain[lower]).mean() > 40
    assert np.abs(masked[eyes] - plain[eyes]).mean() < 12


def test_dark_and_overexposed_move_the_light_the_right_way() -> None:
    dark, plain, _ = _case_on("grace_hopper.jpg", "dark")
    bright, _, _ = _case_on("grace_hopper.jpg", "overexposed")
    assert dark.mean() < 0.4 * plain.mean()
    assert bright.mean() > 1.3 * plain.mean()


def test_a_small_face_is_20_to_40_pixels_in_a_large_room() -> None:
    for seed in range(6):
        case = render_face("small", random.Random(seed), np.random.default_rng(seed))
        assert 20 <= case.face_px <= 40
        assert case.width >= 1000
        assert case.height >= 750


def test_portraits_ship_with_the_package_and_their_licence() -> None:
    for portrait in PORTRAITS:
        image = load_portrait(portrait)
        x, y, w, h = portrait.box
        assert image.mode == "RGB"
        assert x + w <= image.width
        assert y + h <= image.height
    licence = Path(__file__).parents[2] / "bot" / "evalset" / "portraits" / "LICENSE.txt"
    text = licence.read_text(encoding="utf-8")
    assert all(portrait.file in text for portrait in PORTRAITS)
