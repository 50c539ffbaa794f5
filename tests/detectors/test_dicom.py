"""Tests for detectors.dicom: every dataset is built here with pydicom, nothing is read from disk."""

from __future__ import annotations

import io
import logging
import warnings
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels.utils import set_pixel_data
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    JPEGLSLossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from detectors.base import FindingKind
from detectors.dicom import carried_findings, looks_like_dicom, scan_dicom
from detectors.errors import CorruptImageError, UnsupportedImageError

NAME = "Dupont^Marie^Claire"
PATIENT_ID = "IPP-7734501"
BIRTH_DATE = "19580214"


def _dataset(sop_class: str | UID = SecondaryCaptureImageStorage, **tags: Any) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    with warnings.catch_warnings():
        # pydicom validates on assignment and warns about the deliberately odd values used here.
        warnings.simplefilter("ignore")
        for keyword, value in tags.items():
            setattr(ds, keyword, value)
    return ds


def _with_pixels(ds: Dataset, arr: np.ndarray, photometric: str, bits: int) -> Dataset:
    set_pixel_data(ds, arr, photometric, bits, generate_instance_uid=False)
    return ds


def _bytes(ds: Dataset, *, raw_dataset: bool = False) -> bytes:
    """File bytes; ``raw_dataset`` writes a bare implicit-VR dataset with no preamble and no file meta."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # Writing deliberately odd values (placeholders, garbage) may make pydicom warn; not under test.
        warnings.simplefilter("ignore")
        if raw_dataset:
            del ds.file_meta
            ds.save_as(buf, implicit_vr=True, little_endian=True)
        else:
            ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    return buf.getvalue()


def _summaries(data: bytes) -> list[str]:
    findings, _frames, _total = scan_dicom(data, max_frames=4)
    assert all(f.kind is FindingKind.DICOM_PATIENT_TAG and f.identifying for f in findings)
    return [f.summary for f in findings]


# --- header ------------------------------------------------------------------------------------------


def test_real_patient_tags_give_one_finding_each_without_values() -> None:
    ds = _dataset(PatientName=NAME, PatientID=PATIENT_ID, PatientBirthDate=BIRTH_DATE)
    summaries = _summaries(_bytes(ds))
    assert sorted(summaries) == [
        "DICOM PatientBirthDate present",
        "DICOM PatientID present",
        "DICOM PatientName present",
    ]
    for summary in summaries:
        for value in ("Dupont", "Marie", PATIENT_ID, "7734501", BIRTH_DATE, "1958"):
            assert value not in summary


def test_finding_fields() -> None:
    findings, _frames, _total = scan_dicom(_bytes(_dataset(PatientID=PATIENT_ID)), max_frames=4)
    assert len(findings) == 1
    assert findings[0].detector == "dicom"
    assert findings[0].confidence == 1.0
    assert findings[0].box is None


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("PatientName", ""),
        ("PatientName", "^^^^"),
        ("PatientName", "Anonymized"),
        ("PatientName", "ANONYMOUS"),
        ("PatientName", "Anonymous^"),
        ("PatientName", "anon"),
        ("PatientName", "REMOVED"),
        ("PatientName", "XXXX"),
        ("PatientName", "*"),
        ("PatientID", "NONE"),
        ("PatientID", "N/A"),
        ("PatientID", "Unknown"),
        ("PatientID", "0"),
        ("PatientID", "000-000"),
        ("PatientID", "   "),
        ("PatientBirthDate", "00000000"),
        ("PatientBirthDate", ""),
        ("PatientAddress", "--"),
        ("OtherPatientIDs", ["", "XXXX"]),
    ],
)
def test_placeholders_are_not_phi(keyword: str, value: Any) -> None:
    assert _summaries(_bytes(_dataset(**{keyword: value}))) == []


def test_all_placeholders_together_give_no_findings() -> None:
    ds = _dataset(PatientName="^^^^", PatientID="", PatientBirthDate="", OtherPatientIDs="Anonymized")
    assert _summaries(_bytes(ds)) == []


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("PatientName", "Test^S R"),
        ("PatientName", "Last Name^First Name"),
        ("PatientName", "JXD191021006"),
        ("PatientName", "OB^^^^"),
        ("PatientID", "16d7f894-55d7-4d95-8957-d18987f0e981"),
        ("PatientID", "id00001"),
        ("PatientBirthDate", "11111111"),
        ("PatientAddress", "12 rue des Lilas^^75011^Paris"),
        ("PatientTelephoneNumbers", "+33 1 23 45 67 89"),
        ("OtherPatientNames", "Durand^Marie"),
        ("OtherPatientIDs", ["", "A-991"]),
        ("PatientMotherBirthName", "Martin"),
    ],
)
def test_populated_values_count_even_when_they_look_synthetic(keyword: str, value: Any) -> None:
    assert _summaries(_bytes(_dataset(**{keyword: value}))) == [f"DICOM {keyword} present"]


def test_anonymous_name_with_real_id_still_counts_via_the_id() -> None:
    ds = _dataset(PatientName="Anonymous", PatientID="642341", PatientBirthDate="19710123")
    assert sorted(_summaries(_bytes(ds))) == ["DICOM PatientBirthDate present", "DICOM PatientID present"]


def test_other_patient_ids_sequence() -> None:
    item = Dataset()
    item.PatientID = "ABCD1234"
    item.TypeOfPatientID = "TEXT"
    assert _summaries(_bytes(_dataset(OtherPatientIDsSequence=Sequence([item])))) == [
        "DICOM OtherPatientIDsSequence present"
    ]
    empty = Dataset()
    empty.PatientID = ""
    assert _summaries(_bytes(_dataset(OtherPatientIDsSequence=Sequence([empty])))) == []


def test_institution_and_physician_are_not_patient_tags() -> None:
    ds = _dataset(InstitutionName="CHU Exemple", ReferringPhysicianName="House^Gregory")
    assert _summaries(_bytes(ds)) == []


# --- pixels ------------------------------------------------------------------------------------------


def test_16_bit_monochrome2_with_rescale_gives_one_frame_in_modality_units() -> None:
    raw = np.arange(24 * 32, dtype=np.uint16).reshape(24, 32)
    ds = _with_pixels(_dataset(CTImageStorage, PatientID=PATIENT_ID), raw, "MONOCHROME2", 12)
    ds.RescaleSlope = 2
    ds.RescaleIntercept = -1024
    findings, frames, total = scan_dicom(_bytes(ds), max_frames=4)
    assert total == 1
    assert len(findings) == 1
    assert len(frames) == 1
    index, arr = frames[0]
    assert index == 0
    assert arr.shape == (24, 32)
    assert float(arr.min()) == -1024.0
    assert float(arr.max()) == 2 * (24 * 32 - 1) - 1024.0


def test_windowing_is_applied() -> None:
    raw = np.linspace(0, 4000, 16 * 16).astype(np.uint16).reshape(16, 16)
    ds = _with_pixels(_dataset(), raw, "MONOCHROME2", 12)
    ds.WindowCenter = 1000
    ds.WindowWidth = 200
    _findings, frames, _total = scan_dicom(_bytes(ds), max_frames=4)
    arr = frames[0][1]
    # Everything outside [900, 1100] is clipped to the output range ends.
    assert np.count_nonzero(arr == arr.min()) > 50
    assert np.count_nonzero(arr == arr.max()) > 50


def test_monochrome1_is_inverted() -> None:
    raw = np.zeros((8, 8), dtype=np.uint8)
    raw[0, 0] = 200
    ds = _with_pixels(_dataset(), raw, "MONOCHROME1", 8)
    _findings, frames, _total = scan_dicom(_bytes(ds), max_frames=4)
    arr = frames[0][1]
    assert arr[0, 0] < arr[4, 4]


def test_one_bit_mask_is_stretched_by_the_caller() -> None:
    raw = np.zeros((8, 8), dtype=np.uint8)
    raw[2:6, 2:6] = 1
    ds = _with_pixels(_dataset(), raw, "MONOCHROME2", 1)
    _findings, frames, _total = scan_dicom(_bytes(ds), max_frames=4)
    arr = frames[0][1]
    # uint8 would be passed through as 0/1 (black); any other dtype is min-max scaled by the loader.
    assert arr.dtype != np.uint8
    assert arr.shape == (8, 8)


def test_multi_frame_is_sampled_evenly_starting_at_zero() -> None:
    raw = np.stack([np.full((6, 5), i, dtype=np.uint16) for i in range(10)])
    ds = _with_pixels(_dataset(), raw, "MONOCHROME2", 16)
    _findings, frames, total = scan_dicom(_bytes(ds), max_frames=4)
    assert total == 10
    assert len(frames) == 4
    indices = [i for i, _ in frames]
    assert indices[0] == 0
    assert indices == sorted(set(indices))
    for index, arr in frames:
        assert arr.shape == (6, 5)
        assert np.all(arr == index)  # each sampled frame really is that frame


def test_multi_frame_with_fewer_frames_than_the_limit_returns_all() -> None:
    raw = np.stack([np.full((4, 4), i, dtype=np.uint8) for i in range(3)])
    ds = _with_pixels(_dataset(), raw, "MONOCHROME2", 8)
    _findings, frames, total = scan_dicom(_bytes(ds), max_frames=4)
    assert (total, [i for i, _ in frames]) == (3, [0, 1, 2])


def test_rgb_frame() -> None:
    raw = np.zeros((10, 12, 3), dtype=np.uint8)
    raw[..., 0] = 255
    ds = _with_pixels(_dataset(), raw, "RGB", 8)
    _findings, frames, _total = scan_dicom(_bytes(ds), max_frames=4)
    arr = frames[0][1]
    assert arr.shape == (10, 12, 3)
    assert tuple(arr[0, 0]) == (255, 0, 0)


def test_ybr_full_is_converted_to_rgb() -> None:
    # Pure red in full-range YCbCr (ITU-R BT.601).
    raw = np.zeros((4, 4, 3), dtype=np.uint8)
    raw[...] = (76, 85, 255)
    ds = _with_pixels(_dataset(), raw, "YBR_FULL", 8)
    _findings, frames, _total = scan_dicom(_bytes(ds), max_frames=4)
    red, green, blue = (int(v) for v in frames[0][1][0, 0])
    assert red > 240
    assert green < 15
    assert blue < 15


def test_palette_color_is_expanded_to_rgb() -> None:
    raw = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    ds = _dataset()
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "PALETTE COLOR"
    ds.Rows, ds.Columns = raw.shape
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = raw.tobytes()
    lut_red = np.zeros(256, dtype=np.uint16)
    lut_red[1] = 0xFFFF
    lut_zero = np.zeros(256, dtype=np.uint16)
    for colour, lut in (("Red", lut_red), ("Green", lut_zero), ("Blue", lut_zero)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut.tobytes())
    _findings, frames, _total = scan_dicom(_bytes(ds), max_frames=4)
    arr = frames[0][1]
    assert arr.shape == (2, 2, 3)
    assert arr[0, 1, 0] > arr[0, 0, 0]


def test_overlay_is_burned_into_single_frame() -> None:
    raw = np.zeros((8, 8), dtype=np.uint16)
    raw[0, 0] = 100
    ds = _with_pixels(_dataset(), raw, "MONOCHROME2", 12)
    overlay = np.zeros((8, 8), dtype=np.uint8)
    overlay[4, 2:6] = 1
    ds.add_new(0x60000010, "US", 8)
    ds.add_new(0x60000011, "US", 8)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60003000, "OW", np.packbits(overlay.ravel(), bitorder="little").tobytes())
    _findings, frames, _total = scan_dicom(_bytes(ds), max_frames=4)
    arr = frames[0][1]
    assert np.all(arr[4, 2:6] == arr.max())
    assert arr[3, 3] == 0


def test_file_without_pixel_data_has_header_findings_and_no_frames() -> None:
    ds = _dataset("1.2.840.10008.5.1.4.1.1.88.11", PatientName="Test^S R")  # Basic Text SR
    findings, frames, total = scan_dicom(_bytes(ds), max_frames=4)
    assert [f.summary for f in findings] == ["DICOM PatientName present"]
    assert frames == []
    assert total == 0


def test_unsupported_codec_raises_and_carries_the_header_findings() -> None:
    ds = _dataset(PatientID=PATIENT_ID)
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = encapsulate([b"\xff\xd8not-a-real-jpeg-ls-stream\xff\xd9"])
    ds["PixelData"].VR = "OB"
    # Pixels nobody can see are not clean pixels: the scan fails closed, and still lists the tag.
    with pytest.raises(UnsupportedImageError) as caught:
        scan_dicom(_bytes(ds), max_frames=4)
    assert [f.summary for f in carried_findings(caught.value)] == ["DICOM PatientID present"]
    assert PATIENT_ID not in str(caught.value)


# --- corrupt input -----------------------------------------------------------------------------------


def _image_bytes() -> bytes:
    raw = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    return _bytes(_with_pixels(_dataset(PatientName=NAME, PatientID=PATIENT_ID), raw, "MONOCHROME2", 12))


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95, 0.999])
def test_truncated_file_raises_corrupt_without_patient_data(keep: float) -> None:
    data = _image_bytes()
    with pytest.raises(CorruptImageError) as caught:
        scan_dicom(data[: int(len(data) * keep)], max_frames=4)
    assert "Dupont" not in str(caught.value)
    assert PATIENT_ID not in str(caught.value)
    assert caught.value.__cause__ is None


def test_file_cut_before_pixel_data_raises_corrupt() -> None:
    data = _image_bytes()
    cut = data.rfind(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data tag
    assert cut > 0
    with pytest.raises(CorruptImageError):
        scan_dicom(data[:cut], max_frames=4)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x00" * 128 + b"DICM", id="magic-only"),
        pytest.param(b"\x00" * 128 + b"DICM" + bytes(range(256)) * 8, id="garbage-after-magic"),
        pytest.param(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\x7f", id="element-longer-than-file"),
    ],
)
def test_garbage_claiming_dicm_raises_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptImageError):
        scan_dicom(data, max_frames=4)


def test_pydicom_logs_carry_no_values(caplog: pytest.LogCaptureFixture) -> None:
    # An over-long, invalid date makes pydicom complain, quoting the value, when it is read.
    ds = _dataset(PatientID=PATIENT_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.add_new(0x00100030, "DA", "1958-02-14-bogus")
    data = _bytes(ds)
    with caplog.at_level(logging.DEBUG, logger="pydicom"):
        scan_dicom(data, max_frames=4)
    assert "1958" not in caplog.text
    assert PATIENT_ID not in caplog.text


# --- looks_like_dicom --------------------------------------------------------------------------------


def test_looks_like_dicom_with_preamble() -> None:
    data = _bytes(_dataset(PatientID=PATIENT_ID))
    assert looks_like_dicom(data)
    assert looks_like_dicom(data, "scan.jpg")


def test_looks_like_dicom_without_preamble_whatever_the_name() -> None:
    ds = _dataset(PatientName=NAME, StudyDate="20240101", Modality="CT")
    data = _bytes(ds, raw_dataset=True)
    assert data[128:132] != b"DICM"
    assert looks_like_dicom(data, "IMG0001.DCM")
    assert looks_like_dicom(data, "series/image.dicom")
    # PACS exports are often unnamed: the bytes decide, not the name the sender chose.
    assert looks_like_dicom(data)
    assert looks_like_dicom(data, "image.png")
    assert looks_like_dicom(data, "IM0001")
    findings, frames, total = scan_dicom(data, max_frames=4)
    assert [f.summary for f in findings] == ["DICOM PatientName present"]
    assert (frames, total) == ([], 0)


def test_implicit_vr_pixels_without_file_meta_still_decode() -> None:
    raw = np.full((4, 6), 7, dtype=np.uint16)
    ds = _with_pixels(_dataset(), raw, "MONOCHROME2", 12)
    data = _bytes(ds, raw_dataset=True)
    _findings, frames, _total = scan_dicom(data, max_frames=4)
    assert frames[0][1].shape == (4, 6)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        pytest.param(b"", "", id="empty"),
        pytest.param(b"", "x.dcm", id="empty-named-dcm"),
        pytest.param(b"hello world", "notes.dcm", id="text-named-dcm"),
        pytest.param(b"\x00" * 200, "zeros.dcm", id="zeros-named-dcm"),
    ],
)
def test_looks_like_dicom_false_cases(data: bytes, name: str) -> None:
    assert not looks_like_dicom(data, name)


def test_png_is_not_dicom_even_when_named_dcm() -> None:
    png = _png_bytes()
    assert not looks_like_dicom(png)
    assert not looks_like_dicom(png, "photo.dcm")


def test_large_pixel_data_read_lazily_still_decodes_and_truncation_is_caught() -> None:
    # Over the module's defer size, so Pixel Data stays on the buffer until a frame is decoded.
    raw = np.arange(600 * 600, dtype=np.uint16).reshape(600, 600) % 4096
    data = _bytes(_with_pixels(_dataset(), raw, "MONOCHROME2", 12))
    _findings, frames, _total = scan_dicom(data, max_frames=4)
    assert np.array_equal(frames[0][1], raw)
    with pytest.raises(CorruptImageError):
        scan_dicom(data[:-4096], max_frames=4)
