"""The photo around the object: a coloured background, an angle, a tilt, blur, low light, glare, JPEG.

Everything is drawn from the image's own generators, and every step is recorded with its parameters
(``{"kind": "perspective", "strength": 0.07}``) so a miss can be traced to what the photo went through.
A ``severity`` ("mild", "moderate", "severe") bounds the draws: most images are moderate, and even severe
ones keep the identifying text at a size and contrast a person could still read.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from bot.evalset.layouts import Drawn

SEVERITIES: dict[str, float] = {"mild": 0.3, "moderate": 0.55, "severe": 0.15}

#: severity -> (probability, low, high) per step; the ranges widen with severity
_FILL = {"mild": (0.7, 0.92), "moderate": (0.5, 0.85), "severe": (0.35, 0.7)}
_MIN_TEXT_PX = {"mild": 16.0, "moderate": 12.0, "severe": 10.0}
_PERSPECTIVE = {"mild": (0.3, 0.01, 0.04), "moderate": (0.6, 0.03, 0.09), "severe": (0.85, 0.08, 0.15)}
_ROTATION = {"mild": (0.4, 0.5, 3.0), "moderate": (0.6, 1.0, 6.0), "severe": (0.8, 3.0, 10.0)}
_BLUR = {"mild": (0.3, 0.4, 0.9), "moderate": (0.55, 0.6, 1.5), "severe": (0.8, 1.0, 2.2)}
_LOW_LIGHT = {"mild": (0.15, 0.65, 0.85), "moderate": (0.3, 0.45, 0.7), "severe": (0.5, 0.3, 0.5)}
_GLARE = {"mild": (0.15, 0.3, 0.5), "moderate": (0.3, 0.4, 0.65), "severe": (0.5, 0.55, 0.8)}
_JPEG = {"mild": (75, 92), "moderate": (55, 85), "severe": (30, 60)}

_BACKGROUNDS: tuple[tuple[int, int, int], ...] = (
    (200, 190, 170),  # beige wall
    (120, 150, 190),  # blue sheet
    (110, 160, 130),  # green scrubs
    (90, 90, 95),  # grey desk
    (140, 100, 70),  # wood
    (225, 225, 230),  # white sheet
    (60, 60, 70),  # dark room
    (180, 120, 150),  # pink blanket
)


@dataclass(slots=True)
class Photo:
    """The encoded photo and what was done to it."""

    data: bytes
    extension: str
    width: int
    height: int
    text_px: float
    steps: list[dict[str, Any]] = field(default_factory=list)


def draw_severity(rng: random.Random) -> str:
    """Mild, moderate (most) or severe."""
    return rng.choices(list(SEVERITIES), weights=list(SEVERITIES.values()))[0]


def _perspective_coefficients(
    source: list[tuple[float, float]], target: list[tuple[float, float]]
) -> tuple[float, ...]:
    # PIL maps each output pixel (target) back to an input pixel (source).
    matrix = []
    vector: list[float] = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        vector.extend((u, v))
    solution = np.linalg.solve(np.asarray(matrix, dtype=np.float64), np.asarray(vector, dtype=np.float64))
    return tuple(float(c) for c in solution)


def warp_corners(
    size: tuple[int, int], rng: random.Random, strength: float, degrees: float
) -> list[tuple[float, float]]:
    """Where the object's corners land when seen at an angle (``strength``) and tilted (``degrees``).

    One side recedes by ``strength`` of the size (a real angle), each corner jitters a little, then the
    whole quadrilateral turns by ``degrees`` about its centre. Returns the corners, shifted to start at 0.
    """
    w, h = size
    corners = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    moved = list(corners)
    if strength:
        side = rng.randrange(4)
        moved = []
        for i, (x, y) in enumerate(corners):
            dx = rng.uniform(-0.25, 0.25) * strength * w
            dy = rng.uniform(-0.25, 0.25) * strength * h
            if i in (side, (side + 1) % 4):
                dx += (w / 2 - x) * strength
                dy += (h / 2 - y) * strength
            moved.append((x + dx, y + dy))
    if degrees:
        cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        cx, cy = w / 2, h / 2
        moved = [
            (cx + (x - cx) * cos + (y - cy) * sin, cy - (x - cx) * sin + (y - cy) * cos) for x, y in moved
        ]
    min_x, min_y = min(p[0] for p in moved), min(p[1] for p in moved)
    return [(x - min_x, y - min_y) for x, y in moved]


def warp(image: Image.Image, target: list[tuple[float, float]]) -> Image.Image:
    """The image (RGBA) drawn into the quadrilateral ``target`` (one bilinear pass, transparent outside)."""
    w, h = image.size
    corners = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    size = (math.ceil(max(p[0] for p in target)), math.ceil(max(p[1] for p in target)))
    coefficients = _perspective_coefficients(corners, target)
    return image.transform(size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR)


def _background(
    rng: random.Random, nrng: np.random.Generator, size: tuple[int, int]
) -> tuple[Image.Image, list[int]]:
    base = np.array(rng.choice(_BACKGROUNDS), np.float32) + np.array([rng.uniform(-20, 20) for _ in range(3)])
    w, h = size
    small_w, small_h = max(2, w // 16), max(2, h // 16)
    gradient = np.linspace(rng.uniform(0.75, 1.0), rng.uniform(0.9, 1.15), small_w, dtype=np.float32)
    texture = nrng.normal(0, 6, (small_h, small_w, 1)).astype(np.float32)
    pixels = base[None, None, :] * gradient[None, :, None] + texture
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    return image, [round(float(c)) for c in np.clip(base, 0, 255)]


def _motion_blur(image: Image.Image, length: int, angle: float) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32)
    out = np.zeros_like(pixels)
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    for step in range(length):
        t = step - (length - 1) / 2
        out += np.roll(pixels, (round(t * dy), round(t * dx)), axis=(0, 1))
    return Image.fromarray(np.clip(out / length + 0.5, 0, 255).astype(np.uint8))


def _glare(
    image: Image.Image, center: tuple[float, float], radii: tuple[float, float], peak: float
) -> Image.Image:
    # The highlight's alpha is smooth: compute it at 1/8 size and enlarge it.
    w, h = image.size
    small = (max(2, w // 8), max(2, h // 8))
    yy, xx = np.mgrid[0 : small[1], 0 : small[0]].astype(np.float32)
    cx, cy, rx, ry = center[0] / 8, center[1] / 8, radii[0] / 8, radii[1] / 8
    alpha = peak * np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
    mask = Image.fromarray(np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)).resize(
        (w, h), Image.Resampling.BILINEAR
    )
    return Image.composite(Image.new("RGB", (w, h), (255, 255, 250)), image, mask)


def photograph(drawn: Drawn, rng: random.Random, nrng: np.random.Generator, severity: str) -> Photo:
    """Put the object in a phone photo (or a screenshot for screens) and encode it."""
    longest = rng.randint(640, 1280)
    steps: list[dict[str, Any]] = []
    obj = drawn.image.convert("RGB")
    screenshot = drawn.screen and severity == "mild" and rng.random() < 0.5
    if screenshot:
        scale = longest / max(obj.size)
        size = (round(obj.width * scale), round(obj.height * scale))
        scene = obj.resize(size, Image.Resampling.BILINEAR)
        text_px = drawn.text_px * scale
        steps.append({"kind": "screenshot"})
    else:
        landscape = obj.width >= obj.height
        ratio = rng.choice((4 / 3, 16 / 9, 3 / 2))
        size = (longest, round(longest / ratio)) if landscape else (round(longest / ratio), longest)
        scene, color = _background(rng, nrng, size)
        low, high = _FILL[severity]
        fill = rng.uniform(low, high)
        scale = fill * min(size[0] / obj.width, size[1] / obj.height)
        if drawn.text_px and drawn.text_px * scale < _MIN_TEXT_PX[severity]:
            scale = min(
                _MIN_TEXT_PX[severity] / drawn.text_px, 0.97 * min(size[0] / obj.width, size[1] / obj.height)
            )
        steps.append(
            {
                "kind": "background",
                "rgb": color,
                "fill": round(scale / min(size[0] / obj.width, size[1] / obj.height), 3),
            }
        )
        resized = obj.resize(
            (max(1, round(obj.width * scale)), max(1, round(obj.height * scale))), Image.Resampling.BILINEAR
        ).convert("RGBA")
        chance, low, high = _PERSPECTIVE[severity]
        strength = rng.uniform(low, high) if rng.random() < chance else 0.0
        chance, low, high = _ROTATION[severity]
        degrees = rng.uniform(low, high) * rng.choice((-1, 1)) if rng.random() < chance else 0.0
        if strength or degrees:
            resized = warp(resized, warp_corners(resized.size, rng, strength, degrees))
        if strength:
            steps.append({"kind": "perspective", "strength": round(strength, 3)})
        if degrees:
            steps.append({"kind": "rotation", "degrees": round(degrees, 2)})
        fit = min(1.0, 0.98 * size[0] / resized.width, 0.98 * size[1] / resized.height)
        if fit < 1.0:
            resized = resized.resize(
                (max(1, int(resized.width * fit)), max(1, int(resized.height * fit))),
                Image.Resampling.BICUBIC,
            )
            scale *= fit
        text_px = drawn.text_px * scale
        x = rng.randint(0, size[0] - resized.width)
        y = rng.randint(0, size[1] - resized.height)
        scene.paste(resized, (x, y), resized)
    if drawn.text_px and text_px < 16:
        steps.append({"kind": "small_text", "text_px": round(text_px, 1)})
    image = scene
    chance, low, high = _BLUR[severity]
    if not screenshot and rng.random() < chance:
        cap = max(0.5, 0.1 * text_px) if drawn.text_px else high
        if rng.random() < 0.3:
            length = max(
                2, min(round(rng.uniform(3, 5 + 6 * high)), round(0.35 * text_px) if drawn.text_px else 12)
            )
            angle = rng.uniform(0, 180)
            image = _motion_blur(image, length, angle)
            steps.append({"kind": "motion_blur", "length": length, "angle": round(angle, 1)})
        else:
            radius = min(rng.uniform(low, high), cap)
            image = image.filter(ImageFilter.GaussianBlur(radius))
            steps.append({"kind": "gaussian_blur", "radius": round(radius, 2)})
    chance, low, high = _GLARE[severity]
    if not screenshot and rng.random() < chance:
        w, h = image.size
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        rx, ry = rng.uniform(0.08, 0.3) * w, rng.uniform(0.05, 0.2) * h
        peak = rng.uniform(low, high)
        image = _glare(image, (cx, cy), (rx, ry), peak)
        steps.append(
            {
                "kind": "glare",
                "peak": round(peak, 3),
                "center": [round(cx), round(cy)],
                "radii": [round(rx), round(ry)],
            }
        )
    chance, low, high = _LOW_LIGHT[severity]
    if not screenshot and rng.random() < chance:
        factor = rng.uniform(low, high)
        sigma = (
            rng.uniform(3, 6) if severity == "mild" else rng.uniform(5, 10 if severity == "moderate" else 14)
        )
        pixels = np.asarray(image, dtype=np.float32) * factor
        pixels += nrng.standard_normal(pixels.shape, dtype=np.float32) * sigma
        image = Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))
        steps.append({"kind": "low_light", "factor": round(factor, 3), "noise_sigma": round(sigma, 2)})
    buffer = io.BytesIO()
    if screenshot and rng.random() < 0.5:
        image.save(buffer, "PNG", optimize=False)
        extension = "png"
        steps.append({"kind": "png"})
    else:
        low_q, high_q = _JPEG[severity]
        quality = rng.randint(low_q, high_q)
        image.save(buffer, "JPEG", quality=quality)
        extension = "jpg"
        steps.append({"kind": "jpeg", "quality": quality})
    return Photo(buffer.getvalue(), extension, image.width, image.height, round(text_px, 1), steps)
