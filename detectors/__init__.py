"""Pure, synchronous detectors of what could identify a patient in an image.

Nothing in this package imports the bot, a chat SDK or an HTTP client: it takes bytes and returns findings.
"""

from detectors.base import BoundingBox, Finding, FindingKind, Frame
from detectors.errors import (
    ConsentGuardError,
    CorruptImageError,
    DetectorError,
    ImageError,
    ImageTooLargeError,
    UnsupportedImageError,
)

__all__ = [
    "BoundingBox",
    "ConsentGuardError",
    "CorruptImageError",
    "DetectorError",
    "Finding",
    "FindingKind",
    "Frame",
    "ImageError",
    "ImageTooLargeError",
    "UnsupportedImageError",
]
