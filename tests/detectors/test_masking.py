"""Solid masks: whole regions in one flat colour, kind-aware margins, clipped to the frame, input kept."""

import numpy as np
import pytest

from detectors.base import BoundingBox, Finding, FindingKind
from detectors.masking import (
    FACE_MARGINS,
    FILL,
    TEXT_MARGINS,
    fill_boxes,
    grown,
    mask_findings,
    mask_regions,
)


def _noise(height: int = 200, width: int = 300) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _is_fill(region: np.ndarray) -> bool:
    return bool((region == np.array(FILL, dtype=np.uint8)).all())


def _finding(kind: FindingKind, box: BoundingBox | None) -> Finding:
    return Finding(kind, "test", 1.0, kind is not FindingKind.PLAIN_TEXT, "test", box=box)


def test_a_region_is_filled_solid_and_the_input_is_left_alone() -> None:
    pixels = _noise()
    before = pixels.copy()
    out = fill_boxes(pixels, [BoundingBox(10, 20, 50, 40)])
    assert _is_fill(out[20:60, 10:60])
    assert (out[:20] == before[:20]).all()
    assert (out[60:] == before[60:]).all()
    assert (pixels == before).all()


def test_boxes_reaching_past_the_frame_are_clipped() -> None:
    out = fill_boxes(_noise(), [BoundingBox(-30, -30, 60, 60), BoundingBox(280, 180, 100, 100)])
    assert out.shape == (200, 300, 3)
    assert _is_fill(out[:30, :30])
    assert _is_fill(out[180:, 280:])


def test_mask_regions_grows_each_box_by_its_margin() -> None:
    out = mask_regions(_noise(), [BoundingBox(100, 80, 40, 20)], margin=0.25)
    assert _is_fill(out[75:105, 90:150])  # 10 px sideways (a quarter of 40), 5 px up and down (of 20)
    assert not _is_fill(out[70:75, 90:150])
    assert not _is_fill(out[106:110, 90:150])


def test_a_face_mask_covers_forehead_to_chin_not_an_eye_bar() -> None:
    face = BoundingBox(100, 60, 50, 50)  # BlazeFace: brows to mouth
    region = grown(face, FACE_MARGINS)
    assert region.y <= face.y - 25
    assert region.y + region.height >= face.y + face.height + 30
    assert region.x <= face.x - 20
    assert region.x + region.width >= face.x + face.width + 20
    out = mask_findings(_noise(), [_finding(FindingKind.FACE, face)])
    assert _is_fill(out[35:140, 80:170])


def test_text_margins_follow_the_line_height_not_its_length() -> None:
    line = BoundingBox(20, 50, 400, 20)
    region = grown(line, TEXT_MARGINS)
    assert (line.x - region.x) == (line.y - region.y) == 6  # 3 px + 15% of 20 px
    face_like = grown(line, FACE_MARGINS)
    assert face_like.width > region.width + 300


def test_every_kind_with_a_box_is_masked_and_boxless_findings_are_skipped() -> None:
    pixels = _noise()
    findings = [
        _finding(FindingKind.PERSON_NAME, BoundingBox(10, 10, 100, 15)),
        _finding(FindingKind.PLAIN_TEXT, BoundingBox(10, 60, 100, 15)),
        _finding(FindingKind.BARCODE, BoundingBox(150, 100, 60, 60)),
        _finding(FindingKind.EXIF_GPS, None),
    ]
    out = mask_findings(pixels, findings)
    assert _is_fill(out[10:25, 10:110])
    assert _is_fill(out[60:75, 10:110])
    assert _is_fill(out[100:160, 150:210])
    assert (out[190:, :] == pixels[190:, :]).all()


@pytest.mark.parametrize("grow", [1.0, 1.5, 2.0])
def test_growing_only_ever_widens_the_mask(grow: float) -> None:
    face = BoundingBox(100, 60, 50, 50)
    base, wider = grown(face, FACE_MARGINS), grown(face, FACE_MARGINS, grow=grow)
    assert wider.x <= base.x
    assert wider.y <= base.y
    assert wider.x + wider.width >= base.x + base.width
    assert wider.y + wider.height >= base.y + base.height
