"""Turn untrusted bytes into RGB frames, quickly and within bounded memory.

Every format quirk lives here so that detectors only ever see 8-bit RGB arrays the right way up:
grayscale, palette, RGBA, 16-bit and float images are normalised; EXIF orientation is applied;
animations and multi-page TIFFs are sampled; HEIC/HEIF goes through pillow-heif; DICOM is handed to
:mod:`detectors.dicom`, videos to :mod:`detectors.video`, PDFs to :mod:`detectors.pdf`. The kind of file is
decided by its bytes (:mod:`detectors.sniff`), never by its name or MIME type; bytes of any other kind
(archives, office documents, audio, text...) are refused as unsupported. A file that is DICOM and another
image format at once (a polyglot: the DICOM preamble holds a JPEG, PNG, TIFF...) is read both ways and its
findings merged, so neither side can hide the other; so is any file that a PDF reader would also open.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from detectors.base import DecodedMedia, Finding, Frame, RGBArray
from detectors.dicom import carried_findings, carry_findings, scan_dicom
from detectors.errors import CorruptImageError, ImageError, ImageTooLargeError, UnsupportedImageError
from detectors.limits import LoadLimits
from detectors.metadata import scan_metadata
from detectors.pdf import load_pdf
from detectors.pixels import fit
from detectors.sniff import DICOM_MAGIC, SCANNABLE_KINDS, MediaKind, has_pdf_header, sniff, video_format
from detectors.video import load_video

__all__ = ["ACCEPTED_FORMATS", "LoadLimits", "load_media"]

pillow_heif.register_heif_opener()

#: Formats we accept from Pillow. Anything else (PSD, EPS, ICO...) is refused rather than half-read.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "HEIF", "AVIF")


def load_media(data: bytes, *, limits: LoadLimits | None = None, name_hint: str = "") -> DecodedMedia:
    """Decode ``data`` into frames and container findings, or raise a typed :class:`ImageError`.

    ``name_hint`` does not choose the decoder: the bytes do (a sender picks the name, and PACS exports
    often have none). A DICOM error may carry the header findings: see
    :func:`detectors.dicom.carried_findings`.
    """
    del name_hint
    limits = limits or LoadLimits()
    if not data:
        raise CorruptImageError("empty file (0 bytes)")
    if len(data) > limits.max_file_bytes:
        raise ImageTooLargeError(f"file is {len(data)} bytes, over the {limits.max_file_bytes}-byte limit")
    kind = sniff(data)
    if kind not in SCANNABLE_KINDS:
        raise UnsupportedImageError(f"a file of a kind the bot cannot look into ({kind})")
    media = _load_by_kind(data, kind, limits)
    if kind is not MediaKind.PDF and has_pdf_header(data):
        return _with_pdf_side(data, media, limits)
    return media


def _load_by_kind(data: bytes, kind: MediaKind, limits: LoadLimits) -> DecodedMedia:
    if kind is MediaKind.DICOM:
        if data.startswith(DICOM_MAGIC):
            # The preamble was cut but the magic kept: give pydicom back the 128 bytes it expects.
            return _load_dicom(bytes(128) + data, limits)
        return _load_dicom_or_polyglot(data, limits)
    if kind is MediaKind.PDF:
        return load_pdf(data, limits)
    fmt = video_format(data) if kind is MediaKind.VIDEO else None
    if fmt is not None:
        return load_video(data, fmt, limits)
    # IMAGE and UNKNOWN: Pillow decides, exactly as before videos and PDFs were read.
    return _load_with_pillow(data, limits)


def _with_pdf_side(data: bytes, media: DecodedMedia, limits: LoadLimits) -> DecodedMedia:
    """A file that is also a PDF (its header in the first KiB): a PDF reader would show its pages too.

    Only a PDF side that PDFium cannot parse is ignored (an image whose comment happens to hold "%PDF-");
    a PDF side that is too long or locked makes the whole file uncheckable, as it would on its own.
    """
    try:
        pdf = load_pdf(data, limits)
    except CorruptImageError:
        return media
    return _both_ways(media, pdf)


def _both_ways(first: DecodedMedia, second: DecodedMedia) -> DecodedMedia:
    """One file read two ways (a polyglot): every frame and finding of both, so neither hides the other."""
    return DecodedMedia(
        format=f"{first.format}+{second.format}",
        frames=[*first.frames, *second.frames],
        findings=[*first.findings, *second.findings],
        frame_count=first.frame_count + second.frame_count,
    )


def _load_dicom_or_polyglot(data: bytes, limits: LoadLimits) -> DecodedMedia:
    dicom = _load_dicom(data, limits)
    if not _has_image_signature(data):
        return dicom
    # A polyglot: the preamble starts another format's file, which a chat client shows instead of the DICOM.
    try:
        image = _load_with_pillow(data, limits)
    except ImageError as exc:
        if dicom.frames:
            # DICOM-TIFF "dual personality" files (pydicom's own examples) put a bare TIFF header in the
            # preamble that no viewer can render: the pixels were scanned on the DICOM side.
            return dicom
        carry_findings(exc, [*carried_findings(exc), *dicom.findings])
        raise
    return _both_ways(dicom, image)


def _load_dicom(data: bytes, limits: LoadLimits) -> DecodedMedia:
    findings, arrays, total = scan_dicom(data, max_frames=limits.max_frames, max_pixels=limits.max_pixels)
    frames = [Frame(fit(_to_rgb_array_from_numpy(a), limits.max_side), f"dicom frame {i}") for i, a in arrays]
    return DecodedMedia(format="DICOM", frames=frames, findings=findings, frame_count=total)


def _load_with_pillow(data: bytes, limits: LoadLimits) -> DecodedMedia:
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError as exc:
        if _has_image_signature(data):
            raise CorruptImageError("malformed image: the header of a known format, then garbage") from exc
        raise UnsupportedImageError("not an image in a supported format") from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError("image dimensions exceed the decompression limit") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptImageError(f"cannot read image header: {type(exc).__name__}") from exc

    with image:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise CorruptImageError("image has no pixels")
        if width * height > limits.max_pixels:
            raise ImageTooLargeError(f"{width}x{height} pixels exceeds the {limits.max_pixels:,}-pixel limit")
        fmt = str(image.format or "unknown")
        findings: list[Finding] = []
        frames: list[Frame] = []
        try:
            metadata = scan_metadata(image)
            findings.extend(metadata.findings)
            total = int(getattr(image, "n_frames", 1) or 1)
            for index in _sample_indices(total, limits.max_frames):
                image.seek(index)
                label = "image" if total == 1 else f"frame {index}"
                frames.append(Frame(_frame_pixels(image, limits.max_side), label))
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError("image dimensions exceed the decompression limit") from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise CorruptImageError(f"cannot decode {fmt} pixels: {type(exc).__name__}") from exc
        if metadata.thumbnail is not None:
            thumb = _decode_thumbnail(metadata.thumbnail, limits)
            if thumb is not None:
                frames.append(thumb)
    return DecodedMedia(format=fmt, frames=frames, findings=findings, frame_count=total)


_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")


def _has_image_signature(data: bytes) -> bool:
    """The magic bytes of a format we read (so a failure to open means corrupt, not unsupported)."""
    if data.startswith(_SIGNATURES):
        return True
    return (data[:4] == b"RIFF" and data[8:12] == b"WEBP") or data[4:8] == b"ftyp"


def _sample_indices(total: int, max_frames: int) -> list[int]:
    """Evenly spaced frame indices, always including the first (what a chat client shows)."""
    if total <= max_frames:
        return list(range(total))
    step = total / max_frames
    return sorted({int(i * step) for i in range(max_frames)})


def _frame_pixels(image: Image.Image, max_side: int) -> RGBArray:
    if image.format == "JPEG" and max(image.size) > max_side:
        # JPEG decodes at 1/2, 1/4 or 1/8 scale almost for free (never below the requested size): far
        # less time and memory for phone photos.
        image.draft("RGB", (max_side, max_side))
    image.load()
    oriented = ImageOps.exif_transpose(image) if image.getexif().get(0x0112, 1) != 1 else image
    return fit(_to_rgb_array(oriented), max_side)


def _decode_thumbnail(data: bytes, limits: LoadLimits) -> Frame | None:
    """The EXIF thumbnail may show the uncropped original: scan it like the image itself."""
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG", "TIFF")) as thumb:
            if thumb.size[0] * thumb.size[1] > limits.max_pixels:
                return None
            thumb.load()
            return Frame(fit(_to_rgb_array(thumb), limits.max_side), "exif thumbnail")
    except (OSError, ValueError, SyntaxError, UnidentifiedImageError, Image.DecompressionBombError):
        return None  # a broken thumbnail never hides the main image's verdict


def _to_rgb_array(image: Image.Image) -> RGBArray:
    mode = image.mode
    if mode in ("RGB",):
        return np.asarray(image, dtype=np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _to_rgb_array_from_numpy(np.asarray(image))
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent regions become white, as chat clients show them on a light theme.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"), dtype=np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _to_rgb_array_from_numpy(array: np.ndarray) -> RGBArray:  # type: ignore[type-arg]
    """Scale any numeric array (2-D gray or H x W x 3/4) to 8-bit RGB."""
    arr = np.asarray(array)
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        arr = arr.astype(np.float32)
        finite = arr[np.isfinite(arr)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        scale = 255.0 / (high - low) if high > low else 0.0
        arr = np.nan_to_num((arr - low) * scale).clip(0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise CorruptImageError(f"unexpected pixel layout {arr.shape}")
    return np.ascontiguousarray(arr)
