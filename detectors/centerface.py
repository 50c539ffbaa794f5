"""CenterFace through ONNX Runtime: the face search's second opinion.

BlazeFace (``detectors.faces``) is fast and sure of itself on open faces, but it was trained on selfie-like
faces: it loses a face behind a surgical mask, a face the frame cuts in half, and a face 20 to 40 px wide in
a photo of a room. CenterFace (WIDER FACE-trained, anchor-free, 7.3 MB, MIT) finds those, at about the cost
of a BlazeFace tile search, so it runs only when BlazeFace found nothing. It sees the frame upright only:
turned faces are BlazeFace's rotated search's job, and CenterFace looks at turned frames only for a face
BlazeFace cannot see at all (``detectors.faces``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

from detectors.base import RGBArray
from detectors.errors import DetectorError

_INPUT = "input.1"
#: The network's output names, in the order heatmap, scale, offset, landmarks.
_OUTPUTS = ("537", "538", "539", "540")
#: The network downsamples by 4; inputs are padded to a multiple of 32.
_STRIDE = 4
_ALIGN = 32


@dataclass(frozen=True, slots=True)
class CenterFaceBox:
    """A face found, in the pixels given to :meth:`CenterFaceNet.detect`."""

    score: float
    x: float
    y: float
    w: float
    h: float


class CenterFaceNet:
    """One loaded network; not re-entrant (the caller holds a lock, as for the MediaPipe tasks)."""

    def __init__(self, model: bytes, threads: int = 1) -> None:
        options = ort.SessionOptions()
        # One thread: the bot runs one scan worker per core (as the OCR does).
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        except (RuntimeError, ValueError) as exc:
            raise DetectorError("cannot load the CenterFace model") from exc

    def detect(self, pixels: RGBArray, *, max_side: int, threshold: float) -> list[CenterFaceBox]:
        """Faces scoring ``threshold`` or more, the frame first shrunk to ``max_side`` (never enlarged)."""
        height, width = pixels.shape[:2]
        scale = min(1.0, max_side / max(height, width))
        in_w = max(_ALIGN, int(np.ceil(width * scale / _ALIGN)) * _ALIGN)
        in_h = max(_ALIGN, int(np.ceil(height * scale / _ALIGN)) * _ALIGN)
        # Stretched to the aligned size, as the network was run by its authors; undone below per axis.
        blob = cv2.dnn.blobFromImage(pixels, 1.0, (in_w, in_h), (0, 0, 0), swapRB=False, crop=False)
        heatmap, sizes, offsets, _landmarks = self._session.run(list(_OUTPUTS), {_INPUT: blob})
        boxes = _decode(heatmap[0, 0], sizes[0], offsets[0], threshold)
        sx, sy = in_w / width, in_h / height
        return _suppress(
            [CenterFaceBox(b.score, b.x / sx, b.y / sy, b.w / sx, b.h / sy) for b in boxes], iou_limit=0.3
        )


def _decode(
    heatmap: np.ndarray, sizes: np.ndarray, offsets: np.ndarray, threshold: float
) -> list[CenterFaceBox]:
    """Each heatmap peak above ``threshold`` is a face centre; sizes are log-scaled, offsets sub-cell."""
    rows, cols = np.nonzero(heatmap > threshold)
    out = []
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        h = float(np.exp(sizes[0, r, c])) * _STRIDE
        w = float(np.exp(sizes[1, r, c])) * _STRIDE
        cy = (r + float(offsets[0, r, c]) + 0.5) * _STRIDE
        cx = (c + float(offsets[1, r, c]) + 0.5) * _STRIDE
        out.append(CenterFaceBox(float(heatmap[r, c]), max(0.0, cx - w / 2), max(0.0, cy - h / 2), w, h))
    return out


def _suppress(boxes: list[CenterFaceBox], iou_limit: float) -> list[CenterFaceBox]:
    """Greedy non-maximum suppression: neighbouring peaks of one face become one box."""
    kept: list[CenterFaceBox] = []
    for box in sorted(boxes, key=lambda b: b.score, reverse=True):
        if all(_iou(box, other) <= iou_limit for other in kept):
            kept.append(box)
    return kept


def _iou(a: CenterFaceBox, b: CenterFaceBox) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0
