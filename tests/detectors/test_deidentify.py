"""De-identified renderings: masked solid, metadata gone, and a fresh scan of the result finds nothing.

The first tests use recording fakes (fast: no models); the rest the production engine on generated faces and
text, the real models loaded once per session (``engine`` fixture in tests/conftest.py).
"""

import io

import numpy as np
import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from bot.evalset.faces import PORTRAITS, load_portrait
from detectors.base import BoundingBox, Finding, FindingKind, Frame
from detectors.deidentify import Deidentified, NotDeidentified, Refusal, deidentify
from detectors.engine import ScanEngine
from detectors.masking import FILL
from tests.imagegen import astronaut, encode, text_image, wound_like_image
from tests.mediagen import clean_video, dicom_bytes, pdf_bytes

FACE_BOX = BoundingBox(60, 40, 80, 80)
GPS = {1: "N", 2: (IFDRational(48, 1), IFDRational(51, 1), IFDRational(2442, 100)), 3: "E", 4: (2, 21, 7)}
WOUND_PNG = encode(wound_like_image(), "PNG")


def _face(box: BoundingBox | None) -> Finding:
    return Finding(FindingKind.FACE, "faces", 0.9, True, "human face", box=box)


class SeesUnmaskedFace:
    """Reports a face at FACE_BOX while any of its pixels is not the mask's colour (a face a mask removes)."""

    name = "faces"

    def detect(self, frame: Frame) -> list[Finding]:
        b = FACE_BOX
        region = frame.pixels[b.y : b.y + b.height, b.x : b.x + b.width].astype(int)
        return [] if np.abs(region - np.array(FILL)).max() <= 4 else [_face(b)]

    def close(self) -> None:
        pass


class Always:
    """Reports the same findings whatever it is shown, or raises."""

    def __init__(self, findings: list[Finding], error: Exception | None = None) -> None:
        self.name = "faces"
        self.findings, self.error = findings, error

    def detect(self, frame: Frame) -> list[Finding]:
        if self.error is not None:
            raise self.error
        return list(self.findings)

    def close(self) -> None:
        pass


class ReadsLines:
    """A text detector that finds identifiers nowhere but reads lines at the given boxes."""

    name = "text"

    def __init__(self, lines: list[BoundingBox | None]) -> None:
        self.lines = lines

    def detect(self, frame: Frame) -> list[Finding]:
        return self.detect_and_locate(frame)[0]

    def detect_and_locate(self, frame: Frame) -> tuple[list[Finding], list[BoundingBox | None]]:
        return [], list(self.lines)

    def close(self) -> None:
        pass


def _metadata_free(jpeg: bytes) -> bool:
    with Image.open(io.BytesIO(jpeg)) as image:
        return (
            image.format == "JPEG"
            and len(image.getexif()) == 0
            and not set(image.info) & {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"}
        )


def _pixels(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _solid(region: np.ndarray) -> bool:
    """One colour, the mask's, give or take JPEG's rounding."""
    return bool(np.abs(region - np.array(FILL)).max() <= 4)


def _ok(result: Deidentified | NotDeidentified) -> Deidentified:
    assert isinstance(result, Deidentified), result
    return result


# -- with fakes ---------------------------------------------------------------------------------------


def test_a_masked_face_gives_a_clean_metadata_free_jpeg() -> None:
    result = _ok(deidentify(ScanEngine([SeesUnmaskedFace()]), WOUND_PNG))
    assert (result.width, result.height, result.masked, result.kinds) == (640, 480, 1, ("face",))
    assert _metadata_free(result.jpeg)
    b = FACE_BOX
    assert _solid(_pixels(result.jpeg)[b.y : b.y + b.height, b.x : b.x + b.width])
    assert "jpeg=<" in repr(result)


def test_a_finding_without_a_box_cannot_be_masked() -> None:
    result = deidentify(ScanEngine([Always([_face(None)])]), WOUND_PNG)
    assert result == NotDeidentified(Refusal.UNLOCATED)


def test_a_line_of_text_without_a_box_cannot_be_masked() -> None:
    result = deidentify(ScanEngine([ReadsLines([BoundingBox(10, 10, 100, 20), None])]), WOUND_PNG)
    assert result == NotDeidentified(Refusal.UNLOCATED)


def test_every_line_of_text_is_masked_even_when_it_identifies_nobody() -> None:
    lines: list[BoundingBox | None] = [BoundingBox(10, 10, 200, 20), BoundingBox(10, 50, 120, 20)]
    result = _ok(deidentify(ScanEngine([ReadsLines(lines)]), WOUND_PNG))
    # The fake still "reads" them on the rescan: masked, rescanned, nothing identifying, so offered.
    assert result.masked == 2
    assert result.kinds == ("plain_text",)
    assert _solid(_pixels(result.jpeg)[10:30, 10:210])


def test_a_finding_that_survives_every_mask_means_no_rendering() -> None:
    result = deidentify(ScanEngine([Always([_face(FACE_BOX)])]), WOUND_PNG)
    assert result == NotDeidentified(Refusal.NOT_CLEAN)


def test_a_detector_failure_means_no_rendering() -> None:
    result = deidentify(ScanEngine([Always([], error=RuntimeError("boom"))]), WOUND_PNG)
    assert result == NotDeidentified(Refusal.SCAN_FAILED)


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: clean_video(seconds=0.5), Refusal.VIDEO),
        (lambda: pdf_bytes([wound_like_image()]), Refusal.PDF),
        (dicom_bytes, Refusal.DICOM),
        (_animated_gif, Refusal.MULTI_FRAME),
        (lambda: b"PK\x03\x04" + bytes(100), Refusal.NOT_AN_IMAGE),
        (lambda: encode(astronaut(), "JPEG")[:200], Refusal.UNREADABLE),
    ],
)
def test_only_single_frame_still_images_are_rendered(make: object, reason: Refusal) -> None:
    assert callable(make)
    detector = SeesUnmaskedFace()
    assert deidentify(ScanEngine([detector]), make()) == NotDeidentified(reason)


# -- the production engine ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_portrait_rescans_clean_with_the_whole_face_solid(engine: ScanEngine) -> None:
    original = encode(astronaut(), "JPEG", quality=92)
    faces = [f for f in engine.scan(original, exhaustive=True).findings if f.kind is FindingKind.FACE]
    assert len(faces) == 1
    assert faces[0].box is not None
    result = _ok(deidentify(engine, original))
    assert not engine.scan(result.jpeg, exhaustive=True).identifying
    assert result.kinds == ("face",)
    assert result.masked == 1
    assert _metadata_free(result.jpeg)
    b = faces[0].box
    masked = _pixels(result.jpeg)[b.y : b.y + b.height, b.x : b.x + b.width]
    before = np.asarray(astronaut(), dtype=np.int16)[b.y : b.y + b.height, b.x : b.x + b.width]
    assert _solid(masked)  # the whole face box, not a bar across it
    assert np.abs(masked - before).mean() > 40  # none of the face's pixels are left


@pytest.mark.slow
def test_two_faces_are_both_masked(engine: ScanEngine) -> None:
    left, right = (load_portrait(p).resize((400, 400)) for p in PORTRAITS[:2])
    canvas = Image.new("RGB", (800, 400), "white")
    canvas.paste(left, (0, 0))
    canvas.paste(right, (400, 0))
    original = encode(canvas, "PNG")
    faces = [f.box for f in engine.scan(original, exhaustive=True).findings if f.kind is FindingKind.FACE]
    assert len(faces) == 2
    result = _ok(deidentify(engine, original))
    assert not engine.scan(result.jpeg, exhaustive=True).identifying
    out = _pixels(result.jpeg)
    for box in faces:
        assert box is not None
        assert _solid(out[box.y : box.y + box.height, box.x : box.x + box.width])


@pytest.mark.slow
def test_a_wristband_label_rescans_without_any_text(engine: ScanEngine) -> None:
    label = text_image(["DUPONT Marie née le 12/03/1951", "IPP 4521873", "Chambre 12"])
    original = encode(label, "PNG")
    assert {"person_name", "birth_date", "record_number"} <= set(engine.scan(original, exhaustive=True).kinds)
    result = _ok(deidentify(engine, original))
    rescan = engine.scan(result.jpeg, exhaustive=True)
    assert not rescan.identifying
    assert rescan.count(FindingKind.PLAIN_TEXT) == 0  # the harmless line went too: "text regions masked"
    assert {"person_name", "birth_date", "record_number"} <= set(result.kinds)
    assert _metadata_free(result.jpeg)


@pytest.mark.slow
def test_gps_and_every_other_metadata_are_stripped(engine: ScanEngine) -> None:
    exif = Image.Exif()
    exif[0x0110] = "Test Camera"
    exif.get_ifd(0x8825).update(GPS)
    original = encode(
        wound_like_image(), "JPEG", exif=exif, comment=b"ward 7", icc_profile=b"not really a profile"
    )
    assert "exif_gps" in engine.scan(original, exhaustive=True).kinds
    result = _ok(deidentify(engine, original))
    assert result.kinds == ("exif_gps",)
    assert result.masked == 0
    assert _metadata_free(result.jpeg)
    assert not engine.scan(result.jpeg, exhaustive=True).identifying
