"""Detection off the event loop: adapters of the ImageScanner port (bot.core.ports).

``ProcessPoolScanner`` runs the detectors in worker processes (the bot); ``InlineScanner`` in a thread
(the demo, tests). ``build_scan_engine`` makes a worker's engine from the detection settings.
"""

from bot.scanning.engine import build_scan_engine
from bot.scanning.inline import InlineScanner
from bot.scanning.process_pool import EngineFactory, ProcessPoolScanner

__all__ = ["EngineFactory", "InlineScanner", "ProcessPoolScanner", "build_scan_engine"]
