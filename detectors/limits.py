"""Bounds that keep a hostile file from eating the machine, shared by every decoder."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.dicom import DEFAULT_MAX_PIXELS


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """Bounds that keep a hostile file from eating the machine."""

    max_file_bytes: int = 60 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS
    #: Frames are downscaled so their longest side is at most this; detectors work below it anyway.
    max_side: int = 2560
    #: Animations, multi-page TIFFs and multi-frame DICOM: how many frames to scan at most.
    max_frames: int = 4
    #: Videos: frames sampled at evenly spaced times from the first to the last (a face may walk in late).
    video_frames: int = 8
    #: Wall-clock seconds one video or PDF may take to decode; past it the file counts as unchecked.
    decode_budget_s: float = 8.0
    #: Videos: frames decoded at most (to reach the samples); more means the file cannot be checked.
    video_max_decoded_frames: int = 5000
    #: PDFs with more pages than this cannot be checked in time: refused, never partly scanned.
    pdf_max_pages: int = 20
    #: PDF pages are rendered with their longest side at this many pixels (about 170 dpi for A4), capped
    #: by ``max_side``: enough for OCR of a scanned letter.
    pdf_render_side: int = 2000
