import io
import time

import numpy as np
import pytest
from PIL import Image

from detectors.errors import CorruptImageError, ImageTooLargeError, UnsupportedImageError
from detectors.loading import LoadLimits, load_media
from tests.imagegen import astronaut, encode, png_bomb_header, truncated_jpeg


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("PNG", {}),
        ("JPEG", {"quality": 85}),
        ("WEBP", {}),
        ("BMP", {}),
        ("TIFF", {}),
        ("GIF", {}),
        ("HEIF", {}),
    ],
)
def test_every_supported_format_decodes_to_rgb(fmt: str, params: dict[str, object]) -> None:
    media = load_media(encode(astronaut(), fmt, **params))
    assert len(media.frames) == 1
    frame = media.frames[0].pixels
    assert frame.dtype == np.uint8
    assert frame.shape == (512, 512, 3)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "I;16", "1", "CMYK"])
def test_odd_modes_become_rgb(mode: str) -> None:
    image = astronaut()
    if mode == "I;16":
        gray = np.asarray(image.convert("L"), dtype=np.uint16) * 257
        converted = Image.fromarray(gray)
    else:
        converted = image.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    pixels = load_media(encode(converted, fmt)).frames[0].pixels
    assert pixels.shape == (512, 512, 3)
    assert pixels.dtype == np.uint8
    assert pixels.std() > 10  # still a picture, not a flat field


def test_sixteen_bit_is_scaled_not_clipped() -> None:
    ramp = np.tile(np.linspace(0, 4000, 256, dtype=np.uint16), (64, 1))
    pixels = load_media(encode(Image.fromarray(ramp), "PNG")).frames[0].pixels
    assert pixels[:, 0].max() < 5
    assert pixels[:, -1].min() > 250


def test_transparent_pixels_become_white() -> None:
    image = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    pixels = load_media(encode(image, "PNG")).frames[0].pixels
    assert pixels.min() == 255


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (200, 100), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    pixels = load_media(encode(image, "JPEG", exif=exif)).frames[0].pixels
    assert pixels.shape[:2] == (200, 100)


def test_animation_frames_are_sampled_including_the_first() -> None:
    frames = [Image.new("RGB", (64, 64), (i * 20, 0, 0)) for i in range(12)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50)
    media = load_media(buffer.getvalue(), limits=LoadLimits(max_frames=4))
    assert media.frame_count == 12
    assert len(media.frames) == 4
    assert media.frames[0].label == "frame 0"


def test_animated_webp_and_multipage_tiff() -> None:
    pages = [astronaut(), astronaut().rotate(90)]
    for fmt in ("WEBP", "TIFF"):
        buffer = io.BytesIO()
        pages[0].save(buffer, fmt, save_all=True, append_images=pages[1:])
        media = load_media(buffer.getvalue())
        assert len(media.frames) == 2, fmt


def test_large_frames_are_downscaled_to_the_limit() -> None:
    big = Image.new("RGB", (6000, 3000), "gray")
    media = load_media(encode(big, "JPEG"), limits=LoadLimits(max_side=2000))
    assert max(media.frames[0].pixels.shape[:2]) == 2000


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(b"", CorruptImageError, id="empty"),
        pytest.param(truncated_jpeg(), CorruptImageError, id="truncated-jpeg"),
        pytest.param(b"Bonjour, ceci n'est pas une image.\n" * 20, UnsupportedImageError, id="text-as-jpg"),
        pytest.param(png_bomb_header(), ImageTooLargeError, id="50000x50000-png"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, CorruptImageError, id="png-garbage"),
    ],
)
def test_bad_inputs_raise_typed_errors_quickly(data: bytes, error: type[Exception]) -> None:
    started = time.perf_counter()
    with pytest.raises(error) as raised:
        load_media(data, name_hint="photo.jpg")
    assert time.perf_counter() - started < 5  # generous: only guards against decoding a bomb
    assert "Bonjour" not in str(raised.value)


def test_file_over_the_size_limit_is_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError):
        load_media(b"\xff\xd8" + b"\x00" * 2000, limits=LoadLimits(max_file_bytes=1000))
