"""Face detection with MediaPipe's BlazeFace models, shipped with the package.

BlazeFace sees the whole picture at 128 px (short range) or 192 px (full range), so a small face in a group
photo or on an ID document is a handful of pixels to it. We therefore look at the frame at several scales
(whole frame, then overlapping tiles) and, because tiles also magnify textures that merely resemble a face,
every candidate must survive a second look: the region around it, re-centred and zoomed, must still be
recognised as a face. Faces turned by 90 or 180 degrees are searched on rotated copies when the upright
search finds nothing. Drawn faces (smileys, the faces of a pain scale, cartoons) are faces to BlazeFace too;
a candidate whose colours are a few flat fills is dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

import numpy as np
from PIL import Image, ImageFilter

from detectors.base import BoundingBox, Finding, FindingKind, Frame, RGBArray
from detectors.centerface import CenterFaceNet
from detectors.errors import DetectorError
from detectors.pixels import scaled

MODEL_PACKAGE = "detectors.models"
SHORT_RANGE_MODEL = "face_detection_short_range.tflite"
FULL_RANGE_MODEL = "face_detection_full_range_sparse.tflite"
CENTERFACE_MODEL = "centerface.onnx"


@dataclass(frozen=True, slots=True)
class FaceSearchSettings:
    """Thresholds of the multi-scale search; the defaults are tuned on the dev corpus, see README."""

    #: Detections below this are not even considered (tiles produce many weak ones).
    candidate_score: float = 0.5
    #: A face needs this score at first sight *and* ``verify_score`` on the zoomed second look.
    min_score: float = 0.65
    verify_score: float = 0.68
    #: Rotated copies are only searched when the upright frame has no face; a turned face scores lower.
    rotated_score: float = 0.6
    rotated_verify_score: float = 0.75
    tile_grid_min_side: int = 480
    max_side: int = 1280
    #: A candidate whose four commonest colours cover this share of its (unsaturated) pixels is drawn.
    drawn_share: float = 0.7
    #: CenterFace's second look when BlazeFace found nothing (masked, cut and small faces); see README.
    second_opinion: bool = True
    second_opinion_side: int = 512
    second_opinion_score: float = 0.5
    #: ...and on the frame turned both ways, for a masked patient lying in bed photographed from the side
    #: (BlazeFace's rotated search needs an open face); smaller and stricter, for it costs two more runs.
    second_opinion_turned: bool = True
    second_opinion_turned_side: int = 512
    second_opinion_turned_score: float = 0.6


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    x: float
    y: float
    w: float
    h: float
    whole_frame: bool


def load_model_bytes(name: str) -> bytes:
    """Read a model shipped as package data and check it against SHA256SUMS beside it."""
    folder = resources.files(MODEL_PACKAGE)
    data = folder.joinpath(name).read_bytes()
    expected = {
        line.split()[1]: line.split()[0]
        for line in folder.joinpath("SHA256SUMS").read_text().splitlines()
        if line.strip()
    }
    if hashlib.sha256(data).hexdigest() != expected.get(name):
        raise DetectorError(f"model file {name} does not match its SHA256SUMS entry")
    return data


class MediaPipeFaceDetector:
    """Finds human faces; every face found is identifying."""

    name = "faces"

    def __init__(self, settings: FaceSearchSettings | None = None) -> None:
        # Imported here so that importing `detectors` stays cheap for code that never scans faces.
        from mediapipe.tasks.python import BaseOptions, vision

        self._settings = settings or FaceSearchSettings()
        self._lock = threading.Lock()  # MediaPipe task graphs are not re-entrant.
        full_model, short_model = load_model_bytes(FULL_RANGE_MODEL), load_model_bytes(SHORT_RANGE_MODEL)
        try:
            # LiteRT prints its start-up chatter straight to file descriptor 2; keep the bot's log clean.
            with _quiet_native_stderr():
                self._full = vision.FaceDetector.create_from_options(
                    vision.FaceDetectorOptions(
                        base_options=BaseOptions(model_asset_buffer=full_model), min_detection_confidence=0.3
                    )
                )
                self._short = vision.FaceDetector.create_from_options(
                    vision.FaceDetectorOptions(
                        base_options=BaseOptions(model_asset_buffer=short_model), min_detection_confidence=0.3
                    )
                )
                warm_up = np.zeros((64, 64, 3), dtype=np.uint8)
                self._run(self._full, warm_up, 0, 0, whole_frame=True)
                self._run(self._short, warm_up, 0, 0, whole_frame=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise DetectorError(f"cannot load the face models: {type(exc).__name__}") from exc
        self._second: CenterFaceNet | None = None
        if self._settings.second_opinion:
            self._second = CenterFaceNet(load_model_bytes(CENTERFACE_MODEL))

    def close(self) -> None:
        """Release the MediaPipe task graphs."""
        with self._lock, _quiet_native_stderr():
            for task in (self._full, self._short):
                task.close()

    def detect(self, frame: Frame) -> list[Finding]:
        """Return one finding per face in ``frame``."""
        pixels, scale = _downscale(frame.pixels, self._settings.max_side)
        with self._lock:
            faces = self._search(pixels)
            if not faces:
                faces = self._search_rotated(pixels)
            faces = [c for c in faces if flat_colour_share(pixels, c) < self._settings.drawn_share]
            if not faces and self._second is not None:
                faces = self._second_opinion(pixels, self._second)
        return [
            Finding(
                kind=FindingKind.FACE,
                detector=self.name,
                confidence=round(c.score, 3),
                identifying=True,
                summary="human face",
                box=BoundingBox(
                    round(c.x / scale), round(c.y / scale), round(c.w / scale), round(c.h / scale)
                ),
                frame=frame.label,
            )
            for c in faces
        ]

    # -- search -------------------------------------------------------------------------------------

    def _search(self, pixels: RGBArray) -> list[_Candidate]:
        candidates = self._run_both(pixels, 0, 0, whole_frame=True)
        for x0, y0, tile in _tiles(pixels, self._settings.tile_grid_min_side):
            candidates.extend(self._run_both(tile, x0, y0, whole_frame=False))
        accepted: list[_Candidate] = []
        for cand in _non_max_suppression(candidates):
            if cand.score < self._settings.min_score:
                continue
            verified = self._verify(pixels, cand)
            if verified >= self._settings.verify_score:
                accepted.append(_Candidate(max(verified, cand.score), cand.x, cand.y, cand.w, cand.h, True))
        return accepted

    def _second_opinion(self, pixels: RGBArray, net: CenterFaceNet) -> list[_Candidate]:
        settings = self._settings
        faces = self._centerface(net, pixels, settings.second_opinion_side, settings.second_opinion_score)
        if faces or not settings.second_opinion_turned:
            return faces
        height, width = pixels.shape[:2]
        for quarter_turns in (1, 3):
            turned = np.ascontiguousarray(np.rot90(pixels, quarter_turns))
            hits = self._centerface(
                net, turned, settings.second_opinion_turned_side, settings.second_opinion_turned_score
            )
            if hits:
                return [_unrotate(c, quarter_turns, width, height) for c in hits]
        return []

    def _centerface(self, net: CenterFaceNet, pixels: RGBArray, side: int, score: float) -> list[_Candidate]:
        found = net.detect(pixels, max_side=side, threshold=score)
        candidates = [_Candidate(b.score, b.x, b.y, b.w, b.h, True) for b in found]
        return [c for c in candidates if flat_colour_share(pixels, c) < self._settings.drawn_share]

    def _search_rotated(self, pixels: RGBArray) -> list[_Candidate]:
        height, width = pixels.shape[:2]
        for quarter_turns in (1, 2, 3):
            rotated = np.ascontiguousarray(np.rot90(pixels, quarter_turns))
            hits = [
                c
                for c in self._run(self._full, rotated, 0, 0, whole_frame=True)
                if c.score >= self._settings.rotated_score
                and self._verify(rotated, c) >= self._settings.rotated_verify_score
            ]
            if hits:
                # Boxes are found in the rotated frame; report them in upright coordinates.
                return [_unrotate(c, quarter_turns, width, height) for c in hits]
        return []

    def _verify(self, pixels: RGBArray, cand: _Candidate) -> float:
        """Zoom on the candidate: a real face is still a face when re-centred at the models' sweet spot."""
        height, width = pixels.shape[:2]
        side = max(cand.w, cand.h) * 2.2
        cx, cy = cand.x + cand.w / 2, cand.y + cand.h / 2
        x0, y0 = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
        x1, y1 = min(width, int(cx + side / 2)), min(height, int(cy + side / 2))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return 0.0
        crop = Image.fromarray(pixels[y0:y1, x0:x1]).resize((256, 256), Image.Resampling.BILINEAR)
        crop_pixels = np.asarray(crop, dtype=np.uint8)
        best = 0.0
        for task in (self._short, self._full):
            for hit in self._run(task, crop_pixels, 0, 0, whole_frame=False):
                # The re-detected face must sit where the candidate was (the crop's centre).
                hx, hy = hit.x + hit.w / 2, hit.y + hit.h / 2
                if abs(hx - 128) < 64 and abs(hy - 128) < 64:
                    best = max(best, hit.score)
        return best

    def _run_both(self, pixels: RGBArray, x0: int, y0: int, *, whole_frame: bool) -> list[_Candidate]:
        found = self._run(self._full, pixels, x0, y0, whole_frame=whole_frame)
        found += self._run(self._short, pixels, x0, y0, whole_frame=whole_frame)
        return [c for c in found if c.score >= self._settings.candidate_score]

    @staticmethod
    def _run(task: object, pixels: RGBArray, x0: int, y0: int, *, whole_frame: bool) -> list[_Candidate]:
        import mediapipe as mp

        result = task.detect(  # type: ignore[attr-defined]
            mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(pixels))
        )
        out = []
        for detection in result.detections:
            box = detection.bounding_box
            score = float(detection.categories[0].score)
            out.append(
                _Candidate(score, box.origin_x + x0, box.origin_y + y0, box.width, box.height, whole_frame)
            )
        return out


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence native code writing to fd 2 (only around model loading, never around detection)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr (a daemon): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def flat_colour_share(pixels: RGBArray, cand: _Candidate) -> float:
    """Share of a candidate's pixels in its four commonest colours: near 1 for a drawing, low for skin.

    A photographed face is gradients (light, skin, hair); a drawn one is a few flat fills and outlines. Three
    things keep real faces below the bar, measured on a portrait made dark, over-exposed, grey, washed out
    and JPEG-compressed at quality 20, and photographed 30 times by the evaluation set's degradations
    (shares up to 0.53, against 0.74 and more for the drawn candidates of the evaluation set's tune half;
    the bar is 0.7): the crop's contrast is stretched first (a dark face regains its
    gradients), blown-out white and crushed black are left out (an over-exposed face is mostly white), and a
    crop with almost nothing else left is a line drawing only when it holds both white and black.
    """
    height, width = pixels.shape[:2]
    x0, y0 = max(0, int(cand.x)), max(0, int(cand.y))
    x1, y1 = min(width, int(cand.x + cand.w)), min(height, int(cand.y + cand.h))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return 0.0
    # A median filter first: a drawing photographed with sensor noise, JPEG and glare is flat again after it,
    # while skin gradients survive it.
    small = Image.fromarray(pixels[y0:y1, x0:x1]).resize((64, 64), Image.Resampling.BILINEAR)
    crop = np.asarray(small.filter(ImageFilter.MedianFilter(5)), dtype=np.uint8)
    white, black = crop.min(axis=2) >= 245, crop.max(axis=2) <= 10
    kept = ~(white | black)
    if kept.mean() < 0.15:
        # Nothing but white and black: ink on paper when both are there; a blown-out or a black photograph
        # when only one is (it stays a face).
        return 1.0 if white.mean() >= 0.02 and black.mean() >= 0.02 else 0.0
    values = crop.astype(np.float32)
    low, high = float(np.percentile(values, 1)), float(np.percentile(values, 99))
    stretched = np.clip((values - low) * (255.0 / max(high - low, 1.0)), 0, 255).astype(np.int32) >> 4
    codes = (stretched[..., 0] << 8) | (stretched[..., 1] << 4) | stretched[..., 2]
    counts = np.bincount(codes[kept], minlength=4096)
    return float(np.sort(counts)[-4:].sum()) / float(np.count_nonzero(kept))


def _downscale(pixels: RGBArray, max_side: int) -> tuple[RGBArray, float]:
    height, width = pixels.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale >= 1.0:
        return pixels, 1.0
    return scaled(pixels, scale, Image.Resampling.BILINEAR), scale


def _tiles(pixels: RGBArray, min_side: int) -> list[tuple[int, int, RGBArray]]:
    """Overlapping 2x2 tiles (and 3x3 for large frames), each a quarter larger than a grid cell."""
    height, width = pixels.shape[:2]
    if max(height, width) < min_side:
        return []
    grids = [2] if max(height, width) < 2 * min_side else [2, 3]
    out = []
    for n in grids:
        tile_h, tile_w = int(height / n * 1.25), int(width / n * 1.25)
        for row in range(n):
            for col in range(n):
                y0 = min(height - tile_h, int(row * height / n - (tile_h - height / n) / 2)) if row else 0
                x0 = min(width - tile_w, int(col * width / n - (tile_w - width / n) / 2)) if col else 0
                y0, x0 = max(0, y0), max(0, x0)
                out.append((x0, y0, pixels[y0 : y0 + tile_h, x0 : x0 + tile_w]))
    return out


def _non_max_suppression(candidates: list[_Candidate], iou_limit: float = 0.3) -> list[_Candidate]:
    kept: list[_Candidate] = []
    for cand in sorted(candidates, key=lambda c: c.score, reverse=True):
        if all(_iou(cand, other) < iou_limit for other in kept):
            kept.append(cand)
    return kept


def _iou(a: _Candidate, b: _Candidate) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def _unrotate(c: _Candidate, quarter_turns: int, width: int, height: int) -> _Candidate:
    """Map a box found on ``np.rot90(frame, quarter_turns)`` back to the upright ``width`` x ``height``."""
    if quarter_turns % 4 == 1:
        return _Candidate(c.score, width - (c.y + c.h), c.x, c.h, c.w, c.whole_frame)
    if quarter_turns % 4 == 2:
        return _Candidate(c.score, width - (c.x + c.w), height - (c.y + c.h), c.w, c.h, c.whole_frame)
    if quarter_turns % 4 == 3:
        return _Candidate(c.score, c.y, height - (c.x + c.w), c.h, c.w, c.whole_frame)
    return c
