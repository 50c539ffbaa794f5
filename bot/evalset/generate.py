"""Plans, draws and writes the evaluation set: images plus ``labels.jsonl`` in the shared corpus format.

The plan is fixed by the seed and the count: half the images carry a patient's name (cycled over the
layouts and the name origins), most of the rest harmless text of the same look, a few no text at all.
Each image draws from its own generators (seeded by the set's seed and its index), so an image does not
change when others are added, and the same seed gives the same bytes on the same machine (fonts and
library versions are part of "the same machine").
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.evalset.degrade import draw_severity, photograph
from bot.evalset.faces import SETTINGS, render_face
from bot.evalset.layouts import LAYOUTS, Context
from bot.evalset.names import ORIGINS, draw_person

DEFAULT_SEED = 12
DEFAULT_COUNT = 400
#: Birth dates, ages and exam dates are drawn relative to this year, never to today's date.
REFERENCE_YEAR = 2026
#: Shares of the set: images with a name; images without any text (the rest: harmless text).
POSITIVE_SHARE = 0.5
CLEAN_SHARE = 0.08
#: Drawn faces that are no one (pain scales, smileys, body charts), appended after the main plan: they
#: measure face false positives on drawings, and adding them changed no image or split of the main plan.
DEFAULT_DRAWINGS = 40
#: Real faces in clinical settings (masks, cannulas, lying in bed...), appended after the drawings, one per
#: setting in turn: six of each of the thirteen settings by default.
DEFAULT_FACES = 6 * len(SETTINGS)


@dataclass(frozen=True, slots=True)
class Spec:
    """One planned image."""

    index: int
    layout: str
    identifying: bool
    origin: str | None
    setting: str | None = None


def plan(seed: int, count: int) -> list[Spec]:
    """Which layout, positive or not, and which name origin each image gets (shuffled by the seed)."""
    rng = random.Random(f"evalset-plan:{seed}")  # noqa: S311 (reproducible data, no secret)
    positives = round(count * POSITIVE_SHARE)
    cleans = round(count * CLEAN_SHARE)
    negatives = count - positives - cleans
    positive_layouts = [name for name, (_, pos, _) in LAYOUTS.items() if pos]
    negative_layouts = [name for name, (_, _, neg) in LAYOUTS.items() if neg]
    origins = list(ORIGINS)
    rng.shuffle(origins)
    kinds: list[tuple[str, bool, str | None]] = []
    for i in range(positives):
        kinds.append((positive_layouts[i % len(positive_layouts)], True, origins[i % len(origins)]))
    kinds.extend((negative_layouts[i % len(negative_layouts)], False, None) for i in range(negatives))
    kinds.extend(("clean", False, None) for _ in range(cleans))
    rng.shuffle(kinds)
    return [Spec(index, layout, ident, origin) for index, (layout, ident, origin) in enumerate(kinds)]


def assign_splits(specs: list[Spec], seed: int) -> dict[int, str]:
    """Half "tune", half "test", stratified by layout and positive/negative; odd strata alternate."""
    rng = random.Random(f"evalset-split:{seed}")  # noqa: S311 (reproducible data, no secret)
    strata: dict[tuple[str, bool], list[int]] = {}
    for spec in specs:
        strata.setdefault((spec.layout, spec.identifying), []).append(spec.index)
    splits: dict[int, str] = {}
    extra_to_tune = True
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        half = len(members) // 2
        if len(members) % 2:
            half += 1 if extra_to_tune else 0
            extra_to_tune = not extra_to_tune
        for position, index in enumerate(members):
            splits[index] = "tune" if position < half else "test"
    return splits


def drawing_specs(count: int, drawings: int) -> list[Spec]:
    """The drawings, numbered after the main plan's ``count`` images."""
    return [Spec(count + i, "drawing", False, None) for i in range(drawings)]


def face_specs(start: int, faces: int) -> list[Spec]:
    """The real-face cases, numbered from ``start``, cycling over the settings."""
    return [Spec(start + i, "face", True, None, SETTINGS[i % len(SETTINGS)]) for i in range(faces)]


def drawing_splits(specs: list[Spec], seed: int, name: str = "drawings") -> dict[int, str]:
    """Half "tune", half "test", with a generator of their own (the main splits stay as they were).

    Stratified by setting where the specs have one, so that each face setting is in both halves.
    """
    rng = random.Random(f"evalset-split-{name}:{seed}")  # noqa: S311 (reproducible data, no secret)
    strata: dict[str | None, list[int]] = {}
    for spec in specs:
        strata.setdefault(spec.setting, []).append(spec.index)
    splits: dict[int, str] = {}
    extra_to_tune = True
    for key in sorted(strata, key=str):
        indices = strata[key]
        rng.shuffle(indices)
        half = len(indices) // 2 + (len(indices) % 2 if extra_to_tune else 0)
        if len(indices) % 2:
            extra_to_tune = not extra_to_tune
        splits.update(
            {index: "tune" if position < half else "test" for position, index in enumerate(indices)}
        )
    return splits


def render_face_row(spec: Spec, seed: int) -> tuple[dict[str, Any], bytes]:
    """A real face in a clinical setting (``bot.evalset.faces``): one face, category A."""
    rng = random.Random(f"evalset-image:{seed}:{spec.index}")  # noqa: S311 (reproducible data)
    nrng = np.random.default_rng([seed, spec.index])
    case = render_face(spec.setting or "plain", rng, nrng)
    row: dict[str, Any] = {
        "faces": 1,
        "identifying_text": False,
        "barcode": False,
        "exif_gps": False,
        "dicom_phi": False,
        "category": "A",
        "layout": "face",
        "case": f"face-{case.setting}",
        "origin": None,
        "unlabelled_name": False,
        "name_format": None,
        "language": None,
        "font": None,
        "text_px": None,
        "severity": "moderate",
        "degradations": case.steps,
        "width": case.width,
        "height": case.height,
        "text": [],
        "portrait": case.portrait,
        "face_px": case.face_px,
        "ext": "jpg",
    }
    return row, case.data


def render(spec: Spec, seed: int, reference_year: int = REFERENCE_YEAR) -> tuple[dict[str, Any], bytes]:
    """Draw one image; returns its label row (without ``file`` and ``split``) and its encoded bytes."""
    if spec.layout == "face":
        return render_face_row(spec, seed)
    rng = random.Random(f"evalset-image:{seed}:{spec.index}")  # noqa: S311 (reproducible data)
    nrng = np.random.default_rng([seed, spec.index])
    language = "en" if rng.random() < (0.7 if spec.origin == "english" else 0.3) else "fr"
    ctx = Context(rng=rng, nrng=nrng, reference_year=reference_year, language=language)
    person = draw_person(rng, reference_year, spec.origin) if spec.identifying else None
    renderer = LAYOUTS[spec.layout][0]
    drawn = renderer(ctx, person)
    severity = draw_severity(rng)
    photo = photograph(drawn, rng, nrng, severity)
    if drawn.identifying:
        case = "name-labelled" if drawn.labelled else "name-unlabelled"
    elif spec.layout == "drawing":
        case = "drawn-faces"
    else:
        case = "harmless-text" if drawn.lines else "clean"
    row: dict[str, Any] = {
        "faces": 0,
        "identifying_text": drawn.identifying,
        "barcode": drawn.barcode,
        "exif_gps": False,
        "dicom_phi": False,
        "category": "C" if drawn.lines else "B",
        "layout": spec.layout,
        "case": case,
        "origin": person.origin if person else None,
        "unlabelled_name": drawn.identifying and not drawn.labelled,
        "name_format": drawn.name_format,
        "language": language,
        "font": drawn.font or None,
        "text_px": photo.text_px if drawn.lines else None,
        "severity": severity,
        "degradations": photo.steps,
        "width": photo.width,
        "height": photo.height,
        "text": drawn.lines,
        "ext": photo.extension,
    }
    return row, photo.data


def generate(
    out_dir: Path,
    seed: int = DEFAULT_SEED,
    count: int = DEFAULT_COUNT,
    reference_year: int = REFERENCE_YEAR,
    drawings: int = 0,
    faces: int = 0,
) -> dict[str, Any]:
    """Write ``count`` images (plus ``drawings``, ``faces``) and ``labels.jsonl``; returns counts and time."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = plan(seed, count)
    splits = assign_splits(specs, seed)
    extra = drawing_specs(count, drawings)
    splits.update(drawing_splits(extra, seed))
    real_faces = face_specs(count + drawings, faces)
    splits.update(drawing_splits(real_faces, seed, "faces"))
    specs = specs + extra + real_faces
    rows: list[dict[str, Any]] = []
    for spec in specs:
        row, data = render(spec, seed, reference_year)
        name = f"eval-{spec.index:04d}.{row.pop('ext')}"
        (out_dir / name).write_bytes(data)
        rows.append(
            {
                "file": name,
                **row,
                "split": splits[spec.index],
                "source": f"consentguard evalset --seed {seed} --count {count}"
                + (f" --drawings {drawings}" if drawings else "")
                + (f" --faces {faces}" if faces else ""),
                "license": "generated (made-up names)"
                if spec.layout != "face"
                else "generated from a copyright-free portrait (bot/evalset/portraits/LICENSE.txt)",
            }
        )
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (out_dir / "labels.jsonl").write_text(text, encoding="utf-8")
    return {
        "out_dir": str(out_dir),
        "images": len(rows),
        "seconds": round(time.perf_counter() - started, 1),
        "cases": dict(sorted(Counter(r["case"] for r in rows).items())),
        "layouts": dict(sorted(Counter(r["layout"] for r in rows).items())),
        "origins": dict(sorted(Counter(r["origin"] for r in rows if r["origin"]).items())),
        "splits": dict(sorted(Counter(r["split"] for r in rows).items())),
        "severities": dict(sorted(Counter(r["severity"] for r in rows).items())),
    }
