"""Media files the tests build themselves: videos whose face appears late, PDFs of scans, DICOM files.

Shared by the detector tests and the platforms' bypass suites, so that every "way around" is tried with the
same, real bytes (an MP4 that a phone would send, a WebM video sticker, a scanned letter as a PDF).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import av
import numpy as np
from PIL import Image
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from tests.imagegen import astronaut, encode, wound_like_image

#: (container format, codec, pixel format) for the kinds of video chat clients send.
VIDEO_KINDS = {
    "mp4": ("mp4", "libx264", "yuv420p"),  # phone videos, Telegram video notes, MP4 "GIFs"
    "webm": ("webm", "libvpx-vp9", "yuv420p"),  # Telegram video stickers
    "mov": ("mov", "libx264", "yuv420p"),
}


def _even(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(image.convert("RGB").resize(size), dtype=np.uint8)


def blank_wall(size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A plain beige wall: what a video's thumbnail shows before the patient walks in."""
    return Image.new("RGB", size, (214, 204, 188))


def video_bytes(
    frames: Sequence[Image.Image],
    *,
    kind: str = "mp4",
    fps: int = 10,
    size: tuple[int, int] = (320, 240),
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """Encode ``frames`` (each shown for 1/fps s) as a real video file of ``kind`` (see VIDEO_KINDS).

    ``metadata`` goes into the container's tags (MP4 writes ``location`` as a phone does, in a ``©xyz`` box).
    """
    container_format, codec, pix_fmt = VIDEO_KINDS[kind]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        container.metadata.update(metadata or {})
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        for image in frames:
            frame = av.VideoFrame.from_ndarray(_even(image, size), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def late_face_video(
    *, kind: str = "mp4", seconds_blank: float = 3.0, seconds_face: float = 1.0, fps: int = 10
) -> bytes:
    """A video that shows a blank wall for ``seconds_blank`` s, then a face: its first frame is clean."""
    size = (320, 320) if kind == "webm" else (320, 240)
    wall = [blank_wall(size)] * int(seconds_blank * fps)
    face = [astronaut()] * max(1, int(seconds_face * fps))
    return video_bytes([*wall, *face], kind=kind, fps=fps, size=size)


def clean_video(*, kind: str = "mp4", seconds: float = 2.0, fps: int = 10) -> bytes:
    """A video of a wound-like texture: identifies nobody."""
    return video_bytes([wound_like_image()] * int(seconds * fps), kind=kind, fps=fps)


def transparent_sticker(*, seconds_blank: float = 1.0, seconds_face: float = 1.0, fps: int = 10) -> bytes:
    """A Telegram video sticker: 320x320 VP9 WebM with alpha, empty (transparent) until the face appears."""
    size = (320, 320)
    empty = np.zeros((*size, 4), dtype=np.uint8)
    face = np.asarray(astronaut().convert("RGBA").resize(size), dtype=np.uint8).copy()
    face[:40, :, 3] = 0  # a transparent band above the head, as around a cut-out sticker
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="webm") as container:
        stream = container.add_stream("libvpx-vp9", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuva420p"
        pictures = [empty] * int(seconds_blank * fps) + [face] * max(1, int(seconds_face * fps))
        for picture in pictures:
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgba")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def pdf_bytes(pages: Sequence[Image.Image]) -> bytes:
    """A PDF whose pages are the given images (what a scanner or a phone's 'scan document' produces)."""
    buffer = io.BytesIO()
    first, *rest = [page.convert("RGB") for page in pages]
    first.save(buffer, "PDF", save_all=True, append_images=rest, resolution=100.0)
    return buffer.getvalue()


def face_pdf_on_page(page: int = 2, pages: int = 3) -> bytes:
    """A scanned report whose page ``page`` (1-based) carries a face; the others are clinical pictures."""
    images = [wound_like_image(seed=i) for i in range(pages)]
    images[page - 1] = astronaut()
    return pdf_bytes(images)


def dicom_bytes(
    *, preamble: bool = True, patient_name: str = "DUPONT^JEAN", patient_id: str = "IPP123456"
) -> bytes:
    """A small secondary-capture DICOM with real patient tags and 8-bit pixels (a PACS export)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19610412"
    pixels = np.asarray(wound_like_image().convert("L").resize((64, 48)), dtype=np.uint8)
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = pixels.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    return data if preamble else data[128:]


def face_jpeg() -> bytes:
    """The portrait as a JPEG (to send under a misleading name such as ``scan.bin``)."""
    return encode(astronaut(), "JPEG", quality=90)
