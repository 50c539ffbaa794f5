"""Core value types of the detection engine: frames in, findings out."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

RGBArray = npt.NDArray[np.uint8]


class FindingKind(enum.StrEnum):
    """What was seen. The values are stable: they appear in JSON output and the audit log."""

    FACE = "face"
    PERSON_NAME = "person_name"
    BIRTH_DATE = "birth_date"
    NIR = "nir"
    RECORD_NUMBER = "record_number"
    MRZ = "mrz"
    PHONE = "phone"
    EMAIL = "email"
    POSTAL_ADDRESS = "postal_address"
    CARE_FACILITY = "care_facility"
    PLAIN_TEXT = "plain_text"
    BARCODE = "barcode"
    EXIF_GPS = "exif_gps"
    EXIF_CAPTURE_TIME = "exif_capture_time"
    EXIF_DEVICE_OWNER = "exif_device_owner"
    EXIF_THUMBNAIL = "exif_thumbnail"
    DICOM_PATIENT_TAG = "dicom_patient_tag"


#: Kinds of text that point at a person. Plain text is reported but identifies nobody.
IDENTIFIER_KINDS: frozenset[FindingKind] = frozenset(
    {
        FindingKind.PERSON_NAME,
        FindingKind.BIRTH_DATE,
        FindingKind.NIR,
        FindingKind.RECORD_NUMBER,
        FindingKind.MRZ,
        FindingKind.PHONE,
        FindingKind.EMAIL,
        FindingKind.POSTAL_ADDRESS,
        FindingKind.CARE_FACILITY,
    }
)


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Axis-aligned box in pixels of the frame it was found in."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a detector saw.

    ``summary`` is safe to log and show: it names the kind of thing, never its content
    (no decoded text, no barcode payload, no coordinates).
    """

    kind: FindingKind
    detector: str
    confidence: float
    identifying: bool
    summary: str
    box: BoundingBox | None = None
    frame: str = ""


@dataclass(frozen=True, slots=True)
class Frame:
    """An RGB uint8 picture to scan, with a label saying where it came from ("page 2", "exif thumbnail")."""

    pixels: RGBArray
    label: str = "image"

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])


@dataclass(slots=True)
class DecodedMedia:
    """What the loader made of a file: frames to scan plus container-level findings."""

    format: str
    frames: list[Frame]
    findings: list[Finding] = field(default_factory=list)
    frame_count: int = 1


class FrameDetector(Protocol):
    """A detector that looks at pixels. Created once, reused for every frame; must be thread-compatible."""

    name: str

    def detect(self, frame: Frame) -> list[Finding]:
        """Return what this detector sees in ``frame`` (empty when nothing)."""
        ...

    def close(self) -> None:
        """Release models and native resources."""
        ...


@runtime_checkable
class TextLocator(Protocol):
    """A frame detector that can also say where every line of text it read is (for masking, never content)."""

    def detect_and_locate(self, frame: Frame) -> tuple[list[Finding], list[BoundingBox | None]]:
        """Return ``detect(frame)`` and the box of every line read (``None`` where the OCR gave none)."""
        ...
