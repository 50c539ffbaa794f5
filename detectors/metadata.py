"""Container metadata that can identify a patient or a clinician: EXIF GPS, capture time, owner, thumbnail.

Pure and synchronous. Works on a freshly opened Pillow image of any format and never raises on malformed
metadata: a broken EXIF block is treated as absent, because the pixels are still scanned by the other
detectors and a crash here would only hide their verdict. Summaries and logs never carry values (no
coordinates, serial numbers or dates).
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image

from detectors.base import Finding, FindingKind

DETECTOR = "metadata"

#: Thumbnails larger than this are reported but not handed back: real EXIF thumbnails are a few KiB
#: (APP1 is capped at 64 KiB in JPEG), so anything bigger is odd and not worth the memory.
MAX_THUMBNAIL_BYTES = 256 * 1024

#: XMP packets are small in practice; bounding the text keeps a hostile packet from costing regex time.
_MAX_XMP_CHARS = 2 * 1024 * 1024

_GPS_LATITUDE = 0x0002
_GPS_LONGITUDE = 0x0004
_DATETIME = 0x0132
_ARTIST = 0x013B
_COPYRIGHT = 0x8298
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_CAMERA_OWNER_NAME = 0xA430
_BODY_SERIAL_NUMBER = 0xA431
_JPEG_IF_OFFSET = 0x0201
_JPEG_IF_LENGTH = 0x0202

_CAPTURE_TIME_TAGS = (_DATETIME, _DATETIME_ORIGINAL, _DATETIME_DIGITIZED)
_OWNER_TAGS = (_ARTIST, _COPYRIGHT, _CAMERA_OWNER_NAME, _BODY_SERIAL_NUMBER)

# XMP writes GPS either as an attribute (exif:GPSLatitude="43,28.05N") or as an element. Any namespace
# prefix is accepted because drone and phone vendors use their own (drone-dji:GpsLatitude="43.46").
_XMP_ATTR = r'[\w.-]+:{name}\s*=\s*(?:"([^"]{{0,64}})"|\'([^\']{{0,64}})\')'
_XMP_ELEM = r"<[\w.-]+:{name}\s*>\s*([^<]{{0,64}}?)\s*</[\w.-]+:{name}\s*>"
_XMP_PATTERNS = {
    axis: (
        re.compile(_XMP_ATTR.format(name=name), re.IGNORECASE),
        re.compile(_XMP_ELEM.format(name=name), re.IGNORECASE),
    )
    for axis, name in (("lat", "GPSLatitude"), ("lon", "GPSLongitude"))
}
_XMP_COORD = re.compile(
    r"^([+-]?)(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?(?:,(\d+(?:\.\d+)?))?\s*([NSEW]?)$", re.I
)

_EXIF_PREFIX = re.compile(rb"^(Exif\x00\x00){1,2}")
_TIFF_HEADERS = (b"II*\x00", b"MM\x00*")


class _RedactValues(logging.Filter):
    """Replace Pillow's TIFF/EXIF debug records, which quote raw tag values (GPS, serials), with a stub."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record but drop its text and arguments."""
        record.msg = "EXIF parser message withheld (it may quote tag values)"
        record.args = ()
        return True


_tiff_logger = logging.getLogger("PIL.TiffImagePlugin")
if not any(isinstance(f, _RedactValues) for f in _tiff_logger.filters):
    _tiff_logger.addFilter(_RedactValues())


@dataclass(frozen=True, slots=True)
class MetadataResult:
    """Metadata findings plus the embedded EXIF thumbnail (JPEG bytes), if any, for the caller to scan."""

    findings: list[Finding]
    thumbnail: bytes | None


def scan_metadata(image: Image.Image) -> MetadataResult:
    """Report GPS, capture time, device owner and thumbnail metadata of ``image`` without raising."""
    with warnings.catch_warnings():
        # Pillow warns on every corrupt EXIF entry; malformed metadata is expected input here.
        warnings.simplefilter("ignore")
        return _scan(image)


def _scan(image: Image.Image) -> MetadataResult:
    ifd0, exif_ifd, gps_ifd = _read_exif(image)
    findings: list[Finding] = []
    if _has_gps_position(gps_ifd) or _xmp_has_gps_position(_xmp_text(image)):
        findings.append(_finding(FindingKind.EXIF_GPS, True, "EXIF GPS position present"))
    if any(_is_populated(d.get(t)) for d in (ifd0, exif_ifd) for t in _CAPTURE_TIME_TAGS):
        findings.append(_finding(FindingKind.EXIF_CAPTURE_TIME, False, "EXIF capture time present"))
    if any(_is_populated(d.get(t)) for d in (ifd0, exif_ifd) for t in _OWNER_TAGS):
        findings.append(
            _finding(FindingKind.EXIF_DEVICE_OWNER, False, "EXIF device owner or serial number present")
        )
    present, thumbnail = _embedded_thumbnail(image)
    if present:
        summary = (
            "EXIF thumbnail present" if thumbnail is not None else "EXIF thumbnail present (not scanned)"
        )
        findings.append(_finding(FindingKind.EXIF_THUMBNAIL, False, summary))
    return MetadataResult(findings=findings, thumbnail=thumbnail)


def _finding(kind: FindingKind, identifying: bool, summary: str) -> Finding:
    return Finding(kind=kind, detector=DETECTOR, confidence=1.0, identifying=identifying, summary=summary)


def _read_exif(image: Image.Image) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
    """IFD0, Exif IFD and GPS IFD as plain dicts; empty where missing or unreadable."""
    try:
        exif = image.getexif()
        # Pillow parses tags lazily, so a malformed entry only fails when read: materialise now.
        ifd0 = dict(exif.items())
    except Exception:  # any parser error means "no usable EXIF", never a crash
        return {}, {}, {}
    return ifd0, _safe_ifd(exif, ExifTags.IFD.Exif), _safe_ifd(exif, ExifTags.IFD.GPSInfo)


def _safe_ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag).items())
    except Exception:  # a bad sub-IFD pointer is common in the wild; treat as absent
        return {}


def _is_populated(value: object) -> bool:
    """Tell whether a text tag holds something other than blanks or NUL padding."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str):
        return bool(value.strip(" \t\r\n\x00"))
    return False


def _has_gps_position(gps: Mapping[int, Any]) -> bool:
    """Tell whether the GPS IFD places the photo somewhere.

    A clean latitude and longitude pair counts unless it is exactly 0/0 (cameras without a fix write
    that). A coordinate that is present but alone, malformed or out of range also counts: it may still
    narrow down where the photo was taken and we cannot prove it harmless, so we fail closed.
    """
    raw_latitude, raw_longitude = gps.get(_GPS_LATITUDE), gps.get(_GPS_LONGITUDE)
    latitude, longitude = _dms_to_degrees(raw_latitude), _dms_to_degrees(raw_longitude)
    if latitude is not None and longitude is not None:
        return not (latitude == 0.0 and longitude == 0.0)
    return _has_value(raw_latitude) or _has_value(raw_longitude)


def _has_value(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, bytes):
        return bool(value.strip(b"\x00 "))
    if isinstance(value, str):
        return bool(value.strip("\x00 "))
    if isinstance(value, tuple | list):
        return len(value) > 0
    return True


def _valid_position(latitude: float | None, longitude: float | None) -> bool:
    if latitude is None or longitude is None:
        return False
    if abs(latitude) > 90.0 or abs(longitude) > 180.0:
        return False
    # Cameras without a fix write 0/0/0 for both axes: that places nobody.
    return not (latitude == 0.0 and longitude == 0.0)


def _dms_to_degrees(value: object) -> float | None:
    """Degrees from an EXIF (degrees, minutes, seconds) value, or None when it does not parse."""
    # Pillow collapses one-element tuples to a scalar; accept it as plain degrees so the range check
    # (not the shape) decides.
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    total = 0.0
    for part, divisor in zip(parts, (1.0, 60.0, 3600.0), strict=False):
        number = _to_float(part)
        if number is None or number < 0.0:
            return None
        total += number / divisor
    return total


def _to_float(value: object) -> float | None:
    if isinstance(value, bool | str | bytes) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]  # IFDRational, Fraction, int and float all qualify
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    # IFDRational with a zero denominator yields NaN.
    return number if math.isfinite(number) else None


def _xmp_text(image: Image.Image) -> str:
    for key in ("xmp", "XML:com.adobe.xmp"):
        raw = image.info.get(key)
        if isinstance(raw, bytes | bytearray):
            return bytes(raw[:_MAX_XMP_CHARS]).decode("utf-8", errors="replace")
        if isinstance(raw, str):
            return raw[:_MAX_XMP_CHARS]
    return ""


def _xmp_has_gps_position(xmp: str) -> bool:
    """Tell whether the XMP packet carries a parseable latitude and longitude."""
    if not xmp or "gps" not in xmp.lower():
        return False
    return _valid_position(_xmp_coordinate(xmp, "lat"), _xmp_coordinate(xmp, "lon"))


def _xmp_coordinate(xmp: str, axis: str) -> float | None:
    for pattern in _XMP_PATTERNS[axis]:
        for match in pattern.finditer(xmp):
            text = next((group for group in match.groups() if group is not None), "")
            degrees = _parse_xmp_coordinate(text.strip())
            if degrees is not None:
                return degrees
    return None


def _parse_xmp_coordinate(text: str) -> float | None:
    """Degrees from XMP "DDD,MM,SSk", "DDD,MM.mmk" or signed decimal degrees."""
    match = _XMP_COORD.match(text)
    if match is None:
        return None
    sign, degrees, minutes, seconds, _ref = match.groups()
    total = float(degrees) + float(minutes or 0) / 60.0 + float(seconds or 0) / 3600.0
    return -total if sign == "-" else total


def _embedded_thumbnail(image: Image.Image) -> tuple[bool, bytes | None]:
    """(thumbnail present, its JPEG bytes when small enough and well-formed)."""
    raw = image.info.get("exif")
    if not isinstance(raw, bytes | bytearray):
        # TIFF keeps no EXIF blob: its second IFD is a page, which the loader samples as a frame.
        return False, None
    tiff = _EXIF_PREFIX.sub(b"", bytes(raw))
    if tiff[:4] not in _TIFF_HEADERS:
        return False, None
    try:
        exif = Image.Exif()
        exif.load(tiff)
        ifd1 = exif.get_ifd(ExifTags.IFD.IFD1)
        offset = ifd1.get(_JPEG_IF_OFFSET)
        length = ifd1.get(_JPEG_IF_LENGTH)
    except Exception:  # a broken IFD1 just means no usable thumbnail
        return False, None
    if not isinstance(offset, int) or not isinstance(length, int) or offset <= 0 or length <= 0:
        return False, None
    if length > MAX_THUMBNAIL_BYTES:
        return True, None
    # Offsets are relative to the TIFF header; a pointer past the blob is a truncated APP1 segment.
    blob = tiff[offset : offset + length]
    if len(blob) != length or not blob.startswith(b"\xff\xd8"):
        return False, None
    return True, blob
