"""Resizing RGB frames: one place for the size arithmetic every detector needs."""

from __future__ import annotations

import numpy as np
from PIL import Image

from detectors.base import RGBArray


def scaled(pixels: RGBArray, scale: float, resample: Image.Resampling) -> RGBArray:
    """``pixels`` resized by ``scale`` (never below 1 pixel a side) with Pillow's ``resample`` filter."""
    height, width = pixels.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, resample), dtype=np.uint8)
