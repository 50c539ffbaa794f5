"""Barcodes and 2-D codes with zxing-cpp.

Any machine-readable code on a posted photo is identifying: wristbands, specimen labels and request forms
carry the patient's record number in them. Decoded contents are never kept, logged or returned; we only
keep the symbology and where it is.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import zxingcpp

from detectors.base import BoundingBox, Finding, FindingKind, Frame, RGBArray

#: A code with a checksum error is still a code when its symbology has distinctive guard patterns. Matrix
#: codes are different: zxing "finds" broken Data Matrix/Aztec/MaxiCode grids in plain textures, so for
#: those only a clean decode counts.
_TRUSTED_WHEN_DAMAGED = frozenset(
    {
        "PDF417",
        "MicroPDF417",
        "Code128",
        "Code39",
        "Code93",
        "Codabar",
        "EAN-13",
        "EAN-8",
        "UPC-A",
        "UPC-E",
        "ITF",
        "QRCode",
    }
)
#: Frames smaller than this are also searched at twice the size: thin bars of a small photo need it.
_UPSCALE_BELOW = 1000
_MAX_SIDE = 2560


class ZxingBarcodeDetector:
    """Finds 1-D and 2-D codes (Code 128, EAN, PDF417, QR, Data Matrix, Aztec...)."""

    name = "barcodes"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def close(self) -> None:
        """Nothing to release; present for the FrameDetector protocol."""

    def detect(self, frame: Frame) -> list[Finding]:
        """Return one finding per code, without its content."""
        gray = _gray(frame.pixels)
        found = self._read(gray, scale=1.0)
        if not found and max(gray.shape) < _UPSCALE_BELOW:
            bigger = cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
            found = self._read(bigger, scale=2.0)
        return [
            Finding(
                kind=FindingKind.BARCODE,
                detector=self.name,
                confidence=confidence,
                identifying=True,
                summary=f"machine-readable code ({symbology})",
                box=box,
                frame=frame.label,
            )
            for symbology, confidence, box in found
        ]

    def _read(self, gray: np.ndarray, scale: float) -> list[tuple[str, float, BoundingBox]]:  # type: ignore[type-arg]
        with self._lock:
            results = zxingcpp.read_barcodes(gray, return_errors=True)
        found = []
        for result in results:
            symbology = _symbology(result)
            damaged = bool(result.error)
            if damaged and symbology not in _TRUSTED_WHEN_DAMAGED:
                continue
            found.append((symbology, 0.7 if damaged else 1.0, _box(result.position, scale)))
        return found


def _symbology(result: zxingcpp.Barcode) -> str:
    return str(result.format).replace("BarcodeFormat.", "").replace(" ", "")


def _gray(pixels: RGBArray) -> np.ndarray:  # type: ignore[type-arg]
    height, width = pixels.shape[:2]
    gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    if max(height, width) > _MAX_SIDE:
        factor = _MAX_SIDE / max(height, width)
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray)


def _box(position: zxingcpp.Position, scale: float) -> BoundingBox:
    points = [position.top_left, position.top_right, position.bottom_right, position.bottom_left]
    xs = [p.x / scale for p in points]
    ys = [p.y / scale for p in points]
    return BoundingBox(int(min(xs)), int(min(ys)), int(max(xs) - min(xs)), int(max(ys) - min(ys)))
