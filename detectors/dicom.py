"""DICOM: report populated patient tags and turn sampled frames into viewable arrays.

Pure and synchronous. Header findings name the tag, never its value; exceptions and logs carry no tag
values either, which is why pydicom's own warnings are captured and its log records redacted.
"""

from __future__ import annotations

import io
import logging
import struct
import warnings
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from pydicom import dcmread
from pydicom.datadict import dictionary_has_tag
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.pixels.utils import pixel_array
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from detectors.base import Finding, FindingKind
from detectors.errors import CorruptImageError, ImageError, ImageTooLargeError, UnsupportedImageError

DETECTOR = "dicom"
#: Decoded pixels allowed per scan when the caller gives no limit (the loader's default too).
DEFAULT_MAX_PIXELS = 80_000_000

#: Top-level attributes that point at the patient. Institution, physician and study descriptions are
#: left out: they identify staff or places, not the person in the picture.
PATIENT_TAGS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientTelecomInformation",
    "OtherPatientIDs",
    "OtherPatientNames",
    "OtherPatientIDsSequence",
    "PatientBirthName",
    "PatientMotherBirthName",
    "MedicalRecordLocator",
)

#: Values anonymisers write instead of deleting the attribute (compared case-insensitively).
_PLACEHOLDERS = frozenset(
    {
        "anonymized",
        "anonymised",
        "anonymous",
        "anon",
        "removed",
        "redacted",
        "deidentified",
        "de-identified",
        "none",
        "null",
        "n/a",
        "unknown",
    }
)
#: A value made only of these is filler ("^^^^", "XXXX", "00000000", "***", "--"), not an identifier.
_FILLER = frozenset("^= -*_.0Xx\x00")

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_IMAGE_MODULE_KEYWORDS = ("Rows", "Columns", "BitsAllocated", "SamplesPerPixel")
_UNDEFINED_LENGTH = 0xFFFFFFFF
#: Elements above this stay on the buffer until read: private blobs and waveforms are never needed.
_DEFER_SIZE = 256 * 1024
#: Burn-in overlays live in the even groups 6000-601E.
_OVERLAY_GROUPS = range(0x6000, 0x6020, 2)
#: A dataset written without preamble starts with a file meta (0002) or identification (0008) element;
#: only then is pydicom's lenient parser tried, since with force=True it accepts almost any bytes.
_LEADING_GROUPS = (0x0002, 0x0008)
#: Attribute of an ImageError holding the header findings of a DICOM whose pixels could not be scanned.
_CARRIED = "consentguard_carried_findings"

Array = npt.NDArray[Any]


class _RedactValues(logging.Filter):
    """Replace pydicom log messages, which quote tag values ("Invalid value for VR DA: ..."), with a stub."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record but drop its text and arguments."""
        if record.exc_info:
            # A decoder traceback: the failure reaches the caller as an exception and is reported there;
            # its message may quote values, so the record is dropped rather than redacted.
            return False
        record.msg = "pydicom message withheld (it may quote tag values)"
        record.args = ()
        return True


# Logger filters do not apply to records propagated from child loggers, so each pydicom logger that
# formats values gets its own.
for _name in ("pydicom", "pydicom.pixels.utils", "pydicom.pixels.decoders.base"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _RedactValues) for f in _logger.filters):
        _logger.addFilter(_RedactValues())


def looks_like_dicom(data: bytes, name_hint: str = "") -> bool:
    """Tell from the bytes alone whether ``data`` is DICOM: the 'DICM' magic, or a bare dataset.

    ``name_hint`` is accepted for callers' convenience and ignored: PACS exports are often named
    ``IM0001`` or ``scan.bin``, and a name chosen by the sender must not decide whether the header is read.
    """
    del name_hint
    if data[128:132] == b"DICM":
        return True
    if not _starts_with_dicom_tag(data):
        return False
    # Files without the 128-byte preamble are legal; pydicom with force=True reads almost anything,
    # so require real dictionary tags before believing it.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(data), force=True, stop_before_pixels=True, defer_size=1024)
        tags = [int(tag) for tag in [*ds.file_meta.keys(), *ds.keys()]]
    except Exception:  # any parse failure means "not DICOM"; Pillow gets its turn
        return False
    return sum(1 for tag in tags[:8] if dictionary_has_tag(tag)) >= 2


def _starts_with_dicom_tag(data: bytes) -> bool:
    """Tell whether the first element header is a (0002,xxxx) or (0008,xxxx) tag, little endian."""
    if len(data) < 8:
        return False
    group, _element = struct.unpack_from("<HH", data)
    if group not in _LEADING_GROUPS:
        return False
    vr = data[4:6]
    if vr.isalpha() and vr.isupper():
        return True  # explicit VR
    (length,) = struct.unpack_from("<I", data, 4)
    return int(length) <= len(data) - 8  # implicit VR: the first value must fit in the file


def carry_findings(exc: ImageError, findings: list[Finding]) -> ImageError:
    """Attach header findings to a scan failure, so the report shows both the failure and what was seen."""
    setattr(exc, _CARRIED, list(findings))
    return exc


def carried_findings(exc: BaseException) -> list[Finding]:
    """The findings attached by :func:`carry_findings` (none for any other error)."""
    found = getattr(exc, _CARRIED, None)
    return [f for f in found if isinstance(f, Finding)] if isinstance(found, list) else []


def scan_dicom(
    data: bytes, *, max_frames: int, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[list[Finding], list[tuple[int, Array]], int]:
    """Return patient-tag findings, up to ``max_frames`` sampled (index, pixels) pairs and the frame count.

    An image whose pixels cannot be scanned (no decoder, corrupt data, over ``max_pixels``) raises an
    :class:`ImageError` that carries the header findings (see :func:`carried_findings`). A file without
    pixel data (a structured report, a header-only file) returns its findings and no frame.
    """
    ds = _read(data)
    findings = [
        Finding(
            kind=FindingKind.DICOM_PATIENT_TAG,
            detector=DETECTOR,
            confidence=1.0,
            identifying=True,
            summary=f"DICOM {keyword} present",
        )
        for keyword in PATIENT_TAGS
        if _tag_is_populated(ds, keyword)
    ]
    try:
        frames, total = _scan_pixels(ds, max(1, max_frames), max_pixels)
    except ImageError as exc:
        # The file fails closed either way; the tags already seen still belong in the report.
        carry_findings(exc, findings)
        raise
    return findings, frames, total


def _scan_pixels(ds: Dataset, max_frames: int, max_pixels: int) -> tuple[list[tuple[int, Array]], int]:
    """Decode the sampled frames, or raise: an image that yields nothing must never look clean."""
    if not any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        if all(keyword in ds for keyword in _IMAGE_MODULE_KEYWORDS):
            # An image whose pixels went missing (cut just before Pixel Data): nothing to scan, so fail.
            raise CorruptImageError("DICOM image attributes present but pixel data missing")
        return [], 0  # SR, RT plan, waveform: a header only
    total = _frame_count(ds)
    indices = _sample_indices(total, max_frames)
    _check_size(ds, len(indices), max_pixels)
    frames = _decode_frames(ds, indices, total)
    if not frames:
        raise CorruptImageError("DICOM image yields no frame")
    return frames, total


def _check_size(ds: Dataset, sampled: int, max_pixels: int) -> None:
    """Refuse, before any allocation, frames whose header promises more pixels than the limit.

    Messages give the limit, not the dimensions: they are header values, and errors carry none.
    """
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
    except (AttributeError, TypeError, ValueError):
        raise CorruptImageError("DICOM pixel data without usable Rows and Columns") from None
    if rows <= 0 or columns <= 0:
        raise CorruptImageError("DICOM image has no pixels")
    if rows * columns > max_pixels:
        raise ImageTooLargeError(f"DICOM frame exceeds the {max_pixels:,}-pixel limit")
    if rows * columns * sampled > max_pixels:
        raise ImageTooLargeError(f"sampled DICOM frames exceed the {max_pixels:,}-pixel limit")


def _read(data: bytes) -> Dataset:
    """Parse ``data`` or raise CorruptImageError; truncation that pydicom tolerates counts as corrupt."""
    buffer = io.BytesIO(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = dcmread(buffer, force=True, defer_size=_DEFER_SIZE)
        except Exception as exc:
            # "from None": pydicom messages may quote values, and a chained cause would reach the logs.
            raise CorruptImageError(f"cannot parse DICOM: {type(exc).__name__}") from None
    if any("end of file" in str(w.message).lower() for w in caught):
        raise CorruptImageError("DICOM data ends before a sequence or item is closed")
    if len(ds) == 0:
        raise CorruptImageError("DICOM file holds no data elements")
    if _has_short_element(ds, len(data)):
        raise CorruptImageError("DICOM data is truncated")
    return ds


def _has_short_element(ds: Dataset, size: int) -> bool:
    """Tell whether an element's value runs past the end of the data (pydicom keeps the short read)."""
    for tag in list(ds.keys()):
        elem = ds.get_item(tag, keep_deferred=True)
        if not isinstance(elem, RawDataElement) or elem.length == _UNDEFINED_LENGTH:
            continue
        if elem.value is None:  # deferred: only its position was recorded
            if elem.value_tell + elem.length > size:
                return True
        elif len(elem.value) < elem.length:
            return True
    return False


def _tag_is_populated(ds: Dataset, keyword: str) -> bool:
    if keyword not in ds:
        return False
    try:
        value = ds[keyword].value
    except Exception:
        # A value pydicom cannot decode (bad charset, bad VR) is still something: fail closed.
        return True
    return _is_populated(value)


def _is_populated(value: object) -> bool:
    """Tell whether a value holds something other than emptiness or an anonymisation placeholder."""
    if value is None:
        return False
    if isinstance(value, Sequence):
        # OtherPatientIDsSequence: each item carries a PatientID (and its issuer, which is not PHI).
        return any(_tag_is_populated(item, "PatientID") for item in value)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    # Only real containers recurse: PersonName and str are iterable too, character by character.
    if isinstance(value, MultiValue | list | tuple):
        return any(_is_populated(item) for item in value)
    text = str(value).strip(" \x00")
    if not text or set(text) <= _FILLER:
        return False
    return text.strip("^= ").lower() not in _PLACEHOLDERS


def _frame_count(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def _sample_indices(total: int, max_frames: int) -> list[int]:
    """Evenly spaced frame indices, always including the first (what a viewer shows)."""
    if total <= max_frames:
        return list(range(total))
    step = total / max_frames
    return sorted({int(i * step) for i in range(max_frames)})


def _decode_frames(ds: Dataset, indices: list[int], total: int) -> list[tuple[int, Array]]:
    """Decode the sampled frames one at a time; a whole multi-frame volume never sits in memory."""
    _require_decoder(_ensure_transfer_syntax(ds))
    frames: list[tuple[int, Array]] = []
    for index in indices:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                raw = np.asarray(pixel_array(ds, index=index))
        except Exception as exc:  # MemoryError included: pixels we cannot see are not clean pixels
            # Only the exception's type: pydicom messages may quote values.
            raise CorruptImageError(f"cannot decode DICOM pixel data: {type(exc).__name__}") from None
        if raw.size == 0:
            raise CorruptImageError("DICOM frame decodes to no pixels")
        frames.append((index, _viewable(raw, ds, total)))
    return frames


def _require_decoder(syntax: UID) -> None:
    """Raise UnsupportedImageError when no installed plugin decodes this transfer syntax (e.g. JPEG-LS)."""
    try:
        decoder = get_decoder(syntax)
    except Exception:  # NotImplementedError for an unknown or private syntax
        # The syntax itself is not named: it is a header value, and errors carry none.
        raise UnsupportedImageError("no decoder exists for this DICOM transfer syntax") from None
    if not decoder.is_available:
        raise UnsupportedImageError("the decoder for this DICOM transfer syntax is not installed")


def _ensure_transfer_syntax(ds: Dataset) -> UID:
    """Return the transfer syntax, inferring it from the encoding when the file meta lacks one."""
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax is not None:
        return UID(str(syntax))
    implicit, little = ds.original_encoding
    if implicit:
        syntax = ImplicitVRLittleEndian
    else:
        syntax = ExplicitVRLittleEndian if little or little is None else ExplicitVRBigEndian
    # pixel_array() refuses a dataset without one; files without file meta are still common.
    ds.file_meta.TransferSyntaxUID = syntax
    return UID(syntax)


def _viewable(arr: Array, ds: Dataset, total: int) -> Array:
    """Apply the photometric steps a viewer would, so text and faces look as a clinician sees them."""
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if photometric == "PALETTE COLOR":
        return _try(apply_color_lut, arr, ds)
    if arr.ndim != 2:
        # RGB, or YBR already converted to RGB by pixel_array(); nothing left to do.
        return arr
    arr = _try(apply_modality_lut, arr, ds)
    arr = _try(apply_voi_lut, arr, ds)
    if photometric == "MONOCHROME1":
        # MONOCHROME1 shows low values as white; flip so the caller's min-max scaling looks right.
        as_float = arr.astype(np.float64)
        arr = np.nanmax(as_float) + np.nanmin(as_float) - as_float
    elif arr.dtype == np.uint8 and _bits_stored(ds) < 8:
        # Masks (1-bit segmentations) hold 0/1: as floats the caller stretches them to black and white.
        arr = arr.astype(np.float32)
    if total == 1:
        arr = _burn_overlays(arr, ds)
    return arr


def _bits_stored(ds: Dataset) -> int:
    try:
        return int(ds.get("BitsStored", 8) or 8)
    except (TypeError, ValueError):
        return 8


def _try(step: Any, arr: Array, ds: Dataset) -> Array:
    """Apply a pydicom processing step, keeping the input when the header values are unusable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cast(Array, step(arr, ds))
    except Exception:
        # Bogus LUTs or windows are common; the caller still scales the raw values to 8 bits.
        return arr


def _burn_overlays(arr: Array, ds: Dataset) -> Array:
    """Draw graphic overlays in white: viewers show them, and they often carry burned-in text."""
    result = arr
    for group in _OVERLAY_GROUPS:
        placed = _read_overlay(ds, group)
        if placed is None:
            continue
        overlay, row, col = placed
        row, col = max(row, 0), max(col, 0)
        height = min(overlay.shape[0], result.shape[0] - row)
        width = min(overlay.shape[1], result.shape[1] - col)
        if height <= 0 or width <= 0:
            continue
        if result is arr:
            result = arr.astype(np.float64)
        mask = overlay[:height, :width] != 0
        region = result[row : row + height, col : col + width]
        region[mask] = float(np.nanmax(result))
    return result


def _read_overlay(ds: Dataset, group: int) -> tuple[Array, int, int] | None:
    """Return a single-frame overlay bitmap with its 0-based (row, column) origin, or None."""
    if (group, 0x3000) not in ds:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            overlay = np.asarray(ds.overlay_array(group))
            origin = ds.get((group, 0x0050))
            row, col = (int(origin.value[0]) - 1, int(origin.value[1]) - 1) if origin else (0, 0)
    except Exception:
        return None  # a broken overlay never hides the image itself
    return (overlay, row, col) if overlay.ndim == 2 else None
