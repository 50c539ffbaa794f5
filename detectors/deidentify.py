"""A de-identified rendering of a still image, offered only when a fresh scan of it finds nothing identifying.

Faces, every line of text the OCR read (identifying or not: safer) and codes are masked solid
(:mod:`detectors.masking`); the result is a new JPEG encoded from pixels alone, so no EXIF, XMP, ICC
profile, comment or thumbnail survives. That JPEG is scanned again by the same engine, every detector;
whatever it still finds is masked too, with wider margins, and the JPEG scanned again, at most
:data:`ROUNDS` times. Anything that cannot be masked (a finding without a position, a video, a PDF, a
DICOM, an animation) means no rendering, with the reason. Pure and synchronous, like the detectors; the
text read never leaves the text detector.
"""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass

from PIL import Image

from detectors.base import IDENTIFIER_KINDS, DecodedMedia, Finding, FindingKind, Frame, RGBArray
from detectors.engine import FrameLook, ScanEngine
from detectors.loading import ACCEPTED_FORMATS
from detectors.masking import mask_findings
from detectors.metadata import DETECTOR as METADATA_DETECTOR
from detectors.sniff import MediaKind, sniff

#: Rescans allowed: the first rendering, then twice more with every mask grown by half again.
ROUNDS = 3
JPEG_QUALITY = 85
_GROWTH_PER_ROUND = 0.5


class Refusal(enum.StrEnum):
    """Why no de-identified rendering was made (safe to show: says nothing of the content)."""

    VIDEO = "video"
    PDF = "pdf"
    DICOM = "dicom"
    NOT_AN_IMAGE = "not an image"
    MULTI_FRAME = "animation or multi-page image"
    UNREADABLE = "unreadable image"
    SCAN_FAILED = "scan failed"
    UNLOCATED = "unlocated finding"
    NOT_CLEAN = "rescan not clean"


@dataclass(frozen=True, slots=True)
class Deidentified:
    """A masked, metadata-free JPEG whose own scan found nothing identifying. Holds no patient data."""

    jpeg: bytes
    width: int
    height: int
    #: Regions masked (faces, lines of text, codes; two findings on one line of text are one region).
    masked: int
    #: Kinds removed (masked or stripped with the metadata), never their content.
    kinds: tuple[str, ...]

    def __repr__(self) -> str:
        return (
            f"Deidentified(jpeg=<{len(self.jpeg)} bytes>, width={self.width}, height={self.height}, "
            f"masked={self.masked}, kinds={self.kinds})"
        )


@dataclass(frozen=True, slots=True)
class NotDeidentified:
    """No rendering could be offered, and why."""

    reason: Refusal


_REFUSED_KINDS = {MediaKind.VIDEO: Refusal.VIDEO, MediaKind.PDF: Refusal.PDF, MediaKind.DICOM: Refusal.DICOM}


def deidentify(engine: ScanEngine, data: bytes, *, name_hint: str = "") -> Deidentified | NotDeidentified:
    """Render ``data`` (a single-frame still image) masked and stripped, if its rescan comes out clean."""
    kind = sniff(data)
    if kind in _REFUSED_KINDS:
        return NotDeidentified(_REFUSED_KINDS[kind])
    if kind not in (MediaKind.IMAGE, MediaKind.UNKNOWN):
        return NotDeidentified(Refusal.NOT_AN_IMAGE)
    media = _decode(engine, data, name_hint)
    if isinstance(media, Refusal):
        return NotDeidentified(media)
    if media.format not in ACCEPTED_FORMATS:
        # "JPEG+PDF" and other polyglots: a viewer may show the other side, which is not rendered here.
        return NotDeidentified(Refusal.PDF if "PDF" in media.format else Refusal.NOT_AN_IMAGE)
    if media.frame_count != 1 or not media.frames:
        return NotDeidentified(Refusal.MULTI_FRAME)
    # Container findings (EXIF GPS, owner...) go with the metadata; the EXIF thumbnail frame is not rendered.
    if any(f.identifying and f.detector != METADATA_DETECTOR for f in media.findings):
        return NotDeidentified(Refusal.UNLOCATED)
    stripped = {f.kind.value for f in media.findings if f.identifying}
    return _render(engine, media.frames[0], stripped)


def _decode(engine: ScanEngine, data: bytes, name_hint: str) -> DecodedMedia | Refusal:
    try:
        return engine.decode(data, name_hint=name_hint)
    except Exception:  # ImageError, or a decoder bug: either way nothing to render
        return Refusal.UNREADABLE


def _render(engine: ScanEngine, frame: Frame, stripped: set[str]) -> Deidentified | NotDeidentified:
    look = engine.look(frame)
    regions: list[Finding] = []
    clean: Deidentified | None = None
    for round_ in range(ROUNDS):
        if look.error is not None:
            break
        found = _regions(look, frame.label)
        if found is None:
            return NotDeidentified(Refusal.UNLOCATED)
        regions.extend(found)
        pixels = mask_findings(frame.pixels, regions, grow=1.0 + _GROWTH_PER_ROUND * round_)
        jpeg = _encode(pixels)
        look, identifying = _rescan(engine, jpeg, frame)
        if not identifying:
            clean = Deidentified(
                jpeg=jpeg,
                width=frame.width,
                height=frame.height,
                masked=len({(f.box, f.kind is FindingKind.FACE) for f in regions}),
                kinds=tuple(sorted(stripped | {f.kind.value for f in regions})),
            )
            if not look.text_lines:
                return clean
            # Nothing identifying, yet the OCR now reads a line it missed: mask it too, if that stays clean.
    if clean is not None:
        return clean
    return NotDeidentified(Refusal.SCAN_FAILED if look.error is not None else Refusal.NOT_CLEAN)


def _regions(look: FrameLook, label: str) -> list[Finding] | None:
    """What to mask: identifying findings and every line of text, by box; None when one has no box."""
    found = [f for f in look.findings if f.identifying]
    if any(f.box is None for f in found):
        return None
    text_boxes = {f.box for f in found if f.kind in IDENTIFIER_KINDS}
    for box in look.text_lines:
        if box is None:
            return None
        if box not in text_boxes:  # an identifying line already carries this exact box
            found.append(
                Finding(FindingKind.PLAIN_TEXT, "text", 1.0, False, "a line of text", box=box, frame=label)
            )
    return found


def _encode(pixels: RGBArray) -> bytes:
    """A JPEG from pixels alone: no EXIF, XMP, ICC profile, comment or thumbnail to carry over."""
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def _rescan(engine: ScanEngine, jpeg: bytes, original: Frame) -> tuple[FrameLook, bool]:
    """The rendering scanned as a received file would be (decode, metadata, every detector)."""
    try:
        media = engine.decode(jpeg)
    except Exception:
        return FrameLook(error="rendering unreadable"), True
    if len(media.frames) != 1 or media.frames[0].pixels.shape != original.pixels.shape:
        # Boxes found on it must land on the original frame's pixels: fail closed otherwise.
        return FrameLook(error="rendering decoded at another size"), True
    look = engine.look(media.frames[0])
    identifying = (
        look.error is not None
        or any(f.identifying for f in media.findings)
        or any(f.identifying for f in look.findings)
    )
    return look, identifying
