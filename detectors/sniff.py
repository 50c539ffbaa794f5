"""Tell what a file is from its first bytes: never from its name or declared MIME type.

A sender chooses the name and the MIME type (a video renamed ``report.txt``, a PDF sent as
``application/octet-stream``), so only the bytes decide which decoder runs. The checks are magic numbers
at fixed offsets, ordered so that the kind a viewer would actually show wins: DICOM first (its preamble may
start another format, handled as a polyglot by the loader), then the signature at offset 0, then a PDF
header anywhere in the first KiB (PDF readers accept that much leading junk).
"""

from __future__ import annotations

import enum

from detectors.dicom import looks_like_dicom


class MediaKind(enum.StrEnum):
    """What the bytes are. Only IMAGE, DICOM, VIDEO and PDF have pixels the detectors can look at."""

    IMAGE = "image"
    DICOM = "dicom"
    VIDEO = "video"
    PDF = "pdf"
    AUDIO = "audio"
    ARCHIVE = "archive"
    DOCUMENT = "document"
    EXECUTABLE = "executable"
    TEXT = "text"
    #: No signature we know. The loader still lets Pillow try (it knows a few more image variants), and
    #: Pillow refuses it as unsupported otherwise.
    UNKNOWN = "unknown"


#: Kinds whose pixels consentguard reads; the rest are refused as "cannot look into this kind of file".
SCANNABLE_KINDS = frozenset(
    {MediaKind.IMAGE, MediaKind.DICOM, MediaKind.VIDEO, MediaKind.PDF, MediaKind.UNKNOWN}
)

#: PDF readers (PDFium, pdf.js, Acrobat) look for the header this far into the file.
PDF_HEADER_WINDOW = 1024

# ISO base media (``....ftyp<major brand>``) is shared by HEIF/AVIF stills, MP4/MOV videos and M4A audio.
# Image brands are exactly the ones Pillow's HEIF and AVIF openers accept as a major brand, so every file
# Pillow read before still goes to Pillow.
_IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
    | {b"avif", b"avis"}
)
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
# Every other major brand is treated as video: cameras write their own (Sony "XAVC", Canon "CAEP"...) and
# players still show them, so an unknown brand must not make a video unscannable.
_VIDEO_FORMATS = {b"qt  ": "MOV", b"M4V ": "M4V", b"M4VH": "M4V", b"M4VP": "M4V"}

_EBML = b"\x1a\x45\xdf\xa3"
_ASF = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"
_MPEG_TS_PACKET = 188

_IMAGE_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"MM\x00+",
    b"BM",
)
_ARCHIVE_SIGNATURES = (
    b"PK\x03\x04",  # ZIP, and so DOCX/XLSX/PPTX/ODT/EPUB/APK/JAR
    b"PK\x05\x06",
    b"PK\x07\x08",
    b"Rar!\x1a\x07",
    b"7z\xbc\xaf\x27\x1c",
    b"\x1f\x8b",  # gzip
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"MSCF",  # cabinet
)
_DOCUMENT_SIGNATURES = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"{\\rtf")  # OLE2 (DOC/XLS/PPT/MSG), RTF
_AUDIO_SIGNATURES = (b"ID3", b"OggS", b"fLaC", b"#!AMR", b"MThd", b"caff", b".snd")
_EXECUTABLE_SIGNATURES = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)


#: DICOM's magic, at offset 128 after the preamble; some exporters cut the preamble and keep the magic.
DICOM_MAGIC = b"DICM"


def sniff(data: bytes) -> MediaKind:
    """The kind of file ``data`` is, decided by its bytes alone."""
    if looks_like_dicom(data) or data.startswith(DICOM_MAGIC):
        return MediaKind.DICOM
    head = data[:16]
    if head.startswith(_IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return MediaKind.IMAGE
    if head[4:8] == b"ftyp":
        return _iso_kind(head[8:12])
    if video_format(data) is not None:
        return MediaKind.VIDEO
    if has_pdf_header(data):
        return MediaKind.PDF
    if _is_audio(head):
        return MediaKind.AUDIO
    if head.startswith(_ARCHIVE_SIGNATURES) or data[257:262] == b"ustar":
        return MediaKind.ARCHIVE
    if head.startswith(_DOCUMENT_SIGNATURES):
        return MediaKind.DOCUMENT
    if head.startswith(_EXECUTABLE_SIGNATURES):
        return MediaKind.EXECUTABLE
    if _looks_like_text(data[:4096]):
        return MediaKind.TEXT
    return MediaKind.UNKNOWN


def has_pdf_header(data: bytes) -> bool:
    """Whether a PDF reader would open ``data`` as a PDF (its header within the first KiB)."""
    return b"%PDF-" in data[:PDF_HEADER_WINDOW]


def video_format(data: bytes) -> str | None:
    """Our name for the video container ("MP4", "MOV", "WEBM"...), or None when ``data`` is not a video."""
    head = data[:16]
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if _iso_kind(brand) is not MediaKind.VIDEO:
            return None
        if brand.startswith((b"3gp", b"3g2")):
            return "3GP"
        return _VIDEO_FORMATS.get(brand, "MP4")
    if head[4:8] in (b"moov", b"mdat", b"wide"):
        return "MOV"  # QuickTime files from before the ftyp box existed
    if head.startswith(_EBML):
        # The EBML header names its DocType near the start: "webm" for WebM, "matroska" for MKV.
        return "WEBM" if b"webm" in data[:64] else "MKV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head.startswith(b"FLV\x01"):
        return "FLV"
    if head.startswith(_ASF):
        return "WMV"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "MPEG"
    if len(data) > 2 * _MPEG_TS_PACKET and all(data[i * _MPEG_TS_PACKET] == 0x47 for i in range(3)):
        return "MPEG-TS"  # a sync byte at the start of three consecutive 188-byte packets
    return None


#: The FFmpeg demuxer for each of our container names: the loader names it so FFmpeg never probes its way
#: into a demuxer we did not choose (playlists, image sequences, network protocols).
DEMUXERS = {
    "MP4": "mov",
    "MOV": "mov",
    "M4V": "mov",
    "3GP": "mov",
    "WEBM": "matroska",
    "MKV": "matroska",
    "AVI": "avi",
    "FLV": "flv",
    "WMV": "asf",
    "MPEG": "mpeg",
    "MPEG-TS": "mpegts",
}


def _iso_kind(brand: bytes) -> MediaKind:
    if brand in _IMAGE_BRANDS:
        return MediaKind.IMAGE
    if brand in _AUDIO_BRANDS:
        return MediaKind.AUDIO
    return MediaKind.VIDEO


def _is_audio(head: bytes) -> bool:
    if head.startswith(_AUDIO_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WAVE"):
        return True
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return True
    # An MPEG audio (MP3) or ADTS (AAC) frame sync: 11 set bits. 0xFFD8 (JPEG) was ruled out before.
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the 4 KiB window is still text.
        return exc.start >= len(head) - 3
    return True
