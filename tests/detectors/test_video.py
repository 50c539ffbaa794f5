"""Videos: a face that walks in late is seen, bounds fail closed, GPS is reported without its value."""

import io
import json
import re
from collections.abc import Iterator

import av
import numpy as np
import pytest

from bot.scanning.engine import build_scan_engine
from config.settings import DetectionSettings
from detectors.base import FindingKind
from detectors.engine import ScanEngine
from detectors.errors import CorruptImageError, ImageTooLargeError, UnsupportedImageError
from detectors.loading import LoadLimits, load_media
from tests.mediagen import blank_wall, clean_video, late_face_video, transparent_sticker, video_bytes

_TIME = re.compile(r"frame at (\d+\.\d+) s")


@pytest.fixture(scope="module")
def faces() -> Iterator[ScanEngine]:
    """The real engine with only the face detector: a face is what these videos hide."""
    with build_scan_engine(DetectionSettings(text=False, barcodes=False)) as engine:
        yield engine


def _times(labels: list[str]) -> list[float]:
    return [float(_TIME.fullmatch(label).group(1)) for label in labels]  # type: ignore[union-attr]


@pytest.mark.parametrize(("kind", "fmt"), [("mp4", "MP4"), ("mov", "MOV"), ("webm", "WEBM")])
def test_a_face_that_appears_after_a_blank_start_is_seen(faces: ScanEngine, kind: str, fmt: str) -> None:
    report = faces.scan(late_face_video(kind=kind), name_hint="clip.bin")
    assert report.error is None
    assert report.format == fmt
    assert report.frames == 40
    assert report.count(FindingKind.FACE) >= 1
    # The first frame (what the thumbnail shows) is the wall: the face was found later in the video.
    face_times = _times([f.frame for f in report.findings if f.kind is FindingKind.FACE])
    assert min(face_times) >= 3.0


def test_a_transparent_video_sticker_is_composited_on_white_and_scanned(faces: ScanEngine) -> None:
    data = transparent_sticker()
    frames = load_media(data).frames
    assert all(frame.pixels[0, 0].tolist() == [255, 255, 255] for frame in frames)
    report = faces.scan(data)
    assert report.format == "WEBM"
    assert report.count(FindingKind.FACE) >= 1


@pytest.mark.parametrize("kind", ["mp4", "webm"])
def test_a_clean_video_is_clean(faces: ScanEngine, kind: str) -> None:
    report = faces.scan(clean_video(kind=kind))
    assert report.error is None
    assert not report.identifying
    assert report.frames == 20


def test_samples_span_the_whole_duration() -> None:
    media = load_media(late_face_video(seconds_blank=9.0, seconds_face=1.0))
    times = _times([frame.label for frame in media.frames])
    assert len(times) == LoadLimits().video_frames
    assert times[0] == 0.0
    assert times[-1] >= 9.8  # the last frame, where the face is
    gaps = np.diff(times)
    # Evenly spaced over the 10 s.
    assert gaps.min() > 1.0
    assert gaps.max() < 1.7


def test_without_a_usable_duration_the_whole_video_is_decoded_and_strided(
    faces: ScanEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("detectors.video._time_span", lambda container, stream: None)
    data = late_face_video(seconds_blank=5.0, seconds_face=1.0)
    media = load_media(data)
    times = _times([frame.label for frame in media.frames])
    assert times[0] == 0.0
    assert times[-1] >= 5.8
    assert media.frame_count == 60
    assert faces.scan(data).count(FindingKind.FACE) >= 1


def test_a_portrait_phone_video_is_turned_upright() -> None:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(-90)  # stored sideways, shown upright: what phones write
        picture = np.zeros((32, 64, 3), dtype=np.uint8)
        picture[:, :16] = 255
        for _ in range(3):
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    pixels = load_media(buffer.getvalue()).frames[0].pixels
    assert pixels.shape[:2] == (64, 32)
    assert pixels[:8].mean() > 200  # the left band, turned 90 degrees clockwise, is now on top


def test_a_truncated_video_is_corrupt_never_clean(faces: ScanEngine) -> None:
    data = late_face_video(kind="mp4")
    for cut in (data[: len(data) // 2], data[:300]):
        with pytest.raises(CorruptImageError):
            load_media(cut)
        report = faces.scan(cut)
        assert report.error_type == "CorruptImageError"
        assert report.identifying


def test_a_video_over_the_pixel_limit_is_refused() -> None:
    with pytest.raises(ImageTooLargeError):
        load_media(late_face_video(), limits=LoadLimits(max_pixels=320 * 240 - 1))


def test_a_video_that_cannot_be_decoded_within_the_budget_fails_closed() -> None:
    data = late_face_video()
    with pytest.raises(ImageTooLargeError, match="budget"):
        load_media(data, limits=LoadLimits(decode_budget_s=1e-9))
    report = ScanEngine([], LoadLimits(decode_budget_s=1e-9)).scan(data)
    assert report.error_type == "ImageTooLargeError"
    assert report.identifying


def test_a_video_needing_too_many_decoded_frames_fails_closed() -> None:
    with pytest.raises(ImageTooLargeError):
        load_media(late_face_video(), limits=LoadLimits(video_max_decoded_frames=5))


def test_an_audio_only_mp4_is_unsupported() -> None:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for _ in range(5):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.rate = 44100
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(UnsupportedImageError):
        load_media(buffer.getvalue())


def test_gps_in_the_container_is_reported_without_its_value() -> None:
    position = "+48.8566+002.3522/"
    data = video_bytes([blank_wall()] * 5, metadata={"location": position})
    report = ScanEngine([]).scan(data)
    gps = [f for f in report.findings if f.kind is FindingKind.EXIF_GPS]
    assert len(gps) == 1
    assert gps[0].identifying
    assert report.to_json("clip.mp4")["exif_gps"] is True
    dumped = json.dumps(report.to_json("clip.mp4")) + repr(report.findings)
    assert "48.8566" not in dumped
    assert "2.3522" not in dumped


def test_a_zero_position_places_nobody() -> None:
    data = video_bytes([blank_wall()] * 5, metadata={"location": "+00.0000+000.0000/"})
    assert ScanEngine([]).scan(data).count(FindingKind.EXIF_GPS) == 0
