"""Regenerate bot/sandbox/samples/ (the demo and README images): .venv/bin/python scripts/make_samples.py."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.imagegen import ASSETS, encode, truncated_jpeg, wound_like_image  # noqa: E402

OUT = ROOT / "bot" / "sandbox" / "samples"


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(ASSETS / "DejaVuSans.ttf"), size=size)


def wristband() -> Image.Image:
    band = Image.new("RGB", (1400, 300), (245, 245, 240))
    draw = ImageDraw.Draw(band)
    draw.text((40, 30), "MARTIN Camille", fill="black", font=font(54))
    draw.text((40, 110), "Née le 14/02/1961", fill="black", font=font(40))
    draw.text((40, 170), "IPP 004182771", fill="black", font=font(40))
    code = np.asarray(
        zxingcpp.write_barcode_to_image(zxingcpp.create_barcode("004182771", zxingcpp.BarcodeFormat.Code128))
    )
    code = np.kron(code, np.ones((3, 3), dtype=np.uint8))
    band.paste(Image.fromarray(code).convert("RGB"), (800, 60))
    return band


def wound_with_ruler() -> Image.Image:
    image = wound_like_image()
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 400, 600, 460), fill="white")
    for mm in range(0, 51):
        x = 50 + mm * 10
        draw.line((x, 400, x, 415 if mm % 5 else 425), fill="black", width=1)
    for cm in range(0, 6):
        draw.text((46 + cm * 100, 430), str(cm), fill="black", font=font(20))
    draw.text((560, 430), "cm", fill="black", font=font(20))
    return image


def slide() -> Image.Image:
    image = Image.new("RGB", (1280, 720), "white")
    draw = ImageDraw.Draw(image)
    draw.text((60, 60), "Figure 2 – Coupe axiale, séquence T2", fill="black", font=font(48))
    draw.text((60, 160), "Hypersignal du noyau lenticulaire gauche", fill=(60, 60, 60), font=font(36))
    draw.ellipse((500, 280, 800, 640), outline="black", width=4)
    return image


def landscape_with_gps() -> bytes:
    rng = np.random.default_rng(7)
    sky = np.linspace(200, 120, 240)[:, None, None] * np.array([0.6, 0.8, 1.0])
    ground = np.linspace(90, 60, 240)[:, None, None] * np.array([0.5, 0.9, 0.4])
    pixels = np.concatenate([np.repeat(sky, 640, 1), np.repeat(ground, 640, 1)]) + rng.normal(
        0, 4, (480, 640, 3)
    )
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 50.0, 11.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    return encode(image, "JPEG", exif=exif, quality=88)


def dicom_with_patient() -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "LEROY^Bernard"
    ds.PatientID = "IPP00917"
    ds.PatientBirthDate = "19500314"
    ds.Modality = "OT"
    yy, xx = np.mgrid[0:128, 0:128]
    head = ((xx - 64) ** 2 / 50**2 + (yy - 64) ** 2 / 58**2 < 1) * 900 + 100
    ds.Rows, ds.Columns = head.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = head.astype(np.uint16).tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    shutil.copy(ASSETS / "astronaut.jpg", OUT / "portrait.jpg")
    (OUT / "wristband.png").write_bytes(encode(wristband(), "PNG"))
    (OUT / "wound-with-ruler.jpg").write_bytes(encode(wound_with_ruler(), "JPEG", quality=85))
    (OUT / "slide-figure.png").write_bytes(encode(slide(), "PNG"))
    (OUT / "landscape-gps.jpg").write_bytes(landscape_with_gps())
    (OUT / "ct-with-patient-tags.dcm").write_bytes(dicom_with_patient())
    (OUT / "truncated.jpg").write_bytes(truncated_jpeg())


if __name__ == "__main__":
    main()
