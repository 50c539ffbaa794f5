"""Recording doubles of the pipeline's ports: a platform, a consent registry and a scanner."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.consent.model import (
    ChatRef,
    ConsentRecord,
    ConsentStatus,
    ConsentUse,
    Revocation,
    ScopeProblem,
    UserRef,
)
from bot.consent.token import ConsentToken, parse_token
from bot.core.takedown import registry_fingerprint
from bot.domain import FetchBytes
from bot.errors import ConsentApiUnavailableError, ConsentUseRefusedError
from detectors.base import Finding, FindingKind
from detectors.engine import ScanReport


@dataclass
class Sent:
    """One call made to the platform."""

    action: str
    chat: ChatRef | None = None
    user: UserRef | None = None
    text: str = ""
    message_ids: tuple[str, ...] = ()
    item_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class RecordingPlatform:
    """A Platform that records every action; users listed in ``closed_dms`` refuse private messages."""

    name = "telegram"

    def __init__(self, images: dict[str, bytes] | None = None) -> None:
        self.calls: list[Sent] = []
        #: What delete_messages does: "ok", "refuse" (the platform says no) or "raise" (a network fault).
        self.delete_behaviour = "ok"
        self.closed_dms: set[UserRef] = set()
        self.images = images or {}
        self.deleted_event = asyncio.Event()
        #: What deletion_window() answers (None: any age, as Discord).
        self.window: timedelta | None = None

    def actions(self, action: str) -> list[Sent]:
        return [c for c in self.calls if c.action == action]

    async def delete_messages(
        self, chat: ChatRef, message_ids: tuple[str, ...], thread_id: str | None = None
    ) -> bool:
        if self.delete_behaviour == "raise":
            self.calls.append(Sent("delete_failed", chat=chat, message_ids=message_ids))
            raise ConnectionError("platform unreachable")
        if self.delete_behaviour == "refuse":
            self.calls.append(Sent("delete_refused", chat=chat, message_ids=message_ids))
            return False
        self.calls.append(Sent("delete", chat=chat, message_ids=message_ids))
        self.deleted_event.set()
        return True

    def deletion_window(self) -> timedelta | None:
        return self.window

    def message_link(self, chat: ChatRef, message_id: str) -> str | None:
        return f"https://chat.example/{chat.chat_id}/{message_id}"

    async def send_private(self, user: UserRef, text: str) -> bool:
        if user in self.closed_dms:
            self.calls.append(Sent("private_refused", user=user))
            return False
        self.calls.append(Sent("private", user=user, text=text))
        return True

    async def send_group_notice(self, chat: ChatRef, text: str, ttl_s: int, thread_id: str | None) -> None:
        self.calls.append(Sent("group_notice", chat=chat, text=text, extra={"ttl_s": ttl_s}))

    async def notify_moderators(
        self, chat: ChatRef, review_chat: ChatRef | None, text: str, item_id: str | None
    ) -> None:
        self.calls.append(Sent("moderators", chat=chat, text=text, item_id=item_id))

    def mention(self, user: UserRef, name: str) -> str:
        return f"@{name}"

    def start_link(self) -> str | None:
        return "https://t.me/consentguard_bot?start=why"

    def fetcher(self, chat: ChatRef, image_id: str) -> FetchBytes:
        async def fetch() -> bytes:
            return self.images[image_id]

        return fetch


class FakeConsentLookup:
    """A ConsentLookup with records set by the test; ``down`` makes every call fail."""

    def __init__(self) -> None:
        self.records: dict[str, ConsentRecord] = {}
        self.uses: list[tuple[str, ConsentUse]] = []
        self.down = False
        self.refuse_uses: ScopeProblem | None = None
        self.lookups = 0
        #: The revocation feed (GET /v1/revocations), and the ``since`` of every read of it.
        self.revocations: list[Revocation] = []
        self.revocation_reads: list[datetime] = []
        self.feed_down = False

    async def lookup(self, token: ConsentToken) -> ConsentRecord:
        self.lookups += 1
        if self.down:
            raise ConsentApiUnavailableError("consent API unreachable: ConnectError")
        return self.records.get(token.compact, ConsentRecord(status=ConsentStatus.UNKNOWN))

    async def record_use(self, token: ConsentToken, use: ConsentUse) -> None:
        if self.down:
            raise ConsentApiUnavailableError("consent API unreachable: ConnectError")
        if self.refuse_uses is not None:
            raise ConsentUseRefusedError(self.refuse_uses)
        self.uses.append((token.compact, use))

    async def revocations_since(self, since: datetime) -> list[Revocation]:
        self.revocation_reads.append(since)
        if self.down or self.feed_down:
            raise ConsentApiUnavailableError("consent API unreachable: ConnectError")
        return sorted((r for r in self.revocations if r.revoked_at >= since), key=lambda r: r.revoked_at)

    def revoke(self, token: str, at: datetime) -> None:
        """The patient withdraws consent: the token is revoked and published in the feed at ``at``."""
        parsed = parse_token(token)
        self.records[parsed.compact] = ConsentRecord(status=ConsentStatus.REVOKED)
        self.revocations.append(Revocation(registry_fingerprint(parsed), at))

    async def aclose(self) -> None:
        return None


class StubScanner:
    """An ImageScanner whose verdict is written in the image bytes: b"FACE...", b"CLEAN...", b"FAIL..."...

    b"PK\x03\x04..." (a zip) is reported as the engine reports a file it cannot look into.
    """

    def __init__(self) -> None:
        self.scanned: list[bytes] = []
        self.gate: asyncio.Event | None = None  # when set, scans wait for it (to observe early removal)

    async def scan(self, data: bytes, name_hint: str) -> ScanReport:
        self.scanned.append(data)
        if self.gate is not None:
            await self.gate.wait()
        report = ScanReport()
        if data.startswith(b"FACE"):
            report.findings.append(Finding(FindingKind.FACE, "faces", 0.9, True, "human face"))
        elif data.startswith(b"NAME"):
            report.findings.append(Finding(FindingKind.PERSON_NAME, "text", 0.9, True, "a name"))
        elif data.startswith(b"SLIDE"):
            report.findings.append(Finding(FindingKind.PLAIN_TEXT, "text", 0.9, False, "text"))
        elif data.startswith(b"PK\x03\x04"):  # a zip: a kind of file the engine cannot look into
            report.error, report.error_type = "not a kind of file the bot can check", "UnsupportedImageError"
        elif data.startswith(b"FAIL"):
            report.error, report.error_type = "scan exceeded its budget", "ScanTimeout"
        elif data.startswith(b"CANCEL"):
            raise asyncio.CancelledError  # what a pool restart does to the scans it cancels
        elif data.startswith(b"BOOM"):
            raise RuntimeError("scanner bug")
        return report

    async def aclose(self) -> None:
        return None


def utc(year: int = 2026, month: int = 11, day: int = 29, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
