"""Ways around the DICOM path found in review: polyglots, undecodable pixels, pixel bombs, unnamed exports.

Every DICOM is built here with the helpers of ``test_dicom``; the images come from Pillow or the shipped
portrait. Each test failed before the fix it covers.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import CTImageStorage, JPEGBaseline8Bit, JPEGLSLossless, RLELossless

import detectors.dicom as dicom_module
from detectors.base import FindingKind
from detectors.dicom import looks_like_dicom, scan_dicom
from detectors.engine import ScanEngine
from detectors.errors import CorruptImageError, ImageTooLargeError, UnsupportedImageError
from detectors.loading import LoadLimits, load_media
from tests.detectors.test_dicom import NAME, PATIENT_ID, _bytes, _dataset, _with_pixels
from tests.imagegen import astronaut_bytes, encode, wound_like_image

# --- polyglot builders -------------------------------------------------------------------------------

#: A private OB element (0029,1010), explicit VR little endian, whose value runs to the end of the file:
#: it swallows the rest of the image so that pydicom sees a well-formed, pixel-less dataset.
_SWALLOW_TAG = struct.pack("<HH", 0x0029, 0x1010) + b"OB\x00\x00"


def _dicom_body(**tags: Any) -> bytes:
    """File meta and dataset of a header-only DICOM: the bytes that follow 'DICM'."""
    return _bytes(_dataset(**tags))[132:]


def _jpeg_polyglot(jpeg: bytes, body: bytes) -> bytes:
    """A JPEG whose first APP15 segment holds 'DICM' at offset 128 and a DICOM dataset after it."""
    assert jpeg[:2] == b"\xff\xd8"
    rest = jpeg[2:]
    if len(rest) % 2:
        rest += b"\x00"  # JPEG decoders ignore bytes after EOI; DICOM wants even lengths
    payload = b"\x00" * (128 - 6) + b"DICM" + body + _SWALLOW_TAG + struct.pack("<I", len(rest))
    segment = b"\xff\xef" + struct.pack(">H", len(payload) + 2) + payload
    data = jpeg[:2] + segment + rest
    assert data[128:132] == b"DICM"
    return data


def _png_polyglot(png: bytes, body: bytes) -> bytes:
    """A PNG whose private ancillary chunk, right after IHDR, holds 'DICM' at offset 128 and a dataset."""
    head, rest = png[:33], png[33:]  # signature (8) + IHDR chunk (25)
    chunk_type = b"prVt"
    tail_length = 4 + len(rest)  # the chunk's CRC, then every later chunk
    pad = b"\x00" if tail_length % 2 else b""
    payload = b"\x00" * (128 - 41) + b"DICM" + body + _SWALLOW_TAG + struct.pack("<I", tail_length + len(pad))
    crc = struct.pack(">I", zlib.crc32(chunk_type + payload))
    data = head + struct.pack(">I", len(payload)) + chunk_type + payload + crc + rest + pad
    assert data[128:132] == b"DICM"
    return data


def _small_jpeg() -> bytes:
    return encode(wound_like_image().resize((64, 48)), "JPEG")


def _small_png() -> bytes:
    return encode(wound_like_image().resize((64, 48)), "PNG")


# --- 1. polyglots ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "image", "fmt"),
    [
        pytest.param(_jpeg_polyglot, _small_jpeg, "JPEG", id="jpeg"),
        pytest.param(_png_polyglot, _small_png, "PNG", id="png"),
    ],
)
def test_polyglot_is_scanned_as_dicom_and_as_the_image_it_also_is(build: Any, image: Any, fmt: str) -> None:
    data = build(image(), _dicom_body(PatientID=PATIENT_ID))
    # The construction really is both: pydicom reads a clean header-only dataset, Pillow a picture.
    findings, frames, total = scan_dicom(data, max_frames=4)
    assert ([f.summary for f in findings], frames, total) == (["DICOM PatientID present"], [], 0)
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.format == fmt
        assert opened.size == (64, 48)

    media = load_media(data, name_hint="report.dcm")
    assert [f.summary for f in media.findings] == ["DICOM PatientID present"]
    assert len(media.frames) == 1
    assert media.frames[0].pixels.shape == (48, 64, 3)
    assert "DICOM" in media.format
    assert fmt in media.format


def test_polyglot_whose_image_part_is_broken_fails_closed_with_the_header_findings() -> None:
    jpeg = _small_jpeg()
    data = _jpeg_polyglot(jpeg[: len(jpeg) // 3], _dicom_body(PatientID=PATIENT_ID))
    report = ScanEngine([]).scan(data)
    assert report.identifying
    assert report.error_type == "CorruptImageError"
    assert report.count(FindingKind.DICOM_PATIENT_TAG) == 1


def test_face_jpeg_with_a_clean_dicom_header_is_caught_by_the_real_engine(engine: ScanEngine) -> None:
    data = _jpeg_polyglot(astronaut_bytes(), _dicom_body(PatientName="Anonymized", StudyDate="20240101"))
    assert scan_dicom(data, max_frames=4) == ([], [], 0)  # what the DICOM path alone saw: nothing
    report = engine.scan(data, name_hint="IM0001")
    assert report.error is None
    assert report.identifying
    assert "face" in report.kinds


# --- 2. undecodable pixels ---------------------------------------------------------------------------


def _compressed(syntax: str, fragments: list[bytes], **tags: Any) -> bytes:
    ds = _dataset(**tags)
    ds.file_meta.TransferSyntaxUID = syntax
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = encapsulate(fragments)
    ds["PixelData"].VR = "OB"
    return _bytes(ds)


def _assert_no_values(message: str) -> None:
    for value in ("Dupont", "Marie", PATIENT_ID, "7734501", "1.2.840"):
        assert value not in message


def test_missing_decoder_is_unsupported_and_keeps_the_header_findings() -> None:
    data = _compressed(JPEGLSLossless, [b"\xff\xd8not-a-real-jpeg-ls-stream\xff\xd9"], PatientID=PATIENT_ID)
    with pytest.raises(UnsupportedImageError) as caught:
        scan_dicom(data, max_frames=4)
    _assert_no_values(str(caught.value))
    assert caught.value.__cause__ is None

    report = ScanEngine([]).scan(data, name_hint="ct.dcm")
    assert report.identifying
    assert report.error is not None
    assert report.error_type == "UnsupportedImageError"
    assert report.to_json("ct.dcm")["dicom_phi"] is True
    assert report.kinds == ["dicom_patient_tag"]
    _assert_no_values(report.error)


@pytest.mark.parametrize(
    ("syntax", "fragment"),
    [
        pytest.param(
            JPEGBaseline8Bit, b"\xff\xd8\xff\xdb garbage where a baseline JPEG should be", id="jpeg"
        ),
        pytest.param(RLELossless, b"\x01\x02\x03", id="rle"),
    ],
)
def test_corrupt_fragments_with_an_available_decoder_are_corrupt(syntax: str, fragment: bytes) -> None:
    data = _compressed(syntax, [fragment], PatientName=NAME)
    with pytest.raises(CorruptImageError) as caught:
        scan_dicom(data, max_frames=4)
    _assert_no_values(str(caught.value))
    report = ScanEngine([]).scan(data)
    assert report.error_type == "CorruptImageError"
    assert report.kinds == ["dicom_patient_tag"]


def test_memory_error_while_decoding_compressed_pixels_is_corrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(dicom_module, "pixel_array", exhausted)
    data = _compressed(RLELossless, [b"\x00" * 64])
    with pytest.raises(CorruptImageError):
        scan_dicom(data, max_frames=4)


def test_image_that_decodes_to_no_pixels_is_corrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    # A decoder that "succeeds" with nothing must not turn an image into a clean header-only file.
    monkeypatch.setattr(dicom_module, "pixel_array", lambda *_a, **_k: np.zeros((0, 8), dtype=np.uint8))
    data = _compressed(RLELossless, [b"\x00" * 64], PatientID=PATIENT_ID)
    with pytest.raises(CorruptImageError) as caught:
        scan_dicom(data, max_frames=4)
    assert [f.summary for f in dicom_module.carried_findings(caught.value)] == ["DICOM PatientID present"]


def test_header_only_files_stay_clean_without_error() -> None:
    sr = _bytes(_dataset("1.2.840.10008.5.1.4.1.1.88.11", PatientName="Test^S R"))
    report = ScanEngine([]).scan(sr)
    assert report.error is None
    assert report.kinds == ["dicom_patient_tag"]
    assert ScanEngine([]).scan(_bytes(_dataset(PatientName="Anonymized"))).identifying is False


# --- 3. pixel limit ----------------------------------------------------------------------------------


def _refuse_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("pixels decoded although the header is over the limit")

    monkeypatch.setattr(dicom_module, "pixel_array", never)


def test_frame_over_the_pixel_limit_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = np.zeros((100, 120), dtype=np.uint8)
    data = _bytes(_with_pixels(_dataset(PatientID=PATIENT_ID), raw, "MONOCHROME2", 8))
    assert len(load_media(data, limits=LoadLimits(max_pixels=12_000)).frames) == 1
    _refuse_decoding(monkeypatch)
    with pytest.raises(ImageTooLargeError) as caught:
        load_media(data, limits=LoadLimits(max_pixels=11_999))
    _assert_no_values(str(caught.value))
    report = ScanEngine([], limits=LoadLimits(max_pixels=11_999)).scan(data)
    assert report.error_type == "ImageTooLargeError"
    assert report.kinds == ["dicom_patient_tag"]


def test_header_claiming_a_huge_frame_is_refused_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = _dataset()
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 65535
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.PixelData = encapsulate([b"\x00" * 64])
    ds["PixelData"].VR = "OB"
    _refuse_decoding(monkeypatch)
    with pytest.raises(ImageTooLargeError):
        load_media(_bytes(ds))


def test_sampled_frames_count_against_the_pixel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = np.zeros((10, 50, 50), dtype=np.uint8)
    data = _bytes(_with_pixels(_dataset(), raw, "MONOCHROME2", 8))
    media = load_media(data, limits=LoadLimits(max_pixels=10_000, max_frames=4))
    assert len(media.frames) == 4
    _refuse_decoding(monkeypatch)
    with pytest.raises(ImageTooLargeError):
        load_media(data, limits=LoadLimits(max_pixels=9_999, max_frames=4))


def test_huge_number_of_frames_only_decodes_the_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = np.zeros((4, 16, 16), dtype=np.uint8)
    ds = _with_pixels(_dataset(), raw, "MONOCHROME2", 8)
    ds.NumberOfFrames = 2_000_000_000
    calls: list[int] = []

    def one_frame(_ds: object, *, index: int, **_kwargs: object) -> np.ndarray:
        calls.append(index)
        return np.zeros((16, 16), dtype=np.uint8)

    monkeypatch.setattr(dicom_module, "pixel_array", one_frame)
    media = load_media(_bytes(ds), limits=LoadLimits(max_frames=4))
    assert media.frame_count == 2_000_000_000
    assert len(calls) == len(media.frames) == 4
    assert calls[0] == 0


# --- 4. recognised from the bytes, whatever the name -------------------------------------------------


@pytest.mark.parametrize("name", ["IM0001", "scan.bin", "photo.jpg", ""])
def test_dicom_with_preamble_is_recognised_whatever_the_name(name: str) -> None:
    data = _bytes(_dataset(PatientID=PATIENT_ID))
    media = load_media(data, name_hint=name)
    assert media.format == "DICOM"
    assert [f.summary for f in media.findings] == ["DICOM PatientID present"]


def _raw_explicit(ds: Any) -> bytes:
    del ds.file_meta
    buffer = io.BytesIO()
    ds.save_as(buffer, implicit_vr=False, little_endian=True)
    return buffer.getvalue()


def _meta_without_preamble(ds: Any) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "encode_raw",
    [
        pytest.param(lambda ds: _bytes(ds, raw_dataset=True), id="implicit-vr"),
        pytest.param(_raw_explicit, id="explicit-vr"),
        pytest.param(_meta_without_preamble, id="file-meta-without-preamble"),
    ],
)
@pytest.mark.parametrize("name", ["IM0001", "scan.bin", ""])
def test_dicom_without_preamble_is_recognised_from_its_first_tag(encode_raw: Any, name: str) -> None:
    raw = np.full((6, 8), 9, dtype=np.uint16)
    ds = _with_pixels(
        _dataset(CTImageStorage, PatientName=NAME, StudyDate="20240101"), raw, "MONOCHROME2", 12
    )
    data = encode_raw(ds)
    assert data[128:132] != b"DICM"
    assert data[:2] in (b"\x08\x00", b"\x02\x00")
    assert looks_like_dicom(data, name)
    media = load_media(data, name_hint=name)
    assert media.format == "DICOM"
    assert [f.summary for f in media.findings] == ["DICOM PatientName present"]
    assert media.frames[0].pixels.shape == (6, 8, 3)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"hello world, not a dataset at all" * 4, id="text"),
        pytest.param(bytes(range(256)) * 4, id="binary"),
        pytest.param(b"\x00" * 512, id="zeros"),
    ],
)
def test_pydicom_is_never_forced_on_bytes_without_a_leading_dicom_tag(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    def forbidden(*args: object, **_kwargs: object) -> None:
        calls.append(args)  # recorded, not raised: the caller swallows parse errors
        raise AssertionError("pydicom was asked to parse arbitrary bytes")

    monkeypatch.setattr(dicom_module, "dcmread", forbidden)
    assert not looks_like_dicom(data, "scan.dcm")
    with pytest.raises(UnsupportedImageError):
        load_media(data, name_hint="IM0001.dcm")
    assert calls == []


def test_leading_dicom_like_tag_followed_by_garbage_is_not_dicom() -> None:
    data = b"\x08\x00\x05\x00" + bytes(range(256)) * 2
    assert not looks_like_dicom(data, "IM0001")
    with pytest.raises(UnsupportedImageError):
        load_media(data, name_hint="IM0001")


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")  # Pillow, on the bare TIFF header
def test_dicom_tiff_dual_personality_files_are_scanned_as_dicom_not_refused() -> None:
    # pydicom's CT_small.dcm (shipped in its wheel) starts with a bare TIFF header that no viewer renders;
    # the pixels are the DICOM's. Refusing it made every such CT a "corrupt image" (a bench regression).
    from pydicom.data import get_testdata_file

    data = Path(str(get_testdata_file("CT_small.dcm"))).read_bytes()
    assert data[:4] == b"II*\x00"
    report = ScanEngine([]).scan(data, name_hint="IM0001")
    assert report.error is None
    assert report.frames >= 1
    assert report.count(FindingKind.DICOM_PATIENT_TAG) >= 1
