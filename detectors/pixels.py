"""Resizing RGB frames: one place for the size arithmetic every detector needs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image

from detectors.base import RGBArray


def scaled(pixels: RGBArray, scale: float, resample: Image.Resampling) -> RGBArray:
    """``pixels`` resized by ``scale`` (never below 1 pixel a side) with Pillow's ``resample`` filter."""
    height, width = pixels.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, resample), dtype=np.uint8)


def fit(pixels: RGBArray, max_side: int) -> RGBArray:
    """``pixels`` downscaled (Lanczos) so its longest side is at most ``max_side``; unchanged if it fits."""
    height, width = pixels.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return pixels
    return scaled(pixels, max_side / longest, Image.Resampling.LANCZOS)


def on_white(rgba: npt.NDArray[np.uint8]) -> RGBArray:
    """Composite an H x W x 4 array on white, as chat clients show transparency on a light theme."""
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    rgb = rgba[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.ascontiguousarray(rgb.round().clip(0, 255).astype(np.uint8))
