"""The one composition root: the only place that turns Settings into concrete objects."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.storage.db import Clock, utc_now
from config.settings import Settings
from detectors.base import FrameDetector
from detectors.engine import ScanEngine
from detectors.loading import LoadLimits

if TYPE_CHECKING:
    from bot.consent.lookup import ConsentLookup
    from bot.pipeline import Moderator
    from bot.platforms.base import Platform
    from bot.scanning import ImageScanner
    from bot.storage import BotDatabase

log = logging.getLogger(__name__)


def build_scan_engine(settings: Settings) -> ScanEngine:
    """Create the detectors once (models load here) in cheapest-first order."""
    from detectors.barcodes import ZxingBarcodeDetector
    from detectors.faces import MediaPipeFaceDetector
    from detectors.text import OcrSettings, RapidOcrTextDetector

    detection = settings.detection
    detectors: list[FrameDetector] = []
    if detection.barcodes:
        detectors.append(ZxingBarcodeDetector())
    if detection.faces:
        detectors.append(MediaPipeFaceDetector())
    if detection.text:
        detectors.append(RapidOcrTextDetector(OcrSettings(threads=detection.ocr_threads)))
    limits = LoadLimits(
        max_file_bytes=int(detection.max_file_mb * 1024 * 1024),
        max_pixels=detection.max_pixels,
        max_frames=detection.max_frames,
    )
    return ScanEngine(detectors, limits)


def build_moderator(
    settings: Settings,
    *,
    platforms: dict[str, Platform],
    scanner: ImageScanner,
    consent: ConsentLookup,
    clock: Clock = utc_now,
    retry_delays_s: tuple[float, ...] = (30.0, 120.0, 600.0),
) -> tuple[Moderator, BotDatabase]:
    """Open the bot's storage under the data directory and wire the pipeline (keys created on first start)."""
    from bot.audit import AuditLog
    from bot.keys import load_keyring, load_pseudonym_key
    from bot.pipeline import Moderator, PayloadCodec
    from bot.policy import load_policy_file
    from bot.quarantine import QuarantineStore
    from bot.sealing import Sealer
    from bot.storage import bot_database_url, open_bot_database
    from bot.worklog import OffenceCounter, WorkLog

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keyring, key_message = load_keyring(settings)
    pseudonym_key, pseudonym_message = load_pseudonym_key(settings)
    for message in (key_message, pseudonym_message):
        if message:
            log.warning("%s", message)
    database = open_bot_database(bot_database_url(settings))
    # One clock for everything that stamps time: a test that moves it moves the whole bot.
    audit = AuditLog(database, pseudonym_key, clock)
    sealer = Sealer(keyring, b"consentguard worklog v1")
    moderator = Moderator(
        platforms=platforms,
        policies=load_policy_file(settings.policy_file),
        scanner=scanner,
        consent=consent,
        quarantine=QuarantineStore(database, keyring, clock),
        audit=audit,
        worklog=WorkLog(database, clock),
        offences=OffenceCounter(database, clock),
        pseudonymise=audit.pseudonymise,
        token_key=pseudonym_key,
        payload_codec=PayloadCodec(sealer.seal, sealer.open),
        retry_delays_s=retry_delays_s,
        clock=clock,
    )
    return moderator, database
