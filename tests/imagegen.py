"""Small images the tests build themselves: rendered text, barcodes, EXIF, pathological files."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

ASSETS = Path(__file__).parent / "assets"


def astronaut_bytes() -> bytes:
    """A public-domain portrait (see tests/assets/LICENSE-astronaut.txt)."""
    return (ASSETS / "astronaut.jpg").read_bytes()


def astronaut() -> Image.Image:
    """The portrait as a Pillow image."""
    return Image.open(io.BytesIO(astronaut_bytes())).convert("RGB")


def encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    """Serialise a Pillow image."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def text_image(lines: list[str], *, size: int = 40, width: int = 1100, margin: int = 40) -> Image.Image:
    """Black text on white, one line per entry, in the DejaVu Sans font shipped with the tests."""
    font = ImageFont.truetype(str(ASSETS / "DejaVuSans.ttf"), size=size)
    height = margin * 2 + len(lines) * int(size * 1.6)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((margin, margin + index * int(size * 1.6)), line, fill="black", font=font)
    return image


def barcode_image(
    content: str, fmt: zxingcpp.BarcodeFormat, *, scale: int = 4, quiet: int = 40
) -> Image.Image:
    """A generated code, enlarged, in a white quiet zone, pasted on a light-grey card."""
    code = np.asarray(zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(content, fmt)))
    code = np.kron(code, np.ones((scale, scale), dtype=np.uint8))
    card = Image.new("L", (code.shape[1] + 2 * quiet, code.shape[0] + 2 * quiet), 255)
    card.paste(Image.fromarray(code), (quiet, quiet))
    background = Image.new("RGB", (card.width + 200, card.height + 200), (200, 190, 180))
    background.paste(card.convert("RGB"), (100, 100))
    return background


def wound_like_image(seed: int = 3) -> Image.Image:
    """A reddish, textured blob on skin tones: clinical-looking, identifies nobody."""
    rng = np.random.default_rng(seed)
    height, width = 480, 640
    yy, xx = np.mgrid[0:height, 0:width]
    skin = np.stack([np.full((height, width), c, np.float32) for c in (224, 172, 140)], axis=2)
    blob = np.exp(-(((xx - 320) / 120.0) ** 2 + ((yy - 240) / 80.0) ** 2))[..., None]
    wound = np.array([150, 40, 45], np.float32)
    pixels = skin * (1 - blob) + wound * blob + rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def truncated_jpeg() -> bytes:
    """A real JPEG cut in half."""
    data = encode(astronaut(), "JPEG", quality=90)
    return data[: len(data) // 2]


def png_bomb_header(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
