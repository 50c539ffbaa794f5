"""Builds the scan engine from the detection settings: the detectors, once, cheapest first.

Workers call it with :class:`~config.settings.DetectionSettings` only (picklable, no secrets).
"""

from __future__ import annotations

from config.settings import DetectionSettings
from detectors.base import FrameDetector
from detectors.engine import ScanEngine
from detectors.loading import LoadLimits


def build_scan_engine(detection: DetectionSettings) -> ScanEngine:
    """Create the detectors once (models load here) in cheapest-first order."""
    from detectors.barcodes import ZxingBarcodeDetector
    from detectors.faces import FaceSearchSettings, MediaPipeFaceDetector
    from detectors.text import OcrSettings, RapidOcrTextDetector

    detectors: list[FrameDetector] = []
    if detection.barcodes:
        detectors.append(ZxingBarcodeDetector())
    if detection.faces:
        detectors.append(
            MediaPipeFaceDetector(FaceSearchSettings(second_opinion=detection.faces_second_opinion))
        )
    if detection.text:
        detectors.append(RapidOcrTextDetector(OcrSettings(threads=detection.ocr_threads)))
    limits = LoadLimits(
        max_file_bytes=int(detection.max_file_mb * 1024 * 1024),
        max_pixels=detection.max_pixels,
        max_frames=detection.max_frames,
        video_frames=detection.video_frames,
        video_max_decoded_frames=detection.video_max_decoded_frames,
        decode_budget_s=detection.decode_budget_s,
        pdf_max_pages=detection.pdf_max_pages,
    )
    return ScanEngine(detectors, limits)
