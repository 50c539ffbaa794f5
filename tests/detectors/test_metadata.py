"""Tests for detectors.metadata: every input is built here, nothing is read from disk."""

from __future__ import annotations

import io
import logging
import struct
import warnings

import pytest
from PIL import Image, PngImagePlugin
from PIL.TiffImagePlugin import IFDRational

from detectors.base import FindingKind
from detectors.metadata import MAX_THUMBNAIL_BYTES, MetadataResult, scan_metadata

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
LATITUDE = (IFDRational(48, 1), IFDRational(51, 1), IFDRational(2442, 100))
LONGITUDE = (IFDRational(2, 1), IFDRational(21, 1), IFDRational(795, 100))
SERIAL = "SN8675309XYZ"
OWNER = "Dr Jane Roe"
TIMESTAMP = "2024:03:15 10:42:17"


def _exif(gps: dict[int, object] | None = None) -> Image.Exif:
    exif = Image.Exif()
    # PNG drops an eXIf chunk whose IFD0 is empty, so always carry one harmless tag.
    exif[0x0110] = "Test Camera"
    if gps is not None:
        gps_ifd = exif.get_ifd(GPS_IFD)
        gps_ifd.update(gps)
    return exif


def _full_gps() -> dict[int, object]:
    return {1: "N", 2: LATITUDE, 3: "E", 4: LONGITUDE}


def _save(fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (120, 80, 60)).save(buf, fmt, **params)
    return buf.getvalue()


def _scan(data: bytes) -> MetadataResult:
    with warnings.catch_warnings():
        # Pillow's JPEG opener already parses EXIF (for the DPI) and warns on the corrupt samples.
        warnings.simplefilter("ignore")
        image = Image.open(io.BytesIO(data))
    with image:
        return scan_metadata(image)


def _kinds(result: MetadataResult) -> set[FindingKind]:
    return {f.kind for f in result.findings}


def _tiff_with_thumbnail(thumb: bytes, *, declared_length: int | None = None) -> bytes:
    """Little-endian TIFF block: IFD0 (Orientation) chained to IFD1 pointing at a JPEG thumbnail."""
    ifd0_offset, ifd1_offset = 8, 8 + 2 + 12 + 4
    thumb_offset = ifd1_offset + 2 + 3 * 12 + 4
    header = b"II*\x00" + struct.pack("<I", ifd0_offset)
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, 1, 0) + struct.pack("<I", ifd1_offset)
    ifd1 = (
        struct.pack("<H", 3)
        + struct.pack("<HHIHH", 0x0103, 3, 1, 6, 0)
        + struct.pack("<HHII", 0x0201, 4, 1, thumb_offset)
        + struct.pack("<HHII", 0x0202, 4, 1, declared_length if declared_length is not None else len(thumb))
        + struct.pack("<I", 0)
    )
    return header + ifd0 + ifd1 + thumb


def _thumbnail_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


# --- GPS -------------------------------------------------------------------------------------------


def test_jpeg_with_full_gps_ifd_is_identifying_gps() -> None:
    result = _scan(_save("JPEG", exif=_exif(_full_gps())))
    gps = [f for f in result.findings if f.kind is FindingKind.EXIF_GPS]
    assert len(gps) == 1
    assert gps[0].identifying is True
    assert gps[0].detector == "metadata"


def test_webp_with_gps_is_reported() -> None:
    assert FindingKind.EXIF_GPS in _kinds(_scan(_save("WEBP", exif=_exif(_full_gps()))))


def test_heif_with_gps_and_thumbnail() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    assert FindingKind.EXIF_GPS in _kinds(_scan(_save("HEIF", exif=_exif(_full_gps()).tobytes())))
    thumb = _thumbnail_jpeg()
    result = _scan(_save("HEIF", exif=b"Exif\x00\x00" + _tiff_with_thumbnail(thumb)))
    assert result.thumbnail == thumb


def test_jpeg_with_exif_but_no_gps_has_no_gps_finding() -> None:
    assert FindingKind.EXIF_GPS not in _kinds(_scan(_save("JPEG", exif=_exif())))


def test_jpeg_without_any_metadata_has_no_findings() -> None:
    result = _scan(_save("JPEG"))
    assert result.findings == []
    assert result.thumbnail is None


@pytest.mark.parametrize(
    "gps",
    [
        pytest.param({}, id="empty-ifd"),
        pytest.param({0: b"\x02\x02\x00\x00", 18: "WGS-84"}, id="version-and-datum-only"),
        pytest.param(
            {2: (IFDRational(0, 1),) * 3, 4: (IFDRational(0, 1),) * 3},
            id="zero-zero-no-fix",
        ),
    ],
)
def test_gps_ifd_without_coordinates_is_not_gps(gps: dict[int, object]) -> None:
    assert FindingKind.EXIF_GPS not in _kinds(_scan(_save("JPEG", exif=_exif(gps))))


@pytest.mark.parametrize(
    "gps",
    [
        pytest.param({1: "N", 2: LATITUDE}, id="latitude-only"),
        pytest.param({3: "E", 4: LONGITUDE}, id="longitude-only"),
        pytest.param({2: IFDRational(4294967295, 1)}, id="latitude-only-bogus-scalar"),
        pytest.param(
            {2: (IFDRational(48, 0), IFDRational(51, 1), IFDRational(0, 1)), 4: LONGITUDE},
            id="zero-denominator",
        ),
        pytest.param(
            {2: (IFDRational(95, 1), IFDRational(0, 1), IFDRational(0, 1)), 4: LONGITUDE},
            id="latitude-out-of-range",
        ),
    ],
)
def test_partial_or_malformed_coordinates_fail_closed_as_gps(gps: dict[int, object]) -> None:
    # A coordinate that is present but unusable may still narrow down a place: we cannot prove it
    # harmless, so it counts as a position.
    assert FindingKind.EXIF_GPS in _kinds(_scan(_save("JPEG", exif=_exif(gps))))


def test_png_with_gps_in_exif_chunk() -> None:
    assert FindingKind.EXIF_GPS in _kinds(_scan(_save("PNG", exif=_exif(_full_gps()))))


def _xmp_packet(body: str) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" {body}</rdf:Description>'
        "</rdf:RDF></x:xmpmeta>"
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('exif:GPSLatitude="48,51.407N" exif:GPSLongitude="2,21.1325E">', id="attributes"),
        pytest.param(
            "><exif:GPSLatitude>48,51,24.42N</exif:GPSLatitude><exif:GPSLongitude>2,21,7.95E</exif:GPSLongitude>",
            id="elements",
        ),
    ],
)
def test_png_with_gps_in_xmp(body: str) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", _xmp_packet(body))
    result = _scan(_save("PNG", pnginfo=info))
    assert FindingKind.EXIF_GPS in _kinds(result)
    assert all("48" not in f.summary and "21" not in f.summary for f in result.findings)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('exif:GPSLatitude="48,51.407N">', id="latitude-only"),
        pytest.param('exif:GPSLatitude="garbage" exif:GPSLongitude="2,21.1325E">', id="unparseable"),
        pytest.param('exif:GPSLatitude="148,0N" exif:GPSLongitude="2,21.1325E">', id="out-of-range"),
        pytest.param('exif:GPSVersionID="2.2.0.0">', id="version-only"),
    ],
)
def test_xmp_without_a_real_position_is_not_gps(body: str) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", _xmp_packet(body))
    assert FindingKind.EXIF_GPS not in _kinds(_scan(_save("PNG", pnginfo=info)))


def test_jpeg_with_gps_in_xmp_only() -> None:
    xmp = _xmp_packet('exif:GPSLatitude="48,51.407N" exif:GPSLongitude="2,21.1325E">').encode()
    assert FindingKind.EXIF_GPS in _kinds(_scan(_save("JPEG", xmp=xmp)))


def test_gps_written_as_text_instead_of_rationals_fails_closed() -> None:
    # Pillow cannot write this, so build the TIFF block by hand: IFD0 -> GPS IFD with ASCII lat/long.
    gps_offset = 8 + 2 + 12 + 4
    tiff = (
        b"II*\x00"
        + struct.pack("<I", 8)
        + struct.pack("<H", 1)
        + struct.pack("<HHII", GPS_IFD, 4, 1, gps_offset)
        + struct.pack("<I", 0)
        + struct.pack("<H", 2)
        + struct.pack("<HHI", 2, 2, 3)
        + b"48\x00\x00"
        + struct.pack("<HHI", 4, 2, 2)
        + b"2\x00\x00\x00"
        + struct.pack("<I", 0)
    )
    assert FindingKind.EXIF_GPS in _kinds(_scan(_save("JPEG", exif=b"Exif\x00\x00" + tiff)))


# --- capture time, owner -----------------------------------------------------------------------------


def test_capture_time_and_serial_are_reported_as_not_identifying() -> None:
    exif = _exif()
    exif[0x0132] = TIMESTAMP
    exif.get_ifd(EXIF_IFD)[0xA431] = SERIAL
    result = _scan(_save("JPEG", exif=exif))
    by_kind = {f.kind: f for f in result.findings}
    assert set(by_kind) == {FindingKind.EXIF_CAPTURE_TIME, FindingKind.EXIF_DEVICE_OWNER}
    assert not any(f.identifying for f in result.findings)


@pytest.mark.parametrize(
    ("ifd", "tag"),
    [(None, 0x013B), (None, 0x8298), (EXIF_IFD, 0xA430), (EXIF_IFD, 0xA431)],
    ids=["artist", "copyright", "camera-owner", "body-serial"],
)
def test_each_owner_tag_is_reported(ifd: int | None, tag: int) -> None:
    exif = _exif()
    (exif if ifd is None else exif.get_ifd(ifd))[tag] = OWNER
    assert FindingKind.EXIF_DEVICE_OWNER in _kinds(_scan(_save("JPEG", exif=exif)))


def test_blank_owner_tags_are_not_reported() -> None:
    exif = _exif()
    exif[0x013B] = "   "
    exif[0x8298] = ""
    assert FindingKind.EXIF_DEVICE_OWNER not in _kinds(_scan(_save("JPEG", exif=exif)))


def test_date_time_original_in_exif_ifd_is_capture_time() -> None:
    exif = _exif()
    exif.get_ifd(EXIF_IFD)[0x9003] = TIMESTAMP
    result = _scan(_save("JPEG", exif=exif))
    assert FindingKind.EXIF_CAPTURE_TIME in _kinds(result)


def test_summaries_never_carry_values() -> None:
    exif = _exif(_full_gps())
    exif[0x0132] = TIMESTAMP
    exif[0x013B] = OWNER
    exif.get_ifd(EXIF_IFD)[0xA431] = SERIAL
    result = _scan(_save("JPEG", exif=exif))
    assert _kinds(result) >= {
        FindingKind.EXIF_GPS,
        FindingKind.EXIF_CAPTURE_TIME,
        FindingKind.EXIF_DEVICE_OWNER,
    }
    forbidden = ["48", "51", "24.42", "2.0", "21", "7.95", SERIAL, OWNER, "2024", "10:42", "Roe"]
    for finding in result.findings:
        for value in forbidden:
            assert value not in finding.summary


# --- thumbnail ---------------------------------------------------------------------------------------


def test_embedded_thumbnail_is_returned_and_decodable() -> None:
    thumb = _thumbnail_jpeg()
    result = _scan(_save("JPEG", exif=b"Exif\x00\x00" + _tiff_with_thumbnail(thumb)))
    assert result.thumbnail == thumb
    thumbs = [f for f in result.findings if f.kind is FindingKind.EXIF_THUMBNAIL]
    assert len(thumbs) == 1
    assert thumbs[0].identifying is False
    with Image.open(io.BytesIO(result.thumbnail)) as decoded:
        decoded.load()
        assert decoded.size == (16, 12)


def test_thumbnail_pointer_past_the_data_is_ignored() -> None:
    thumb = _thumbnail_jpeg()
    exif = b"Exif\x00\x00" + _tiff_with_thumbnail(thumb, declared_length=len(thumb) + 500)
    result = _scan(_save("JPEG", exif=exif))
    assert result.thumbnail is None
    assert FindingKind.EXIF_THUMBNAIL not in _kinds(result)


def test_thumbnail_that_is_not_jpeg_is_ignored() -> None:
    result = _scan(_save("JPEG", exif=b"Exif\x00\x00" + _tiff_with_thumbnail(b"\x00" * 64)))
    assert result.thumbnail is None
    assert FindingKind.EXIF_THUMBNAIL not in _kinds(result)


def test_oversized_thumbnail_is_reported_but_not_returned() -> None:
    # JPEG's APP1 cannot hold this much, PNG's eXIf chunk can.
    thumb = b"\xff\xd8" + b"\x00" * (MAX_THUMBNAIL_BYTES + 10)
    result = _scan(_save("PNG", exif=b"Exif\x00\x00" + _tiff_with_thumbnail(thumb)))
    assert result.thumbnail is None
    assert FindingKind.EXIF_THUMBNAIL in _kinds(result)


# --- robustness --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"Exif\x00\x00II*\x00\xff\xff\xff\x7f", id="ifd0-pointer-past-end"),
        pytest.param(b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff", id="entry-count-past-end"),
        pytest.param(b"Exif\x00\x00garbage-garbage", id="no-tiff-header"),
        pytest.param(
            b"Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x25\x88\x04\x00\x01\x00\x00\x00\xf0\xff\x00\x00"
            b"\x00\x00\x00\x00",
            id="gps-pointer-past-end",
        ),
    ],
)
def test_malformed_exif_never_raises(raw: bytes) -> None:
    result = _scan(_save("JPEG", exif=raw))
    assert FindingKind.EXIF_GPS not in _kinds(result)
    assert result.thumbnail is None


def test_debug_logs_of_the_exif_parser_carry_no_values(caplog: pytest.LogCaptureFixture) -> None:
    exif = _exif(_full_gps())
    exif.get_ifd(EXIF_IFD)[0xA431] = SERIAL
    data = _save("JPEG", exif=exif)
    with caplog.at_level(logging.DEBUG, logger="PIL"):
        _scan(data)
    assert SERIAL not in caplog.text
    assert "2442" not in caplog.text
