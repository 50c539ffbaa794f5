"""What the front end and the detection workers share over Redis: key names, sealed jobs, stored results.

One Redis Stream holds the scan jobs; the workers read it as one consumer group, so each job goes to one
worker and stays *pending* until that worker acknowledges it; a job whose worker died is claimed by another
after ``claim_idle_s`` (its delivery count grows; past ``max_deliveries`` it goes to the dead-letter stream).

A job's id is a keyed hash of its file name and bytes: the same image enqueued twice (a front end restarted,
a job lost in a Redis restart and enqueued again) has one id, hence one result. The result is written with
``SET NX`` in the same MULTI/EXEC as the acknowledgement: a job is acknowledged only with its result stored,
and the first result stored is the one every reader gets (a post is judged once, on one answer).

Images travel sealed (AES-256-GCM, bound to the job id) with the queue key, which opens nothing else: Redis
and its memory dumps never hold a readable patient image. Results carry finding kinds and summaries only, and
a MAC with the queue key bound to the job id: whoever can write to Redis but holds no key cannot slip a
"clean" answer in (the front end takes an unauthenticated result for a failed scan, and quarantines).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from detectors.base import Finding, FindingKind
from detectors.engine import ScanReport

_NONCE_BYTES = 12
#: The consumer group every worker joins.
GROUP = "workers"
#: Error type of a job given up after ``max_deliveries``: the pipeline quarantines its post.
DEAD_LETTER = "DeadLetter"
#: What a job asks: a scan (its result a report), or a de-identified rendering (a sealed JPEG, or none).
JobKind = Literal["scan", "deidentify"]
SCAN: JobKind = "scan"
DEIDENTIFY: JobKind = "deidentify"


@dataclass(frozen=True, slots=True)
class QueueKeys:
    """The Redis keys of one deployment (``prefix``): several may share one Redis."""

    prefix: str

    @property
    def jobs(self) -> str:
        """The stream of scan jobs."""
        return f"{self.prefix}:scan:jobs"

    @property
    def dead(self) -> str:
        """The dead-letter stream: job ids and delivery counts only (no image, no file name)."""
        return f"{self.prefix}:scan:dead"

    @property
    def done(self) -> str:
        """The channel on which workers announce stored results (a wake-up; the result key is the truth)."""
        return f"{self.prefix}:scan:done"

    @property
    def workers(self) -> str:
        """A hash of the live workers: consumer name -> the Unix time it last said it was alive."""
        return f"{self.prefix}:scan:workers"

    def result(self, job_id: str) -> str:
        """Where a job's result is stored."""
        return f"{self.prefix}:scan:result:{job_id}"


class JobSealer:
    """Seals a job's image for the queue and opens it in a worker; ids are keyed hashes of the content."""

    __slots__ = ("_aead", "_id_key", "_result_key")

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the queue key must be 32 bytes")
        self._aead = AESGCM(key)
        # A separate key for ids: an id must not let anyone test a guess of the image without the key.
        self._id_key = hmac.new(key, b"consentguard scan job id", hashlib.sha256).digest()
        self._result_key = hmac.new(key, b"consentguard scan result", hashlib.sha256).digest()

    def job_id(self, data: bytes, name_hint: str, kind: JobKind = SCAN) -> str:
        """The job's id: the same kind, bytes and name always give the same id."""
        prefix = kind.encode("ascii") + b"\0" + name_hint.encode("utf-8", "replace") + b"\0"
        return hmac.new(self._id_key, prefix + data, hashlib.sha256).hexdigest()[:40]

    def seal_bytes(self, aad: str, data: bytes) -> bytes:
        """Encrypt ``data`` bound to ``aad`` (a rendering, bound to its job)."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, aad.encode("ascii"))

    def open_bytes(self, aad: str, sealed: bytes) -> bytes:
        """Decrypt what :meth:`seal_bytes` sealed with the same ``aad``; ValueError otherwise."""
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], aad.encode("ascii"))
        except (InvalidTag, ValueError):
            raise ValueError("the sealed bytes do not open with this queue key") from None

    def seal(self, job_id: str, data: bytes, name_hint: str) -> bytes:
        """Encrypt the image and its name (names can identify: ``dupont_jean.jpg``), bound to the job id."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        name = name_hint.encode("utf-8", "replace")
        plaintext = len(name).to_bytes(2, "big") + name[:65535] + data
        return nonce + self._aead.encrypt(nonce, plaintext, job_id.encode("ascii"))

    def sign_result(self, job_id: str, result: str) -> str:
        """``result`` with its MAC in front, bound to the job: what a worker stores."""
        return self._result_mac(job_id, result) + ":" + result

    def verify_result(self, job_id: str, stored: str | bytes) -> str | None:
        """The result a worker signed for this job, or None when the MAC does not match."""
        text = stored.decode("utf-8", "replace") if isinstance(stored, bytes) else stored
        mac, _sep, result = text.partition(":")
        if not hmac.compare_digest(mac, self._result_mac(job_id, result)):
            return None
        return result

    def _result_mac(self, job_id: str, result: str) -> str:
        message = job_id.encode("ascii", "replace") + b"\0" + result.encode("utf-8")
        return hmac.new(self._result_key, message, hashlib.sha256).hexdigest()

    def open(self, job_id: str, sealed: bytes) -> tuple[bytes, str]:
        """The image and its name; raises ValueError when the job does not open with this key."""
        try:
            plaintext = self._aead.decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], job_id.encode("ascii")
            )
        except (InvalidTag, ValueError):
            raise ValueError("the scan job does not open with this queue key") from None
        size = int.from_bytes(plaintext[:2], "big")
        return plaintext[2 + size :], plaintext[2 : 2 + size].decode("utf-8", "replace")


def encode_report(report: ScanReport) -> str:
    """A result as JSON: kinds, detectors and summaries (no boxes, no text read, no payload)."""
    return json.dumps(
        {
            "findings": [
                {
                    "kind": finding.kind.value,
                    "detector": finding.detector,
                    "confidence": finding.confidence,
                    "identifying": finding.identifying,
                    "summary": finding.summary,
                    "frame": finding.frame,
                }
                for finding in report.findings
            ],
            "timings_ms": report.timings_ms,
            "format": report.format,
            "frames": report.frames,
            "error": report.error,
            "error_type": report.error_type,
            "skipped": report.skipped,
        },
        separators=(",", ":"),
    )


def decode_report(text: str | bytes) -> ScanReport:
    """The report a worker stored; an unreadable one is a failed scan (the post is quarantined)."""
    try:
        data: dict[str, Any] = json.loads(text)
        findings = [
            Finding(
                kind=FindingKind(item["kind"]),
                detector=str(item["detector"]),
                confidence=float(item["confidence"]),
                identifying=bool(item["identifying"]),
                summary=str(item["summary"]),
                frame=str(item.get("frame", "")),
            )
            for item in data["findings"]
        ]
        return ScanReport(
            findings=findings,
            timings_ms={str(k): float(v) for k, v in data.get("timings_ms", {}).items()},
            format=data.get("format"),
            frames=int(data.get("frames", 0)),
            error=data.get("error"),
            error_type=data.get("error_type"),
            skipped=[str(s) for s in data.get("skipped", [])],
        )
    except (ValueError, KeyError, TypeError):
        return ScanReport(error="unreadable scan result", error_type="DetectorError")


def encode_rendering(sealer: JobSealer, job_id: str, jpeg: bytes | None) -> str:
    """A de-identified rendering as a result: the JPEG sealed (it is still a clinical image), or none."""
    if jpeg is None:
        return json.dumps({"jpeg": None})
    sealed = sealer.seal_bytes(f"{job_id}:rendering", jpeg)
    return json.dumps({"jpeg": base64.b64encode(sealed).decode("ascii")})


def decode_rendering(sealer: JobSealer, job_id: str, text: str) -> bytes | None:
    """The JPEG a worker rendered for ``job_id``; None when it rendered none or the result is unreadable."""
    try:
        encoded = json.loads(text).get("jpeg")
        if encoded is None:
            return None
        return sealer.open_bytes(f"{job_id}:rendering", base64.b64decode(encoded, validate=True))
    except (ValueError, AttributeError, TypeError, binascii.Error):
        return None


def dead_letter_report(deliveries: int) -> ScanReport:
    """The result of a job given up after ``deliveries`` deliveries (each ended with its worker gone)."""
    return ScanReport(error=f"scan job given up after {deliveries} deliveries", error_type=DEAD_LETTER)
