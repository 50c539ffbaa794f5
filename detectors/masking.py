"""Solid masks over the regions that identify a patient: whole faces, lines of text, codes.

A mask is one flat colour over the whole region, never an eye bar (a face with a bar over the eyes is still
recognised by people who know it). Each kind of finding gets its own margin: BlazeFace boxes run from the
brows to the mouth, so a face mask is grown much more than a line of text, and more downward (the chin)
than sideways. Pure and synchronous: pixels in, new pixels out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from detectors.base import IDENTIFIER_KINDS, BoundingBox, Finding, FindingKind, RGBArray

#: A neutral dark grey: reads as "removed" on light and dark themes, and no detector sees anything in it.
FILL = (64, 64, 64)


@dataclass(frozen=True, slots=True)
class Margins:
    """How far a mask reaches past a box: fractions of the box's width/height, plus a few pixels."""

    left: float
    top: float
    right: float
    bottom: float
    pixels: int = 0
    #: Text lines: every side is a fraction of the line's *height* (a long line needs no wider margin).
    by_height: bool = False


#: BlazeFace's box is brows-to-mouth: the forehead above and the chin below need a lot more.
FACE_MARGINS = Margins(left=0.4, top=0.5, right=0.4, bottom=0.6)
#: A line of text: a few pixels and 15% of its height all round (descenders, accents, OCR's tight boxes).
TEXT_MARGINS = Margins(left=0.15, top=0.15, right=0.15, bottom=0.15, pixels=3, by_height=True)
#: A code: the whole symbol and its quiet zone.
BARCODE_MARGINS = Margins(left=0.1, top=0.1, right=0.1, bottom=0.1, pixels=4)
#: Anything else that has a box.
OTHER_MARGINS = Margins(left=0.25, top=0.25, right=0.25, bottom=0.25, pixels=2)

_TEXT_KINDS = IDENTIFIER_KINDS | {FindingKind.PLAIN_TEXT}


def margins_for(kind: FindingKind) -> Margins:
    """The margins a finding of ``kind`` is masked with."""
    if kind is FindingKind.FACE:
        return FACE_MARGINS
    if kind in _TEXT_KINDS:
        return TEXT_MARGINS
    if kind is FindingKind.BARCODE:
        return BARCODE_MARGINS
    return OTHER_MARGINS


def grown(box: BoundingBox, margins: Margins, *, grow: float = 1.0) -> BoundingBox:
    """``box`` with ``margins`` (all multiplied by ``grow``) added; not clipped to any frame."""
    across = box.height if margins.by_height else box.width
    down = box.height
    pad = margins.pixels * grow
    left = margins.left * across * grow + pad
    right = margins.right * across * grow + pad
    top = margins.top * down * grow + pad
    bottom = margins.bottom * down * grow + pad
    x0, y0 = int(np.floor(box.x - left)), int(np.floor(box.y - top))
    x1 = int(np.ceil(box.x + box.width + right))
    y1 = int(np.ceil(box.y + box.height + bottom))
    return BoundingBox(x0, y0, x1 - x0, y1 - y0)


def fill_boxes(pixels: RGBArray, boxes: Iterable[BoundingBox]) -> RGBArray:
    """A copy of ``pixels`` with every box (clipped to the frame) filled with :data:`FILL`."""
    out = np.array(pixels, dtype=np.uint8, copy=True)
    height, width = out.shape[:2]
    for box in boxes:
        x0, y0 = max(0, box.x), max(0, box.y)
        x1, y1 = min(width, box.x + box.width), min(height, box.y + box.height)
        if x1 > x0 and y1 > y0:
            out[y0:y1, x0:x1] = FILL
    return out


def mask_regions(pixels: RGBArray, boxes: Sequence[BoundingBox], *, margin: float = 0.25) -> RGBArray:
    """Mask ``boxes``, each grown by ``margin`` of its width and height on every side, with a solid fill."""
    margins = Margins(left=margin, top=margin, right=margin, bottom=margin)
    return fill_boxes(pixels, (grown(box, margins) for box in boxes))


def mask_findings(pixels: RGBArray, findings: Sequence[Finding], *, grow: float = 1.0) -> RGBArray:
    """Mask every finding that has a box, with the margins of its kind (times ``grow``).

    Findings without a box are ignored here: a caller that must hide everything refuses them first (see
    :func:`detectors.deidentify.deidentify`).
    """
    return fill_boxes(
        pixels, (grown(f.box, margins_for(f.kind), grow=grow) for f in findings if f.box is not None)
    )
