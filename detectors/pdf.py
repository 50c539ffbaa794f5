"""PDFs (scanned letters, reports, "scan document" photos): every page rendered to pixels, from memory.

PDFium renders each page as a viewer would (page rotation, annotations and filled-in form fields
included) at a size where OCR reads a scanned A4 letter, capped by the loader's ``max_side``. A PDF with
more pages than the limit cannot be checked in time and is refused whole: scanning only its first pages
would let a patient's photo hide on page 21.

A PDF that needs a password to open is reported as :class:`UnsupportedImageError`, like an encrypted
archive: nobody without the password sees its pages, and the group's policy for files the bot cannot look
into applies. A PDF that PDFium cannot parse is :class:`CorruptImageError`.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from detectors.base import DecodedMedia, Frame, RGBArray
from detectors.errors import CorruptImageError, ImageTooLargeError, UnsupportedImageError
from detectors.limits import LoadLimits
from detectors.pixels import fit

#: PDFium is not thread-safe, and the inline scanner runs scans in threads: one render at a time per
#: process (the scan workers are separate processes, so they still render in parallel).
_PDFIUM_LOCK = threading.Lock()

#: Never render a tiny page (a business card, a 1x1 pt page) above this zoom: 10 x 72 = 720 dpi.
_MAX_SCALE = 10.0

_PASSWORD_ERRORS = frozenset({pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY})


def load_pdf(data: bytes, limits: LoadLimits) -> DecodedMedia:
    """Render every page of ``data`` as a frame labelled "page N", or raise a typed ImageError."""
    with _PDFIUM_LOCK:
        deadline = time.monotonic() + limits.decode_budget_s
        document = _open(data)
        try:
            pages = len(document)
            if pages == 0:
                raise CorruptImageError("PDF has no pages")
            if pages > limits.pdf_max_pages:
                raise ImageTooLargeError(f"PDF has {pages} pages, over the {limits.pdf_max_pages}-page limit")
            # Form fields are drawn only once the form environment exists (a filled-in referral letter).
            document.init_forms()
            frames = []
            for index in range(pages):
                if time.monotonic() > deadline:
                    raise ImageTooLargeError(
                        f"PDF takes longer than the {limits.decode_budget_s:g} s decode budget to render"
                    )
                frames.append(Frame(_render(document, index, limits), f"page {index + 1}"))
        except pdfium.PdfiumError as exc:
            raise CorruptImageError(f"cannot render PDF page: {type(exc).__name__}") from exc
        finally:
            document.close()
    return DecodedMedia(format="PDF", frames=frames, findings=[], frame_count=pages)


def _open(data: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code in _PASSWORD_ERRORS:
            raise UnsupportedImageError("password-protected PDF: the bot cannot look into it") from exc
        raise CorruptImageError("malformed PDF: PDFium cannot open it") from exc


def _render(document: pdfium.PdfDocument, index: int, limits: LoadLimits) -> RGBArray:
    page = document[index]
    try:
        width, height = page.get_size()
        if not (width > 0 and height > 0):
            raise CorruptImageError(f"PDF page {index + 1} has no area")
        side = min(limits.pdf_render_side, limits.max_side)
        scale = min(side / max(width, height), _MAX_SCALE)
        bitmap = page.render(scale=scale, may_draw_forms=True, draw_annots=True)
        try:
            pixels = np.asarray(bitmap.to_pil().convert("RGB"), dtype=np.uint8)
        finally:
            bitmap.close()
    finally:
        page.close()
    return fit(pixels, limits.max_side)
