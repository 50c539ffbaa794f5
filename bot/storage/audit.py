"""The append-only audit log: what the bot decided about each post, and which moderator decided what.

An event names the post by platform, chat and message id, and people by a keyed pseudonym (HMAC-SHA256,
16 hex characters): the log can be exported to a data protection officer without exposing who posted. It
never holds an image, a caption, a consent token (only the caller's fingerprint of it) or a name.

Append-only: :class:`AuditLog` has no way to change or remove an event, and the migration adds triggers
that make SQLite and PostgreSQL refuse any UPDATE or DELETE (and TRUNCATE) of the table, whoever asks.
Retiring old events is therefore an explicit operator migration, never a side effect of the bot.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Literal, TextIO

from sqlalchemy import select

from bot.consent.model import UserRef
from bot.domain import AuditEvent, Clock, utc_now
from bot.sqlbase import writing
from bot.storage.db import AuditEventRow, BotDatabase

#: Columns of an export, in order; stable: tools downstream read them by name and position.
EXPORT_COLUMNS = (
    "id",
    "time",
    "platform",
    "chat_id",
    "message_id",
    "poster",
    "verdict",
    "reason",
    "finding_kinds",
    "consent_state",
    "token_fingerprint",
    "moderator",
    "decision",
    "posted_at",  # added later: appended, so that the earlier columns keep their positions
)
PSEUDONYM_HEX_CHARS = 16
MIN_PSEUDONYM_KEY_BYTES = 16
_EXPORT_BATCH = 500

ExportFormat = Literal["csv", "jsonl"]


def pseudonym(key: bytes, user: UserRef) -> str:
    """The keyed pseudonym of ``user``: stable for one key, unlinkable to the user id without it."""
    digest = hmac.new(key, f"{user.platform}:{user.user_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_CHARS]


class AuditLog:
    """Appends events to the bot database and exports them; never changes or removes one."""

    def __init__(self, db: BotDatabase, pseudonym_key: bytes, clock: Clock = utc_now) -> None:
        if len(pseudonym_key) < MIN_PSEUDONYM_KEY_BYTES:
            raise ValueError(f"the pseudonym key must be at least {MIN_PSEUDONYM_KEY_BYTES} bytes")
        self._sessions = db.sessions
        self._key = pseudonym_key
        self._clock = clock

    def __repr__(self) -> str:
        return "AuditLog(pseudonym_key=<redacted>)"

    def pseudonymise(self, user: UserRef) -> str:
        """The pseudonym this log gives ``user`` (the offence counter keys on it too)."""
        return pseudonym(self._key, user)

    def record(self, event: AuditEvent) -> None:
        """Append ``event``."""
        now = self._clock()
        row = AuditEventRow(
            time=event.time or now,
            recorded_at=now,
            platform=event.platform,
            chat_id=event.chat_id,
            message_id=event.message_id,
            poster=self.pseudonymise(event.poster),
            verdict=str(event.verdict),
            reason=event.reason,
            finding_kinds=json.dumps(sorted(set(event.kinds))),
            consent_state=None if event.consent_state is None else str(event.consent_state),
            token_fingerprint=event.token_fingerprint,
            moderator=None if event.moderator is None else self.pseudonymise(event.moderator),
            decision=event.decision,
            posted_at=event.posted_at,
        )
        with writing(self._sessions) as session:
            session.add(row)

    def export(self, since: datetime, fmt: ExportFormat, out: TextIO) -> int:
        """Write every event from ``since`` (inclusive) to ``out``, in time order; returns how many.

        ``csv`` has a header row and joins finding kinds with ``;``; ``jsonl`` writes one JSON object per
        line with the kinds as a list. Both use :data:`EXPORT_COLUMNS`, in that order.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        return write_export(self._rows(since), fmt, out)

    def _rows(self, since: datetime) -> Iterator[dict[str, Any]]:
        query = (
            select(AuditEventRow)
            .where(AuditEventRow.time >= since)
            .order_by(AuditEventRow.time, AuditEventRow.id)
            .execution_options(yield_per=_EXPORT_BATCH)  # a long log is streamed, not loaded at once
        )
        with self._sessions() as session:
            for row in session.scalars(query):
                yield export_record(row)


def export_record(row: AuditEventRow) -> dict[str, Any]:
    """One event as an export writes it: the :data:`EXPORT_COLUMNS`, in order."""
    return {
        "id": row.id,
        "time": row.time.isoformat(),
        "platform": row.platform,
        "chat_id": row.chat_id,
        "message_id": row.message_id,
        "poster": row.poster,
        "verdict": row.verdict,
        "reason": row.reason,
        "finding_kinds": json.loads(row.finding_kinds),
        "consent_state": row.consent_state,
        "token_fingerprint": row.token_fingerprint,
        "moderator": row.moderator,
        "decision": row.decision,
        "posted_at": None if row.posted_at is None else row.posted_at.isoformat(),
    }


def write_export(records: Iterable[dict[str, Any]], fmt: ExportFormat, out: TextIO) -> int:
    """Write ``records`` (from :func:`export_record`) to ``out`` as ``csv`` or ``jsonl``; returns how many.

    ``csv`` has a header row and joins finding kinds with ``;``; ``jsonl`` writes one JSON object per line
    with the kinds as a list.
    """
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r}: csv or jsonl")
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(EXPORT_COLUMNS)
    written = 0
    for record in records:
        if writer is not None:
            writer.writerow(
                ";".join(value) if isinstance(value, list) else ("" if value is None else value)
                for value in record.values()
            )
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        written += 1
    return written
