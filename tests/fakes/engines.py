"""Scan engines for the process-pool tests: module-level factories, so spawned workers can import them.

The bytes say what the worker does: b"SLOW" sleeps a little, b"HANG" never returns (a detector stuck in native
code), b"CRASH" kills the worker process (a decoder segfault), b"FACE" finds a face; anything else is clean.
"""

from __future__ import annotations

import os
import time

from detectors.base import Finding, FindingKind
from detectors.engine import ScanEngine, ScanReport

#: How long a b"SLOW" image takes: well under the tests' budgets, long enough to make a queue.
SLOW_S = 0.25


class MarkerEngine(ScanEngine):
    """A ScanEngine whose behaviour is written in the first bytes of each file."""

    def scan(self, data: bytes, *, name_hint: str = "", exhaustive: bool = False) -> ScanReport:
        if data.startswith(b"HANG"):
            time.sleep(3600)
        if data.startswith(b"CRASH"):
            os._exit(3)
        if data.startswith(b"SLOW"):
            time.sleep(SLOW_S)
        report = ScanReport(format="MARKER", frames=1)
        if b"FACE" in data[:16]:
            report.findings.append(Finding(FindingKind.FACE, "faces", 0.9, True, "human face"))
        return report


def marker_engine() -> ScanEngine:
    """The factory handed to ProcessPoolScanner (picklable: a module-level function)."""
    return MarkerEngine([])
