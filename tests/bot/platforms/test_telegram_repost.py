"""Which quarantined bytes go back to Telegram as a photo, and which as a file (sendPhoto refuses them)."""

from __future__ import annotations

import pytest

from bot.platforms.telegram.review import is_photo
from tests.imagegen import encode, wound_like_image
from tests.mediagen import clean_video, dicom_bytes, pdf_bytes


@pytest.mark.parametrize(
    ("data", "photo"),
    [
        pytest.param(encode(wound_like_image(), "JPEG"), True, id="jpeg"),
        pytest.param(encode(wound_like_image(), "PNG"), True, id="png"),
        pytest.param(encode(wound_like_image(), "GIF"), False, id="gif"),
        pytest.param(clean_video(kind="mp4"), False, id="mp4"),
        pytest.param(clean_video(kind="webm"), False, id="webm"),
        pytest.param(pdf_bytes([wound_like_image()]), False, id="pdf"),
        pytest.param(dicom_bytes(), False, id="dicom"),
        pytest.param(dicom_bytes(preamble=False), False, id="dicom-without-preamble"),
        pytest.param(b"PK\x03\x04" + bytes(40), False, id="zip"),
        pytest.param(b"\x00\x00\x00\x18ftypheic" + bytes(40), False, id="heic"),
    ],
)
def test_photos_go_back_as_photos_and_everything_else_as_files(data: bytes, photo: bool) -> None:
    assert is_photo(data) is photo
