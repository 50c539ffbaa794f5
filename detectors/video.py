"""Videos (phone videos, video notes, video stickers, MP4 "GIFs"): frames sampled over the whole duration.

Decoded from memory with PyAV (FFmpeg): patient data never touches the disk. A video's thumbnail and first
frame often show nothing (the camera is still pointing at the wall), so frames are taken at evenly spaced
times from the start to the very end: each sample seeks to the keyframe before its time and decodes forward
to the first frame at or after it. Where seeking cannot be trusted (no duration, no timestamps, a broken
index) the whole video is decoded once and sampled with a stride instead.

Every bound fails closed: too many pixels, too many decoded frames or a decode past the wall-clock budget
raise :class:`ImageTooLargeError`; a video with no decodable frame is corrupt, never clean. Container
metadata (GPS position, capture time, author) is reported like a photo's EXIF, without its values.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.codec.context import CodecContext
from av.container import InputContainer
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from detectors.base import DecodedMedia, Finding, FindingKind, Frame, RGBArray
from detectors.errors import CorruptImageError, ImageError, ImageTooLargeError, UnsupportedImageError
from detectors.limits import LoadLimits
from detectors.metadata import DETECTOR as METADATA_DETECTOR
from detectors.pixels import fit, on_white
from detectors.sniff import DEMUXERS

#: More video tracks than this in one file is not something a phone or a chat client produces.
MAX_VIDEO_STREAMS = 4

#: A seek that lands this far past its target means the index cannot be trusted: decode sequentially.
_SEEK_TOLERANCE_S = 1.0

# Keys under which containers carry a position: MP4 "©xyz" (FFmpeg: "location", "location-eng"), Apple's
# "com.apple.quicktime.location.ISO6709", Android's "com.android.capture.location"...; Matroska tags vary.
_GPS_KEY = re.compile(r"location|xyz|gps|latitude|longitude", re.IGNORECASE)
_CAPTURE_TIME_KEY = re.compile(r"creation_?time|creationdate|date_recorded|^date$", re.IGNORECASE)
_OWNER_KEY = re.compile(r"artist|author|copyright|owner|serial", re.IGNORECASE)
_ISO6709 = re.compile(r"^\s*([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")


@dataclass(frozen=True, slots=True)
class _Sample:
    time_s: float
    pixels: RGBArray


class _Budget:
    """Wall-clock and decoded-frame bounds for one file, checked between packets and frames."""

    def __init__(self, limits: LoadLimits) -> None:
        self.limits = limits
        self._deadline = time.monotonic() + limits.decode_budget_s
        self.decoded = 0
        self.packets = 0

    def count_packet(self) -> None:
        # Packets that decode to nothing (garbage, or frames the decoder drops) still cost time.
        self.packets += 1
        if self.packets > 4 * self.limits.video_max_decoded_frames:
            raise ImageTooLargeError("video has too many packets to check")
        if time.monotonic() > self._deadline:
            raise ImageTooLargeError(
                f"video takes longer than the {self.limits.decode_budget_s:g} s decode budget to check"
            )

    def count_frame(self) -> None:
        self.decoded += 1
        if self.decoded > self.limits.video_max_decoded_frames:
            raise ImageTooLargeError(
                f"video needs more than {self.limits.video_max_decoded_frames} decoded frames to check"
            )


def load_video(data: bytes, fmt: str, limits: LoadLimits) -> DecodedMedia:
    """Sample frames of every video track of ``data`` (a ``fmt`` container, see :mod:`detectors.sniff`)."""
    budget = _Budget(limits)
    try:
        with _open(data, fmt) as container:
            findings = _metadata_findings(container)
            streams = list(container.streams.video)
            if not streams:
                raise UnsupportedImageError(f"{fmt} file without a video track (audio only)")
            if len(streams) > MAX_VIDEO_STREAMS:
                raise ImageTooLargeError(f"{len(streams)} video tracks (limit {MAX_VIDEO_STREAMS})")
        frames: list[Frame] = []
        total = 0
        for index in range(len(streams)):
            prefix = f"track {index + 1} " if len(streams) > 1 else ""
            samples, count = _sample_stream(data, fmt, index, limits, budget)
            frames.extend(Frame(s.pixels, f"{prefix}frame at {s.time_s:.2f} s") for s in samples)
            total += count
    except ImageError:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, IndexError) as exc:
        # FFmpeg messages may quote metadata; only the exception type leaves this module.
        raise CorruptImageError(f"cannot decode {fmt} video: {type(exc).__name__}") from exc
    if not frames:
        raise CorruptImageError(f"{fmt} video has no decodable frame")
    return DecodedMedia(format=fmt, frames=frames, findings=findings, frame_count=total)


def _open(data: bytes, fmt: str) -> InputContainer:
    # Naming the demuxer keeps FFmpeg from probing its way into another one (playlists, image sequences).
    return av.open(io.BytesIO(data), mode="r", format=DEMUXERS[fmt])


def _sample_stream(
    data: bytes, fmt: str, index: int, limits: LoadLimits, budget: _Budget
) -> tuple[list[_Sample], int]:
    """Samples of the ``index``-th video track and its frame count: by seeking, else sequentially."""
    with _open(data, fmt) as container:
        stream = container.streams.video[index]
        _check_size(stream.codec_context.width, stream.codec_context.height, limits)
        span = _time_span(container, stream)
        if span is not None:
            try:
                samples = _seek_samples(container, stream, span, limits, budget)
            except _SeekUnreliable:
                samples = None
            if samples is not None:
                return samples, _frame_count(stream, span[1] - span[0])
    with _open(data, fmt) as container:
        stream = container.streams.video[index]
        return _sequential_samples(container, stream, limits, budget)


class _SeekUnreliable(Exception):
    """Seeking or timestamps misbehaved: fall back to decoding the whole video in order."""


def _seek_samples(
    container: InputContainer,
    stream: VideoStream,
    span: tuple[float, float],
    limits: LoadLimits,
    budget: _Budget,
) -> list[_Sample]:
    start, end = span
    count = max(2, limits.video_frames)
    targets = [start + (end - start) * i / (count - 1) for i in range(count)]
    decoder = _decoder(stream, limits)
    time_base = stream.time_base or Fraction(1, 1)
    samples: list[_Sample] = []
    frames: Iterator[tuple[float, VideoFrame]] = iter(())
    current: tuple[float, VideoFrame] | None = None
    # Longest keyframe interval seen so far: a target closer than that is reached faster by decoding on
    # than by seeking back to its keyframe (which is likely behind the current position anyway).
    gop_s, last_key_s = 0.0, 0.0
    exhausted = False
    for target in targets:
        if exhausted or (current is not None and current[0] >= target):
            pass  # the frame in hand is the first at or after this target (or the video's last frame)
        else:
            if current is None or target - current[0] > gop_s:
                try:
                    container.seek(int(target / time_base), backward=True, any_frame=False, stream=stream)
                except av.FFmpegError as exc:
                    raise _SeekUnreliable from exc
                decoder.flush_buffers()
                frames = _timed(_decode(container, stream, decoder, budget))
                landed = next(frames, None)
                if landed is None or landed[0] > target + _SEEK_TOLERANCE_S:
                    raise _SeekUnreliable
                current, last_key_s = landed, landed[0]
            while current[0] < target:
                following = next(frames, None)
                if following is None:
                    exhausted = True
                    break
                current = following
                if current[1].key_frame:
                    gop_s = max(gop_s, current[0] - last_key_s)
                    last_key_s = current[0]
            gop_s = max(gop_s, current[0] - last_key_s)
        if current is not None and (not samples or samples[-1].time_s != current[0]):
            samples.append(_Sample(current[0], _pixels(current[1], limits)))
    return samples


def _timed(frames: Iterator[tuple[float | None, VideoFrame]]) -> Iterator[tuple[float, VideoFrame]]:
    """Frames with their times; a frame without one makes seeking unusable."""
    for time_s, frame in frames:
        if time_s is None:
            raise _SeekUnreliable
        yield time_s, frame


def _sequential_samples(
    container: InputContainer, stream: VideoStream, limits: LoadLimits, budget: _Budget
) -> tuple[list[_Sample], int]:
    """Decode every frame once, keeping an evenly strided subset (halved whenever it grows too big)."""
    want = max(2, limits.video_frames)
    kept: list[_Sample] = []
    stride, index = 1, -1
    last: tuple[float, VideoFrame] | None = None
    rate = float(stream.average_rate or stream.guessed_rate or 25)
    for index, (time_s, frame) in enumerate(_decode(container, stream, _decoder(stream, limits), budget)):
        # Without timestamps, a time from the frame's position is still a fair label.
        last = (index / rate if time_s is None else time_s, frame)
        if index % stride == 0:
            kept.append(_Sample(last[0], _pixels(frame, limits)))
            if len(kept) >= 2 * want:
                kept, stride = kept[::2], stride * 2
    if last is None:
        return [], 0
    if kept[-1].time_s != last[0]:
        kept.append(_Sample(last[0], _pixels(last[1], limits)))  # the ending, where a face may walk in
    step = max(1, -(-len(kept) // want))
    chosen = kept[::step]
    if chosen[-1] is not kept[-1]:
        chosen[-1] = kept[-1]
    return chosen, index + 1


def _decoder(stream: VideoStream, limits: LoadLimits) -> VideoCodecContext:
    """The stream's own decoder, or libvpx where a VP8/VP9 track has alpha (FFmpeg's native one drops it)."""
    context = stream.codec_context
    if stream.metadata.get("alpha_mode") == "1" and context.name in ("vp8", "vp9"):
        # Telegram video stickers: VP9 with the alpha plane in Matroska BlockAdditions.
        created = CodecContext.create("libvpx-vp9" if context.name == "vp9" else "libvpx", "r")
        assert isinstance(created, VideoCodecContext)  # noqa: S101  # both names are video decoders
        context = created
    # The scan workers are already one process per core: more decoder threads would only contend.
    context.thread_count = 1
    # FFmpeg refuses to allocate frames over this itself, before we ever see them.
    context.options = {**context.options, "max_pixels": str(limits.max_pixels)}
    return context


def _decode(
    container: InputContainer, stream: VideoStream, decoder: VideoCodecContext, budget: _Budget
) -> Iterator[tuple[float | None, VideoFrame]]:
    """(presentation time in seconds or None, frame) in order from the container's current position."""
    time_base = stream.time_base
    for packet in container.demux(stream):
        budget.count_packet()
        for frame in decoder.decode(packet):
            budget.count_frame()
            if not isinstance(frame, VideoFrame):
                continue
            # Before any conversion: a stream may change size mid-way, past what its header said.
            _check_size(frame.width, frame.height, budget.limits)
            if frame.pts is None or time_base is None:
                yield None, frame
            else:
                yield float(frame.pts * time_base), frame


def _pixels(frame: VideoFrame, limits: LoadLimits) -> RGBArray:
    _check_size(frame.width, frame.height, limits)
    if any(component.is_alpha for component in frame.format.components):
        pixels = on_white(np.asarray(frame.to_ndarray(format="rgba"), dtype=np.uint8))
    else:
        pixels = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
    # Phones store portrait videos sideways with a display rotation: show the detectors what a player shows.
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    if quarter_turns:
        pixels = np.ascontiguousarray(np.rot90(pixels, quarter_turns))
    return fit(pixels, limits.max_side)


def _check_size(width: int, height: int, limits: LoadLimits) -> None:
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(f"{width}x{height} video exceeds the {limits.max_pixels:,}-pixel limit")


def _time_span(container: InputContainer, stream: VideoStream) -> tuple[float, float] | None:
    """(first, last) presentation time in seconds, when the container says how long the track is."""
    time_base = stream.time_base
    if time_base is None:
        return None
    start = float(stream.start_time * time_base) if stream.start_time is not None else 0.0
    if stream.duration:
        duration = float(stream.duration * time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    else:
        return None
    if duration <= 0:
        return None
    return start, start + duration


def _frame_count(stream: VideoStream, duration_s: float) -> int:
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    return max(1, round(duration_s * float(rate))) if rate else 1


def _metadata_findings(container: InputContainer) -> list[Finding]:
    """GPS position, capture time and author tags of the container and its tracks, as value-free findings."""
    tags: list[tuple[str, str]] = list(_items(container.metadata))
    for stream in container.streams:
        tags.extend(_items(stream.metadata))
    findings: list[Finding] = []
    if any(_GPS_KEY.search(key) and _places_somewhere(value) for key, value in tags):
        findings.append(_finding(FindingKind.EXIF_GPS, True, "video GPS position present"))
    if any(_CAPTURE_TIME_KEY.search(key) for key, _ in tags):
        findings.append(_finding(FindingKind.EXIF_CAPTURE_TIME, False, "video capture time present"))
    if any(_OWNER_KEY.search(key) for key, _ in tags):
        findings.append(_finding(FindingKind.EXIF_DEVICE_OWNER, False, "video author or serial present"))
    return findings


def _items(metadata: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    for key, value in metadata.items():
        if isinstance(value, str) and value.strip(" \t\r\n\x00"):
            yield key, value


def _places_somewhere(value: str) -> bool:
    """Whether a position value could place someone: anything but an exact 0/0 (written without a fix).

    Unparseable or partial values count, as for EXIF: we cannot prove them harmless.
    """
    match = _ISO6709.match(value)
    if match is None:
        return True
    return not (float(match.group(1)) == 0.0 and float(match.group(2)) == 0.0)


def _finding(kind: FindingKind, identifying: bool, summary: str) -> Finding:
    return Finding(
        kind=kind, detector=METADATA_DETECTOR, confidence=1.0, identifying=identifying, summary=summary
    )
