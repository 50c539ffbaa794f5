"""Faces in clinical settings, built from three copyright-free portraits (``portraits/LICENSE.txt``).

Each case puts one real face through one thing that happens on a ward: a surgical or oxygen mask, a nasal
cannula, a patient lying in bed (the photo turned a quarter or upside down), a face cut by the frame, a
small face in the background of a room, a dark or an over-exposed photo, a darker skin tone, and two
combinations. What it cannot make is said plainly in the README: three identities only, no infants, no true
profiles (the camera portrait is three-quarters); the shared dev corpus covers those, as a benchmark.

The masks and tubes are drawn from where the face is in each portrait (``Portrait.box``: the box BlazeFace
puts from the brows to the mouth), so they sit where a real one would, whatever the case's geometry.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Portrait:
    """A shipped portrait and where its face is: x, y, width, height in its pixels."""

    file: str
    box: tuple[int, int, int, int]


PORTRAITS: tuple[Portrait, ...] = (
    Portrait("astronaut.jpg", (174, 75, 101, 101)),
    Portrait("grace_hopper.jpg", (171, 146, 194, 194)),
    Portrait("camera.jpg", (198, 121, 76, 76)),
)

#: One case per setting, cycled; combinations last.
SETTINGS: tuple[str, ...] = (
    "plain",
    "surgical_mask",
    "oxygen_mask",
    "cannula",
    "lying",
    "upside_down",
    "cut",
    "small",
    "dark",
    "overexposed",
    "darker_skin",
    "mask_lying",
    "cannula_dark",
)

_MASK_COLOURS: tuple[RGB, ...] = ((168, 200, 226), (236, 238, 240), (150, 196, 170), (120, 160, 210))
_SHEETS: tuple[RGB, ...] = ((236, 238, 242), (200, 215, 235), (215, 230, 215), (240, 232, 220))


@dataclass(slots=True)
class FaceCase:
    """A rendered face case: the encoded photo and what its label row needs."""

    data: bytes
    width: int
    height: int
    portrait: str
    setting: str
    face_px: int
    steps: list[dict[str, Any]]


def load_portrait(portrait: Portrait) -> Image.Image:
    """The portrait as RGB (the camera portrait is greyscale)."""
    data = resources.files("bot.evalset").joinpath("portraits", portrait.file).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def render_face(setting: str, rng: random.Random, nrng: np.random.Generator) -> FaceCase:
    """One face case of ``setting`` (see :data:`SETTINGS`), with a light photo degradation on top."""
    portrait = rng.choice(PORTRAITS)
    image = load_portrait(portrait)
    box = portrait.box
    steps: list[dict[str, Any]] = []
    parts = {"mask_lying": ("surgical_mask", "lying"), "cannula_dark": ("cannula", "dark")}.get(
        setting, (setting,)
    )
    for part in parts:
        image, box = apply_setting(part, image, box, rng, nrng)
        steps.append({"kind": part})
    image, step = _camera(image, rng, nrng)
    steps.append(step)
    buffer = io.BytesIO()
    quality = rng.randint(60, 90)
    image.save(buffer, "JPEG", quality=quality)
    steps.append({"kind": "jpeg", "quality": quality})
    return FaceCase(buffer.getvalue(), image.width, image.height, portrait.file, setting, int(box[2]), steps)


# --- what happens on a ward ----------------------------------------------------------------------------

Box = tuple[int, int, int, int]


def apply_setting(
    name: str, image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """One single setting (not a combination) applied to a portrait whose face is at ``box``."""
    return _APPLY[name](image, box, rng, nrng)


def _plain(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    del rng, nrng
    return image, box


def _surgical_mask(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """A pleated mask from the bridge of the nose to under the chin, with ear loops."""
    del nrng
    x, y, w, h = box
    colour = rng.choice(_MASK_COLOURS)
    top, bottom = y + 0.45 * h, y + 1.2 * h
    left, right = x - 0.08 * w, x + w * 1.08
    layer = image.copy()
    draw = ImageDraw.Draw(layer)
    outline = [
        (left, top + 0.1 * h),
        (x + 0.5 * w, top - 0.05 * h),
        (right, top + 0.1 * h),
        (right - 0.05 * w, bottom - 0.15 * h),
        (x + 0.5 * w, bottom),
        (left + 0.05 * w, bottom - 0.15 * h),
    ]
    draw.polygon(outline, fill=colour)
    shade = tuple(max(0, c - 40) for c in colour)
    for k in range(1, 4):
        py = top + k * (bottom - top) / 4.5
        draw.line((left + 0.06 * w, py, right - 0.06 * w, py), fill=shade, width=max(1, w // 60))
    for side_x, ear_x in ((left, x - 0.3 * w), (right, x + 1.3 * w)):
        draw.line((side_x, top + 0.1 * h, ear_x, y + 0.3 * h), fill=colour, width=max(1, w // 45))
        draw.line((side_x, bottom - 0.2 * h, ear_x, y + 0.8 * h), fill=colour, width=max(1, w // 45))
    return layer.filter(ImageFilter.GaussianBlur(0.6)), box


def _oxygen_mask(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """A clear green-tinted mask over nose and mouth (the face shows through), a strap and a tube."""
    del nrng
    x, y, w, h = box
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    tint = (190, 235, 205, rng.randint(90, 140))
    draw.ellipse(
        (x + 0.12 * w, y + 0.35 * h, x + 0.88 * w, y + 1.12 * h),
        fill=tint,
        outline=(120, 180, 150, 220),
        width=max(2, w // 30),
    )
    draw.line(
        (x - 0.2 * w, y + 0.5 * h, x + 0.15 * w, y + 0.65 * h),
        fill=(235, 235, 235, 230),
        width=max(2, w // 25),
    )
    draw.line(
        (x + 0.85 * w, y + 0.65 * h, x + 1.25 * w, y + 0.5 * h),
        fill=(235, 235, 235, 230),
        width=max(2, w // 25),
    )
    draw.line(
        (x + 0.5 * w, y + 1.1 * h, x + 0.45 * w, y + 2.0 * h),
        fill=(200, 230, 210, 220),
        width=max(3, w // 12),
    )
    out = Image.alpha_composite(image.convert("RGBA"), layer.filter(ImageFilter.GaussianBlur(0.8)))
    return out.convert("RGB"), box


def _cannula(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """Nasal cannula tubing: across both cheeks under the nose, over the ears, down to the chest."""
    del rng, nrng
    x, y, w, h = box
    draw = ImageDraw.Draw(image := image.copy())
    colour, width = (222, 238, 228), max(2, w // 28)
    under_nose = y + 0.6 * h
    draw.line(
        (
            x - 0.25 * w,
            y + 0.35 * h,
            x + 0.2 * w,
            under_nose,
            x + 0.8 * w,
            under_nose,
            x + 1.25 * w,
            y + 0.35 * h,
        ),
        fill=colour,
        width=width,
        joint="curve",
    )
    for prong in (0.42, 0.58):
        draw.line((x + prong * w, under_nose, x + prong * w, under_nose - 0.07 * h), fill=colour, width=width)
    draw.line((x - 0.25 * w, y + 0.35 * h, x - 0.2 * w, y + 2.2 * h), fill=colour, width=width)
    return image.filter(ImageFilter.GaussianBlur(0.4)), box


def _lying(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """The head on a pillow photographed from the bedside: turned a quarter, on a sheet, a blanket below."""
    x, y, w, h = box
    margin = 1.1 * w
    crop = (
        int(max(0, x - margin)),
        int(max(0, y - margin)),
        int(min(image.width, x + w + margin)),
        int(min(image.height, y + h + margin * 1.4)),
    )
    head = image.crop(crop)
    turns = rng.choice((Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270))
    head = head.transpose(turns)
    sheet = rng.choice(_SHEETS)
    canvas_w, canvas_h = int(head.width * rng.uniform(1.8, 2.4)), int(head.height * rng.uniform(1.3, 1.6))
    noise = nrng.normal(0, 6, (canvas_h, canvas_w, 1))
    folds = 8 * np.sin(np.linspace(0, rng.uniform(6, 14), canvas_w))[None, :, None]
    canvas = Image.fromarray(np.clip(np.array(sheet, np.float32) + noise + folds, 0, 255).astype(np.uint8))
    ox, oy = int(canvas_w * rng.uniform(0.05, 0.15)), (canvas_h - head.height) // 2
    canvas.paste(head, (ox, oy))
    blanket = rng.choice(_SHEETS[1:])
    ImageDraw.Draw(canvas).rectangle(
        (ox + head.width - int(0.1 * head.width), 0, canvas_w, canvas_h), fill=blanket
    )
    return canvas.filter(ImageFilter.GaussianBlur(0.5)), (ox, oy, w, h)  # where exactly no longer matters


def _upside_down(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """Photographed from the head of the bed: the face upside down."""
    del rng, nrng
    x, y, w, h = box
    return image.transpose(Image.Transpose.ROTATE_180), (image.width - x - w, image.height - y - h, w, h)


def _cut(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """The frame cuts the face: a third to almost half of it is outside the photo."""
    del nrng
    x, y, w, h = box
    keep = rng.uniform(0.55, 0.7)
    side = rng.choice(("left", "right", "top"))
    if side == "left":
        crop = (int(x + (1 - keep) * w), 0, image.width, image.height)
    elif side == "right":
        crop = (0, 0, int(x + keep * w), image.height)
    else:
        crop = (0, int(y + (1 - keep) * h * 0.8), image.width, image.height)
    return image.crop(crop), (x - crop[0], y - crop[1], w, h)


def _small(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """A small face (20 to 40 px) in the background of a room: walls, a bed, a cabinet."""
    x, y, w, h = box
    target = rng.randint(20, 40)
    scale = target / w
    person = image.resize(
        (max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.Resampling.LANCZOS
    )
    canvas_w, canvas_h = rng.randint(1000, 1400), rng.randint(750, 1000)
    wall = np.array(rng.choice(((215, 210, 195), (200, 215, 220), (230, 225, 215))), np.float32)
    room = np.clip(wall + nrng.normal(0, 5, (canvas_h, canvas_w, 1)), 0, 255).astype(np.uint8)
    canvas = Image.fromarray(room)
    draw = ImageDraw.Draw(canvas)
    floor = int(canvas_h * rng.uniform(0.6, 0.7))
    draw.rectangle((0, floor, canvas_w, canvas_h), fill=(150, 150, 145))
    bed_x = rng.randint(0, canvas_w // 3)
    draw.rectangle((bed_x, floor - 140, bed_x + 420, floor + 60), fill=rng.choice(_SHEETS))
    cab_x = rng.randint(canvas_w // 2, canvas_w - 160)
    draw.rectangle((cab_x, floor - 260, cab_x + 140, floor + 20), fill=(170, 160, 140), outline=(90, 90, 90))
    px = rng.randint(canvas_w // 3, max(canvas_w // 3 + 1, canvas_w - person.width - 10))
    py = max(0, floor - person.height + rng.randint(0, person.height // 3))
    canvas.paste(person, (px, py))
    return canvas, (px + int(x * scale), py + int(y * scale), target, int(h * scale))


def _dark(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """A night-shift photo: little light, sensor noise, a little blur."""
    pixels = np.asarray(image, np.float32) / 255.0
    gain = rng.uniform(0.12, 0.3)
    pixels = (pixels**1.3) * gain * 255 + nrng.normal(0, rng.uniform(3, 7), pixels.shape)
    out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(0.6)), box


def _overexposed(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """A flash too close: highlights burnt out."""
    del nrng
    pixels = np.asarray(image, np.float32) * rng.uniform(1.6, 2.2) + rng.uniform(20, 50)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), box


def _darker_skin(
    image: Image.Image, box: Box, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, Box]:
    """Skin pixels around the face darkened and warmed toward a darker complexion (hair, eyes unchanged)."""
    del nrng
    x, y, w, h = box
    pixels = np.asarray(image, np.float32)
    ycc = np.asarray(image.convert("YCbCr"), np.float32)
    cb, cr = ycc[..., 1], ycc[..., 2]
    skin = (cr > 133) & (cr < 180) & (cb > 77) & (cb < 135)
    region = np.zeros(skin.shape, bool)
    region[max(0, int(y - 0.8 * h)) : int(y + 2.2 * h), max(0, int(x - 0.6 * w)) : int(x + 1.6 * w)] = True
    mask = Image.fromarray(((skin & region) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(3))
    weight = np.asarray(mask, np.float32)[..., None] / 255.0
    if not weight.any():  # the greyscale portrait: darken the face region itself
        weight = region[..., None].astype(np.float32) * 0.8
    factor = rng.uniform(0.35, 0.55)
    target = pixels * factor * np.array((1.0, 0.82, 0.7), np.float32)
    out = pixels * (1 - weight) + target * weight
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8)), box


def _camera(
    image: Image.Image, rng: random.Random, nrng: np.random.Generator
) -> tuple[Image.Image, dict[str, Any]]:
    """A phone photo's light touch: a little blur and noise."""
    blur = rng.uniform(0.0, 0.9)
    noise = rng.uniform(1.0, 4.0)
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(blur)), np.float32)
    noisy = pixels + nrng.normal(0, noise, pixels.shape)
    out = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    return out, {"kind": "camera", "blur": round(blur, 2), "noise": round(noise, 2)}


_APPLY = {
    "plain": _plain,
    "surgical_mask": _surgical_mask,
    "oxygen_mask": _oxygen_mask,
    "cannula": _cannula,
    "lying": _lying,
    "upside_down": _upside_down,
    "cut": _cut,
    "small": _small,
    "dark": _dark,
    "overexposed": _overexposed,
    "darker_skin": _darker_skin,
}
