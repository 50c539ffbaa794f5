import io

import pytest
from PIL import Image

from detectors.base import Finding, FindingKind, Frame
from detectors.engine import ScanEngine
from tests.imagegen import astronaut_bytes, encode, png_bomb_header, truncated_jpeg, wound_like_image


class RecordingDetector:
    """A frame detector that returns canned findings and records what it was shown."""

    def __init__(
        self, name: str, findings: list[Finding] | None = None, error: Exception | None = None
    ) -> None:
        self.name = name
        self.findings = findings or []
        self.error = error
        self.frames: list[Frame] = []
        self.closed = False

    def detect(self, frame: Frame) -> list[Finding]:
        self.frames.append(frame)
        if self.error is not None:
            raise self.error
        return list(self.findings)

    def close(self) -> None:
        self.closed = True


FACE = Finding(FindingKind.FACE, "faces", 0.9, True, "human face")
PLAIN = Finding(FindingKind.PLAIN_TEXT, "text", 0.9, False, "1 line(s) of text, none identifying")
PNG = encode(wound_like_image(), "PNG")


def test_verdict_mode_stops_at_the_first_identifying_detector() -> None:
    faces, text = RecordingDetector("faces", [FACE]), RecordingDetector("text", [PLAIN])
    report = ScanEngine([faces, text]).scan(PNG)
    assert report.identifying
    assert report.skipped == ["text"]
    assert text.frames == []


def test_exhaustive_mode_runs_every_detector() -> None:
    faces, text = RecordingDetector("faces", [FACE]), RecordingDetector("text", [PLAIN])
    report = ScanEngine([faces, text]).scan(PNG, exhaustive=True)
    assert len(text.frames) == 1
    assert report.kinds == ["face"]
    assert set(report.timings_ms) == {"decode", "faces", "text"}


def test_plain_text_alone_is_not_identifying() -> None:
    report = ScanEngine([RecordingDetector("text", [PLAIN])]).scan(PNG)
    assert not report.identifying
    assert report.to_json("x")["plain_text"] is True


@pytest.mark.parametrize(
    "error",
    [RuntimeError("model exploded with DUPONT in the message"), MemoryError()],
)
def test_a_crashing_detector_fails_closed_without_leaking_its_message(error: Exception) -> None:
    report = ScanEngine([RecordingDetector("faces", error=error)]).scan(PNG)
    assert report.identifying
    assert report.error is not None
    assert "DUPONT" not in report.error
    assert report.error_type == "DetectorError"


@pytest.mark.parametrize(
    ("data", "error_type"),
    [
        (b"", "CorruptImageError"),
        (truncated_jpeg(), "CorruptImageError"),
        (b"not an image at all, just words\n" * 10, "UnsupportedImageError"),
        (png_bomb_header(), "ImageTooLargeError"),
    ],
)
def test_unscannable_files_are_reported_as_identifying(data: bytes, error_type: str) -> None:
    report = ScanEngine([RecordingDetector("faces")]).scan(data, name_hint="x.jpg")
    assert report.identifying
    assert report.error_type == error_type
    record = report.to_json("x.jpg")
    assert record["error"]
    assert record["identifying"] is True


def test_every_sampled_frame_is_shown_to_the_detectors() -> None:
    frames = [Image.new("RGB", (32, 32), (i * 40, 0, 0)) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    detector = RecordingDetector("faces")
    ScanEngine([detector]).scan(buffer.getvalue(), exhaustive=True)
    assert [f.label for f in detector.frames] == ["frame 0", "frame 1", "frame 2"]


def test_json_schema_has_the_documented_fields() -> None:
    record = ScanEngine([RecordingDetector("faces", [FACE])]).scan(PNG).to_json("a.png")
    for key in ("file", "identifying", "faces", "identifiers", "barcodes", "exif_gps", "dicom_phi", "error"):
        assert key in record
    assert record["faces"] == 1
    assert isinstance(record["timings_ms"], dict)


def test_real_engine_on_a_portrait(engine: ScanEngine) -> None:
    report = engine.scan(astronaut_bytes(), exhaustive=True)
    assert report.count(FindingKind.FACE) == 1
    assert report.identifying
    assert report.error is None


def test_real_engine_on_a_wound_photo(engine: ScanEngine) -> None:
    report = engine.scan(encode(wound_like_image(), "JPEG"), exhaustive=True)
    assert not report.identifying
    assert report.findings == []


def test_closing_the_engine_closes_its_detectors() -> None:
    detector = RecordingDetector("faces")
    with ScanEngine([detector]):
        pass
    assert detector.closed
