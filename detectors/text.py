"""Readable text with RapidOCR, sorted into identifiers (names, birth dates, NIR...) and plain text.

RapidOCR 3.x ships its PP-OCR ONNX models inside its wheel, so nothing is downloaded. The recognised text
never leaves this module: findings carry the kind of identifier and where it is, not what it says.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from detectors.base import BoundingBox, Finding, FindingKind, Frame, RGBArray
from detectors.errors import DetectorError
from detectors.identifiers import TextLine, classify_lines
from detectors.pixels import scaled

_SUMMARIES = {
    FindingKind.PERSON_NAME: "text that looks like a person's name",
    FindingKind.BIRTH_DATE: "text that looks like a date of birth",
    FindingKind.NIR: "a French social-security number (NIR)",
    FindingKind.RECORD_NUMBER: "a patient, record or admission number",
    FindingKind.MRZ: "a passport or ID-card machine-readable zone",
    FindingKind.PHONE: "a phone number",
    FindingKind.EMAIL: "an e-mail address",
    FindingKind.POSTAL_ADDRESS: "a postal address",
    FindingKind.CARE_FACILITY: "a care facility's name beside an exam date or time",
}


@dataclass(frozen=True, slots=True)
class OcrSettings:
    """How hard to look: detection resolution bounds and the minimum recognition confidence."""

    #: Recognition crops its lines from the frame with its longest side at most this.
    det_max_side: int = 1280
    #: The text *detector* sees the frame with its longest side at most this (PP-OCR's own default is 736
    #: on the *shortest* side, which made small photos huge and slow). Detection costs about 0.8 ms per
    #: 1,000 pixels on one core and its activations grow with them; at 960 instead of 1280 the slowest
    #: clinical images' text stage fell from 1.15 s to 0.82 s (p95), with every identifier of the dev corpus
    #: still found, and less memory per worker. Recognition still reads its lines at up to 1280.
    det_limit_side: int = 960
    #: Small frames are enlarged to this longest side first, so that tiny print (5-6 px) stays legible. Text
    #: detection costs about its pixel count, so the enlargement costs more than the reading on most clinical
    #: photos: at 512 (was 640, 960 before that) the text stage of the dev corpus's clinical images fell from
    #: 350 to 232 ms (median, one core), and no identifying image lost its finding. Without any enlargement,
    #: two passports lost their birth date: tiny print is real.
    min_side: int = 512
    min_line_confidence: float = 0.5
    #: Inference threads per detector. One: the bot runs one worker process per core, and more threads than
    #: cores only makes them queue (issue 11).
    threads: int = 1


class RapidOcrTextDetector:
    """OCR plus identifier classification."""

    name = "text"

    def __init__(self, settings: OcrSettings | None = None) -> None:
        from rapidocr import RapidOCR

        self._settings = settings or OcrSettings()
        self._lock = threading.Lock()
        # RapidOCR logs at INFO through its own logger; keep it quiet and never let it print text.
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Global.text_score": self._settings.min_line_confidence,
            "Det.limit_type": "max",
            "Det.limit_side_len": min(self._settings.det_limit_side, self._settings.det_max_side),
            "EngineConfig.onnxruntime.intra_op_num_threads": self._settings.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        try:
            self._engine: Any = RapidOCR(params=params)
        except Exception as exc:  # RapidOCR raises bare Exceptions for missing models
            raise DetectorError(f"cannot load the OCR models: {type(exc).__name__}") from exc

    def close(self) -> None:
        """Drop the ONNX sessions."""
        self._engine = None

    def read_lines(self, frame: Frame) -> list[TextLine]:
        """Recognise the lines of text in ``frame`` (for tests and diagnostics; never log the result)."""
        pixels, scale = _fit_for_ocr(frame.pixels, self._settings.min_side, self._settings.det_max_side)
        with self._lock:
            if self._engine is None:
                raise DetectorError("text detector is closed")
            result = self._engine(pixels)
        texts = result.txts or ()
        scores = result.scores or ()
        boxes = result.boxes if result.boxes is not None else [None] * len(texts)
        lines = []
        for text, score, quad in zip(texts, scores, boxes, strict=False):
            if score < self._settings.min_line_confidence or not text.strip():
                continue
            lines.append(TextLine(text=text, confidence=float(score), box=_box(quad, scale)))
        return lines

    def detect(self, frame: Frame) -> list[Finding]:
        """Return identifier findings, or one plain-text finding when the text identifies nobody."""
        return self._findings(frame, self.read_lines(frame))

    def detect_and_locate(self, frame: Frame) -> tuple[list[Finding], list[BoundingBox | None]]:
        """:meth:`detect`'s findings and where every line read is (its box, never its text): for masking.

        A line whose position the OCR did not report comes back as ``None``: it cannot be masked.
        """
        lines = self.read_lines(frame)
        return self._findings(frame, lines), [line.box for line in lines]

    def _findings(self, frame: Frame, lines: list[TextLine]) -> list[Finding]:
        if not lines:
            return []
        matches = classify_lines(lines)
        findings = [
            Finding(
                kind=match.kind,
                detector=self.name,
                confidence=round(match.confidence, 3),
                identifying=True,
                summary=_SUMMARIES.get(match.kind, "identifying text"),
                box=lines[match.line_index].box,
                frame=frame.label,
            )
            for match in matches
        ]
        if not findings:
            findings.append(
                Finding(
                    kind=FindingKind.PLAIN_TEXT,
                    detector=self.name,
                    confidence=round(max(line.confidence for line in lines), 3),
                    identifying=False,
                    summary=f"{len(lines)} line(s) of text, none identifying",
                    frame=frame.label,
                )
            )
        return findings


def _fit_for_ocr(pixels: RGBArray, min_side: int, max_side: int) -> tuple[RGBArray, float]:
    height, width = pixels.shape[:2]
    longest = max(height, width)
    if longest < min_side:
        scale = min_side / longest
    elif longest > max_side:
        scale = max_side / longest
    else:
        return pixels, 1.0
    resample = Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS
    return scaled(pixels, scale, resample), scale


def _box(quad: Any, scale: float) -> BoundingBox | None:
    if quad is None:
        return None
    points = np.asarray(quad, dtype=np.float32) / scale
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return BoundingBox(int(x0), int(y0), int(x1 - x0), int(y1 - y0))
