"""The scan engine: bytes in, a :class:`ScanReport` out, never an exception.

Detectors run cheapest first (container metadata while decoding, then barcodes, faces, text). In verdict
mode the engine stops as soon as something identifying is found: that is all the moderation pipeline
needs to act, and it keeps the slow OCR off most photos of people. Exhaustive mode runs every detector,
for reports that list every kind of identifier.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from detectors.base import (
    IDENTIFIER_KINDS,
    BoundingBox,
    DecodedMedia,
    Finding,
    FindingKind,
    Frame,
    FrameDetector,
    TextLocator,
)
from detectors.dicom import carried_findings
from detectors.errors import ConsentGuardError, DetectorError, ImageError
from detectors.loading import LoadLimits, load_media


@dataclass(slots=True)
class ScanReport:
    """Everything known about one file after a scan. Carries no patient data."""

    findings: list[Finding] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    format: str | None = None
    frames: int = 0
    error: str | None = None
    error_type: str | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def identifying(self) -> bool:
        """True when anything identifying was seen, and also when the scan failed (we fail closed)."""
        return self.error is not None or any(f.identifying for f in self.findings)

    def count(self, kind: FindingKind) -> int:
        """How many findings of ``kind``."""
        return sum(1 for f in self.findings if f.kind is kind)

    @property
    def identifier_kinds(self) -> list[str]:
        """Sorted distinct kinds of identifying text found (never the text itself)."""
        return sorted({f.kind.value for f in self.findings if f.kind in IDENTIFIER_KINDS})

    @property
    def kinds(self) -> list[str]:
        """Sorted distinct identifying kinds of every detector, for reminders and the audit log."""
        return sorted({f.kind.value for f in self.findings if f.identifying})

    def to_json(self, file: str) -> dict[str, Any]:
        """The documented ``consentguard scan --json`` object (see README)."""
        return {
            "file": file,
            "identifying": self.identifying,
            "faces": self.count(FindingKind.FACE),
            "identifiers": self.identifier_kinds,
            "barcodes": self.count(FindingKind.BARCODE),
            "exif_gps": self.count(FindingKind.EXIF_GPS) > 0,
            "dicom_phi": self.count(FindingKind.DICOM_PATIENT_TAG) > 0,
            "plain_text": self.count(FindingKind.PLAIN_TEXT) > 0,
            "metadata": sorted(
                {f.kind.value for f in self.findings if f.detector == "metadata" and not f.identifying}
            ),
            "format": self.format,
            "frames": self.frames,
            "error": self.error,
            "error_type": self.error_type,
            "skipped": self.skipped,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


@dataclass(slots=True)
class FrameLook:
    """An exhaustive look at one frame, for masking: every finding with its box, and every line of text's box.

    Carries no content: the lines' text stays in the text detector.
    """

    findings: list[Finding] = field(default_factory=list)
    text_lines: list[BoundingBox | None] = field(default_factory=list)
    error: str | None = None


class ScanEngine:
    """Runs the loader and the frame detectors over one file."""

    def __init__(self, detectors: Sequence[FrameDetector], limits: LoadLimits | None = None) -> None:
        self._detectors = list(detectors)
        self._limits = limits or LoadLimits()

    @property
    def detector_names(self) -> list[str]:
        """Names of the frame detectors, in the order they run."""
        return [d.name for d in self._detectors]

    def close(self) -> None:
        """Release every detector's models."""
        for detector in self._detectors:
            detector.close()

    def __enter__(self) -> ScanEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def decode(self, data: bytes, *, name_hint: str = "") -> DecodedMedia:
        """Decode ``data`` as :meth:`scan` does (same limits); raises :class:`ImageError`."""
        return load_media(data, limits=self._limits, name_hint=name_hint)

    def look(self, frame: Frame) -> FrameLook:
        """Run every detector on ``frame`` and collect the boxes of the lines of text read; never raises."""
        result = FrameLook()
        for detector in self._detectors:
            try:
                if isinstance(detector, TextLocator):
                    findings, lines = detector.detect_and_locate(frame)
                    result.text_lines.extend(lines)
                else:
                    findings = detector.detect(frame)
                result.findings.extend(findings)
            except Exception as exc:  # fail closed, without the message (it may hold data)
                result.error = f"{detector.name} detector failed: {type(exc).__name__}"
        return result

    def scan(self, data: bytes, *, name_hint: str = "", exhaustive: bool = False) -> ScanReport:
        """Scan one file. Errors are reported in the result, never raised."""
        report = ScanReport()
        started = time.perf_counter()
        try:
            media = self.decode(data, name_hint=name_hint)
        except ImageError as exc:
            report.error, report.error_type = str(exc), type(exc).__name__
            # A DICOM whose pixels failed still had its header read: report those tags with the failure.
            report.findings.extend(carried_findings(exc))
            return report
        except Exception as exc:  # a decoder bug must not take the bot down; fail closed
            report.error, report.error_type = (
                f"unexpected decoder failure: {type(exc).__name__}",
                "ImageError",
            )
            return report
        finally:
            report.timings_ms["decode"] = (time.perf_counter() - started) * 1000
        self._run_detectors(media, report, exhaustive=exhaustive)
        return report

    def _run_detectors(self, media: DecodedMedia, report: ScanReport, *, exhaustive: bool) -> None:
        report.format, report.frames = media.format, media.frame_count
        report.findings.extend(media.findings)
        for position, detector in enumerate(self._detectors):
            if not exhaustive and report.identifying:
                report.skipped = [d.name for d in self._detectors[position:]]
                return
            started = time.perf_counter()
            try:
                for frame in media.frames:
                    report.findings.extend(detector.detect(frame))
                    if not exhaustive and any(f.identifying for f in report.findings):
                        break
            except ConsentGuardError as exc:
                report.error, report.error_type = f"{detector.name}: {exc}", type(exc).__name__
            except Exception as exc:  # fail closed on any detector crash, without its message (may hold data)
                report.error = f"{detector.name} detector failed: {type(exc).__name__}"
                report.error_type = DetectorError.__name__
            finally:
                report.timings_ms[detector.name] = (time.perf_counter() - started) * 1000
