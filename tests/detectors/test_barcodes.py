from collections.abc import Iterator

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from detectors.barcodes import ZxingBarcodeDetector
from detectors.base import FindingKind, Frame
from tests.imagegen import astronaut, barcode_image, text_image, wound_like_image

PAYLOAD = "IPP-00418277"


@pytest.fixture(scope="module")
def barcodes() -> Iterator[ZxingBarcodeDetector]:
    detector = ZxingBarcodeDetector()
    yield detector
    detector.close()


def _frame(image: Image.Image) -> Frame:
    return Frame(np.asarray(image.convert("RGB"), dtype=np.uint8))


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        (zxingcpp.BarcodeFormat.Code128, PAYLOAD),
        (zxingcpp.BarcodeFormat.QRCode, PAYLOAD),
        (zxingcpp.BarcodeFormat.DataMatrix, PAYLOAD),
        (zxingcpp.BarcodeFormat.PDF417, PAYLOAD),
        (zxingcpp.BarcodeFormat.EAN13, "4006381333931"),
        (zxingcpp.BarcodeFormat.Aztec, PAYLOAD),
    ],
)
def test_generated_codes_are_found_and_their_content_is_not_kept(
    barcodes: ZxingBarcodeDetector, fmt: zxingcpp.BarcodeFormat, content: str
) -> None:
    found = barcodes.detect(_frame(barcode_image(content, fmt)))
    assert len(found) == 1
    finding = found[0]
    assert finding.kind is FindingKind.BARCODE
    assert finding.identifying
    assert content not in repr(finding)
    assert "00418277" not in repr(finding)


def test_small_blurry_wristband_is_found_after_upscaling(barcodes: ZxingBarcodeDetector) -> None:
    band = barcode_image(PAYLOAD, zxingcpp.BarcodeFormat.Code128, scale=2, quiet=12)
    small = band.resize((band.width // 2 + 30, band.height // 2), Image.Resampling.BILINEAR)
    assert barcodes.detect(_frame(small))


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(astronaut(), id="portrait"),
        pytest.param(wound_like_image(), id="wound"),
        pytest.param(text_image(["Figure 2 - coupe axiale", "0 1 2 3 4 5 cm"]), id="slide"),
    ],
)
def test_no_code_in_ordinary_images(barcodes: ZxingBarcodeDetector, image: Image.Image) -> None:
    assert barcodes.detect(_frame(image)) == []
