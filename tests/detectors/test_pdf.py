"""PDFs: every page is rendered and scanned; too many pages or a broken file fails closed."""

from collections.abc import Iterator

import pytest

from bot.scanning.engine import build_scan_engine
from config.settings import DetectionSettings
from detectors.base import FindingKind
from detectors.engine import ScanEngine
from detectors.errors import CorruptImageError, ImageTooLargeError
from detectors.loading import LoadLimits, load_media
from tests.imagegen import astronaut, encode, text_image, wound_like_image
from tests.mediagen import blank_wall, face_pdf_on_page, pdf_bytes


@pytest.fixture(scope="module")
def faces() -> Iterator[ScanEngine]:
    """The real engine with only the face detector."""
    with build_scan_engine(DetectionSettings(text=False, barcodes=False)) as engine:
        yield engine


def test_a_face_on_page_two_of_three_is_seen(faces: ScanEngine) -> None:
    report = faces.scan(face_pdf_on_page(page=2, pages=3), name_hint="compte-rendu.pdf")
    assert report.error is None
    assert report.format == "PDF"
    assert report.frames == 3
    assert {f.frame for f in report.findings if f.kind is FindingKind.FACE} == {"page 2"}


def test_pages_are_rendered_large_enough_to_read_but_within_max_side() -> None:
    media = load_media(face_pdf_on_page(page=1, pages=2))
    assert [frame.label for frame in media.frames] == ["page 1", "page 2"]
    assert all(1500 <= max(frame.width, frame.height) <= 2560 for frame in media.frames)
    small = load_media(face_pdf_on_page(page=1, pages=1), limits=LoadLimits(max_side=800))
    assert max(small.frames[0].width, small.frames[0].height) <= 800


def test_a_scanned_letter_with_a_birth_date_is_identifying(engine: ScanEngine) -> None:
    letter = text_image(["DUPONT Marie", "Née le 12/03/1954"])
    report = engine.scan(pdf_bytes([wound_like_image(), letter]))
    assert report.error is None
    assert "birth_date" in report.identifier_kinds


def test_a_clean_pdf_is_clean(faces: ScanEngine) -> None:
    report = faces.scan(pdf_bytes([wound_like_image(seed=1), wound_like_image(seed=2)]))
    assert report.error is None
    assert not report.identifying


def test_more_pages_than_the_limit_is_refused_not_partly_scanned() -> None:
    data = pdf_bytes([blank_wall((60, 80))] * 21)
    with pytest.raises(ImageTooLargeError):
        load_media(data)
    report = ScanEngine([], LoadLimits(pdf_max_pages=20)).scan(data)
    assert report.error_type == "ImageTooLargeError"
    assert report.identifying
    assert load_media(data, limits=LoadLimits(pdf_max_pages=21)).frame_count == 21


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.7\n" + b"garbage " * 64, id="garbage"),
        pytest.param(face_pdf_on_page()[:400], id="truncated"),
    ],
)
def test_a_broken_pdf_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptImageError):
        load_media(data)
    report = ScanEngine([]).scan(data)
    assert report.error_type == "CorruptImageError"
    assert report.identifying


def test_an_image_that_is_also_a_pdf_is_scanned_both_ways(faces: ScanEngine) -> None:
    # A JPEG of a wall whose comment segment holds a PDF of a face: a PDF reader shows the face.
    pdf = pdf_bytes([astronaut().resize((256, 256))])
    jpeg = encode(blank_wall(), "JPEG", quality=80)
    polyglot = jpeg[:2] + b"\xff\xfe" + (len(pdf) + 2).to_bytes(2, "big") + pdf + jpeg[2:]
    report = faces.scan(polyglot)
    assert report.format == "JPEG+PDF"
    assert report.count(FindingKind.FACE) >= 1


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def _password_protected_pdf(user_password: bytes = b"secret") -> bytes:
    """A one-page PDF locked with a user password (Standard security handler, revision 2, RC4 40-bit)."""
    import hashlib

    padding = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
    padded = (user_password + padding)[:32]
    owner = _rc4(hashlib.md5(padded).digest()[:5], padded)  # noqa: S324  # the PDF format's own choice
    permissions, file_id = -4, b"0123456789abcdef"
    key = hashlib.md5(padded + owner + permissions.to_bytes(4, "little", signed=True) + file_id).digest()[:5]  # noqa: S324
    user = _rc4(key, padding)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <"
        + owner.hex().encode()
        + b"> /U <"
        + user.hex().encode()
        + b"> /P "
        + str(permissions).encode()
        + b" >>",
    ]
    body, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [<%s> <%s>] >>\n" % (
        len(objects) + 1,
        file_id.hex().encode(),
        file_id.hex().encode(),
    )
    body += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(body)


def test_a_password_protected_pdf_is_a_file_the_bot_cannot_look_into() -> None:
    report = ScanEngine([]).scan(_password_protected_pdf())
    assert report.error_type == "UnsupportedImageError"
    assert "password" in (report.error or "")
