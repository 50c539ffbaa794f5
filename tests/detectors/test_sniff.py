"""The kind of a file comes from its bytes: real files of every kind, and small literal headers."""

import io
import zipfile

import pytest

from detectors.engine import ScanEngine
from detectors.errors import CorruptImageError, UnsupportedImageError
from detectors.loading import load_media
from detectors.sniff import MediaKind, has_pdf_header, sniff, video_format
from tests.imagegen import astronaut, encode
from tests.mediagen import (
    blank_wall,
    dicom_bytes,
    face_jpeg,
    late_face_video,
    pdf_bytes,
    transparent_sticker,
    video_bytes,
)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _ftyp(brand: bytes, compatible: bytes = b"isom") -> bytes:
    return b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x02\x00" + compatible + b"mp41" + b"\x00" * 64


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        pytest.param(face_jpeg(), MediaKind.IMAGE, id="jpeg"),
        pytest.param(encode(astronaut(), "PNG"), MediaKind.IMAGE, id="png"),
        pytest.param(encode(astronaut(), "WEBP"), MediaKind.IMAGE, id="webp"),
        pytest.param(encode(astronaut(), "GIF"), MediaKind.IMAGE, id="gif"),
        pytest.param(encode(astronaut(), "TIFF"), MediaKind.IMAGE, id="tiff"),
        pytest.param(encode(astronaut(), "BMP"), MediaKind.IMAGE, id="bmp"),
        pytest.param(encode(astronaut(), "HEIF"), MediaKind.IMAGE, id="heif"),
        pytest.param(_ftyp(b"avif"), MediaKind.IMAGE, id="avif-header"),
        pytest.param(dicom_bytes(), MediaKind.DICOM, id="dicom"),
        pytest.param(dicom_bytes(preamble=False), MediaKind.DICOM, id="dicom-no-preamble"),
        pytest.param(late_face_video(kind="mp4"), MediaKind.VIDEO, id="mp4"),
        pytest.param(late_face_video(kind="mov"), MediaKind.VIDEO, id="mov"),
        pytest.param(late_face_video(kind="webm"), MediaKind.VIDEO, id="webm"),
        pytest.param(_ftyp(b"3gp5"), MediaKind.VIDEO, id="3gp-header"),
        pytest.param(_ftyp(b"XAVC"), MediaKind.VIDEO, id="camera-brand-header"),
        pytest.param(b"RIFF\x00\x10\x00\x00AVI LIST" + b"\x00" * 64, MediaKind.VIDEO, id="avi-header"),
        pytest.param(pdf_bytes([blank_wall()]), MediaKind.PDF, id="pdf"),
        pytest.param(b"\x00" * 200 + b"%PDF-1.4\n" + b"\x00" * 64, MediaKind.PDF, id="pdf-after-junk"),
        pytest.param(_zip({"a.txt": b"hello"}), MediaKind.ARCHIVE, id="zip"),
        pytest.param(
            _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"}),
            MediaKind.ARCHIVE,
            id="docx",
        ),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, MediaKind.DOCUMENT, id="ole2-doc"),
        pytest.param(_ftyp(b"M4A "), MediaKind.AUDIO, id="m4a"),
        pytest.param(
            b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 32, MediaKind.AUDIO, id="mp3-id3"
        ),
        pytest.param(b"\xff\xfb\x90\x00" * 32, MediaKind.AUDIO, id="mp3-frames"),
        pytest.param(b"OggS\x00\x02" + b"\x00" * 64, MediaKind.AUDIO, id="ogg-voice-note"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 32, MediaKind.AUDIO, id="wav"),
        pytest.param(b"MZ\x90\x00" + b"\x00" * 64, MediaKind.EXECUTABLE, id="exe"),
        pytest.param("Compte rendu opératoire\n".encode() * 20, MediaKind.TEXT, id="text"),
        pytest.param(bytes(range(1, 256)) * 4, MediaKind.UNKNOWN, id="unknown"),
    ],
)
def test_kind_comes_from_the_bytes(data: bytes, kind: MediaKind) -> None:
    assert sniff(data) is kind


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        pytest.param(late_face_video(kind="mp4"), "MP4", id="mp4"),
        pytest.param(late_face_video(kind="mov"), "MOV", id="mov"),
        pytest.param(late_face_video(kind="webm"), "WEBM", id="webm"),
        pytest.param(transparent_sticker(), "WEBM", id="sticker"),
        pytest.param(_ftyp(b"3gp4"), "3GP", id="3gp"),
        pytest.param(face_jpeg(), None, id="jpeg"),
        pytest.param(_ftyp(b"heic"), None, id="heic"),
    ],
)
def test_video_container_names(data: bytes, fmt: str | None) -> None:
    assert video_format(data) == fmt


def test_an_image_that_a_pdf_reader_would_also_open_is_noticed() -> None:
    polyglot = face_jpeg()[:2] + b"\xff\xfe\x00\x10%PDF-1.4 junk" + face_jpeg()[2:]
    assert sniff(polyglot) is MediaKind.IMAGE
    assert has_pdf_header(polyglot)
    assert not has_pdf_header(face_jpeg())


def test_a_name_is_never_consulted() -> None:
    # There is nowhere to pass one: the same bytes are the same kind whatever the sender called them.
    video = video_bytes([blank_wall()] * 3)
    assert sniff(video) is MediaKind.VIDEO


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_zip({"photo.jpg": face_jpeg()}), id="zip-holding-a-photo"),
        pytest.param(
            _zip({"[Content_Types].xml": b"<Types/>", "word/media/image1.jpeg": face_jpeg()}), id="docx"
        ),
        pytest.param(b"Patient vu ce jour, pansement refait.\n" * 10, id="plain-text"),
        pytest.param(b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64, id="mp3"),
        pytest.param(_ftyp(b"M4A "), id="m4a"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, id="ole2-doc"),
        pytest.param(b"MZ\x90\x00" + b"\x00" * 512, id="exe"),
    ],
)
def test_files_the_bot_cannot_look_into_are_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedImageError):
        load_media(data)
    report = ScanEngine([]).scan(data, name_hint="photo.jpg")
    assert report.error_type == "UnsupportedImageError"
    assert report.identifying  # the pipeline's policy, not the engine, decides what to do with it


def test_a_signature_then_garbage_stays_corrupt() -> None:
    for data in (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, _ftyp(b"isom"), b"%PDF-1.7\n" + b"garbage" * 50):
        with pytest.raises(CorruptImageError):
            load_media(data)
