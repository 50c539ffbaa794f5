import io
import random
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from bot.evalset.faces import PORTRAITS, apply_setting, load_portrait
from detectors.base import FindingKind, Frame
from detectors.centerface import _decode
from detectors.errors import DetectorError
from detectors.faces import (
    CENTERFACE_MODEL,
    SHORT_RANGE_MODEL,
    FaceSearchSettings,
    MediaPipeFaceDetector,
    load_model_bytes,
)
from tests.imagegen import astronaut, wound_like_image


@pytest.fixture(scope="module")
def faces() -> Iterator[MediaPipeFaceDetector]:
    detector = MediaPipeFaceDetector()
    yield detector
    detector.close()


def _frame(image: Image.Image) -> Frame:
    return Frame(np.asarray(image.convert("RGB"), dtype=np.uint8))


def test_portrait_has_one_identifying_face_with_a_box(faces: MediaPipeFaceDetector) -> None:
    found = faces.detect(_frame(astronaut()))
    assert len(found) == 1
    face = found[0]
    assert face.kind is FindingKind.FACE
    assert face.identifying
    assert face.box is not None
    # The astronaut's face sits in the upper middle of the picture.
    assert 120 < face.box.x + face.box.width / 2 < 320
    assert 40 < face.box.y + face.box.height / 2 < 240


def test_grayscale_portrait(faces: MediaPipeFaceDetector) -> None:
    assert faces.detect(_frame(astronaut().convert("L")))


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_turned_portrait(faces: MediaPipeFaceDetector, angle: int) -> None:
    found = faces.detect(_frame(astronaut().rotate(angle, expand=True)))
    assert len(found) == 1
    assert found[0].box is not None


def test_small_face_in_a_large_group_photo(faces: MediaPipeFaceDetector) -> None:
    # A face ~130 px wide in a 2400-px scene: at BlazeFace's 192-px input it would be ~10 px, too small
    # without the tiled search.
    scene = Image.new("RGB", (2400, 1600), (120, 140, 160))
    scene.paste(astronaut().resize((300, 300)), (1700, 1150))
    found = faces.detect(_frame(scene))
    assert len(found) == 1
    box = found[0].box
    assert box is not None
    assert 1700 <= box.x + box.width / 2 <= 2000


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(wound_like_image(), id="wound"),
        pytest.param(Image.new("RGB", (640, 480), (230, 180, 150)), id="flat-skin"),
        pytest.param(
            Image.fromarray(np.random.default_rng(1).integers(0, 255, (600, 800, 3), dtype=np.uint8)),
            id="noise",
        ),
    ],
)
def test_no_face_in_clinical_or_synthetic_images(faces: MediaPipeFaceDetector, image: Image.Image) -> None:
    assert faces.detect(_frame(image)) == []


def test_smiley_drawing_is_not_a_face(faces: MediaPipeFaceDetector) -> None:
    image = Image.new("RGB", (512, 512), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((106, 106, 406, 406), fill="yellow", outline="black", width=6)
    draw.ellipse((190, 200, 230, 250), fill="black")
    draw.ellipse((282, 200, 322, 250), fill="black")
    draw.arc((180, 240, 332, 350), 20, 160, fill="black", width=8)
    assert faces.detect(_frame(image)) == []


def _drawn_face(draw: ImageDraw.ImageDraw, cx: int, cy: int, r: int, fill: str | None, mood: int) -> None:
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill, outline="black", width=max(2, r // 15))
    for side in (-1, 1):
        eye = (cx + side * r // 3, cy - r // 3)
        draw.ellipse((eye[0] - r // 8, eye[1] - r // 8, eye[0] + r // 8, eye[1] + r // 8), fill="black")
    mouth = (cx - r // 2, cy - r // 4 + mood * r // 6, cx + r // 2, cy + r // 2 + mood * r // 6)
    draw.arc(mouth, 20 if mood <= 0 else 200, 160 if mood <= 0 else 340, fill="black", width=max(2, r // 15))


def _pain_scale(fill: str | None) -> Image.Image:
    """Six drawn faces from smiling to crying, as on the pain scales pinned in every ward."""
    image = Image.new("RGB", (900, 320), "white")
    draw = ImageDraw.Draw(image)
    for index in range(6):
        _drawn_face(draw, 75 + index * 150, 160, 62, fill, mood=-1 if index < 2 else (0 if index < 4 else 1))
    return image


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(_pain_scale("yellow"), id="pain-scale-filled"),
        pytest.param(_pain_scale("white"), id="pain-scale-line-drawing"),
        pytest.param(_jpeg(_pain_scale("#f6c89f"), 60), id="pain-scale-skin-tone-jpeg"),
    ],
)
def test_drawn_faces_of_a_pain_scale_are_not_faces(faces: MediaPipeFaceDetector, image: Image.Image) -> None:
    assert faces.detect(_frame(image)) == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda im: ImageEnhance.Brightness(im).enhance(0.2), id="dark"),
        pytest.param(lambda im: ImageEnhance.Brightness(im).enhance(2.2), id="over-exposed"),
        pytest.param(lambda im: ImageEnhance.Contrast(im).enhance(0.3), id="washed-out"),
        pytest.param(lambda im: _jpeg(im, 15), id="jpeg-15"),
        pytest.param(lambda im: im.quantize(8).convert("RGB"), id="eight-colours"),
    ],
)
def test_a_photographed_face_is_not_taken_for_a_drawing(faces: MediaPipeFaceDetector, change: object) -> None:
    # The drawn-face filter must not cost a real face its finding, however badly it was photographed.
    image = change(astronaut())  # type: ignore[operator]
    assert len(faces.detect(_frame(image))) == 1


def test_models_are_checked_against_their_checksums() -> None:
    assert load_model_bytes(SHORT_RANGE_MODEL)[:8]
    with pytest.raises(DetectorError):
        load_model_bytes("SHA256SUMS")  # present, but not listed: refused


# -- the second opinion (CenterFace) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def blazeface_only() -> Iterator[MediaPipeFaceDetector]:
    detector = MediaPipeFaceDetector(FaceSearchSettings(second_opinion=False))
    yield detector
    detector.close()


def _masked_three_quarter_face() -> Image.Image:
    """The shipped camera portrait (a face seen three-quarters) behind a drawn surgical mask."""
    portrait = PORTRAITS[2]
    assert portrait.file == "camera.jpg"
    rngs = random.Random(3), np.random.default_rng(3)
    masked, _box = apply_setting("surgical_mask", load_portrait(portrait), portrait.box, *rngs)
    return masked


def test_a_masked_face_blazeface_misses_is_found_by_the_second_opinion(
    faces: MediaPipeFaceDetector, blazeface_only: MediaPipeFaceDetector
) -> None:
    image = _masked_three_quarter_face()
    assert blazeface_only.detect(_frame(image)) == []
    found = faces.detect(_frame(image))
    assert len(found) == 1
    box = found[0].box
    assert box is not None
    # Where the face is in the portrait (x 198..274, y 121..197), not somewhere else in the frame.
    assert 180 < box.x + box.width / 2 < 300
    assert 100 < box.y + box.height / 2 < 230


@pytest.mark.parametrize("angle", [90, 270])
def test_a_masked_face_lying_sideways_is_found_on_the_turned_frame(
    faces: MediaPipeFaceDetector, angle: int
) -> None:
    image = _masked_three_quarter_face().rotate(angle, expand=True)
    upright_only = MediaPipeFaceDetector(FaceSearchSettings(second_opinion_turned=False))
    try:
        assert upright_only.detect(_frame(image)) == []
    finally:
        upright_only.close()
    found = faces.detect(_frame(image))
    assert len(found) == 1
    box = found[0].box
    assert box is not None
    # The upright face's centre (236, 159) turned with the frame.
    cx, cy = (159, 512 - 236) if angle == 90 else (512 - 159, 236)
    assert abs(box.x + box.width / 2 - cx) < 60
    assert abs(box.y + box.height / 2 - cy) < 60


def test_a_face_cut_by_the_frame_is_found(faces: MediaPipeFaceDetector) -> None:
    # Two fifths of the face are outside the photo.
    found = faces.detect(_frame(astronaut().crop((174 + 40, 0, 512, 512))))
    assert len(found) == 1


def test_the_second_opinion_sees_no_face_where_there_is_none(faces: MediaPipeFaceDetector) -> None:
    # The second opinion runs on exactly these: frames where BlazeFace found nothing.
    for image in (wound_like_image(), Image.new("RGB", (640, 480), (200, 200, 200))):
        assert faces.detect(_frame(image)) == []


def test_centerface_boxes_are_decoded_from_peak_size_and_offset() -> None:
    heatmap = np.zeros((10, 10), np.float32)
    heatmap[4, 6] = 0.9
    sizes = np.zeros((2, 10, 10), np.float32)
    sizes[:, 4, 6] = (np.log(20 / 4), np.log(12 / 4))  # height 20, width 12 (log of size / stride)
    offsets = np.zeros((2, 10, 10), np.float32)
    offsets[:, 4, 6] = (0.25, -0.25)
    (box,) = _decode(heatmap, sizes, offsets, threshold=0.5)
    assert box.score == pytest.approx(0.9)
    assert box.w == pytest.approx(12)
    assert box.h == pytest.approx(20)
    assert box.x + box.w / 2 == pytest.approx((6 - 0.25 + 0.5) * 4)
    assert box.y + box.h / 2 == pytest.approx((4 + 0.25 + 0.5) * 4)
    assert _decode(heatmap, sizes, offsets, threshold=0.95) == []


def test_the_centerface_model_is_checked_against_its_checksum() -> None:
    assert len(load_model_bytes(CENTERFACE_MODEL)) > 7_000_000
