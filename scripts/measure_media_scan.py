"""Time the full scan engine (verdict mode) on generated videos and PDFs.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python scripts/measure_media_scan.py``. Prints the
median of three scans per file; the files come from tests/mediagen.py (nothing patient-related is read).
"""

from __future__ import annotations

import statistics
import time

from bot.scanning import build_scan_engine
from config.settings import DetectionSettings
from tests.imagegen import astronaut, wound_like_image
from tests.mediagen import face_pdf_on_page, pdf_bytes, video_bytes


def main() -> None:
    wound = wound_like_image().resize((1280, 720))
    face = astronaut().resize((1280, 720))
    files = {
        "30 s 1280x720 30 fps H.264, clean": video_bytes([wound] * 900, fps=30, size=(1280, 720)),
        "same, face from 20 s": video_bytes([wound] * 600 + [face] * 300, fps=30, size=(1280, 720)),
        "3-page PDF, clean": pdf_bytes([wound_like_image(seed=i) for i in range(3)]),
        "3-page PDF, face on page 2": face_pdf_on_page(2),
    }
    with build_scan_engine(DetectionSettings()) as engine:
        engine.scan(b"")  # load the models before timing
        for name, data in files.items():
            times = []
            for _ in range(3):
                started = time.perf_counter()
                report = engine.scan(data)
                times.append(time.perf_counter() - started)
            print(
                f"{name}: median {statistics.median(times):.2f} s, identifying={report.identifying}, "
                f"kinds={report.kinds}, frames={report.frames}, decode {report.timings_ms['decode']:.0f} ms"
            )


if __name__ == "__main__":
    main()
