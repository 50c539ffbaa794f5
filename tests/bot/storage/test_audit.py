"""The audit log: append, export (CSV and JSON lines), keyed pseudonyms, and the database's refusal."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import DatabaseError

from bot.consent.model import UserRef
from bot.domain import ConsentState, Verdict
from bot.storage import BotDatabase
from bot.storage.audit import EXPORT_COLUMNS, AuditEvent, AuditLog, pseudonym
from tests.fakes.clock import START, MovableClock
from tests.fakes.database import run_sql, stored_bytes

KEY = b"k" * 32
POSTER = UserRef("telegram", "424242")
MODERATOR = UserRef("telegram", "777")


def _event(message_id: str, **changes: object) -> AuditEvent:
    values: dict[str, object] = {
        "platform": "telegram",
        "chat_id": "-1001234",
        "message_id": message_id,
        "poster": POSTER,
        "verdict": Verdict.QUARANTINE,
        "reason": "no-consent-identifying",
        "kinds": ["name", "face", "face"],
        "consent_state": ConsentState.MISSING,
    }
    values.update(changes)
    return AuditEvent(**values)  # type: ignore[arg-type]


@pytest.fixture
def log(db: BotDatabase, clock: MovableClock) -> AuditLog:
    return AuditLog(db, KEY, clock)


def test_export_jsonl_in_time_order_from_since(log: AuditLog, clock: MovableClock) -> None:
    log.record(_event("1"))
    clock.advance(minutes=5)
    log.record(_event("2", verdict=Verdict.ALLOW, reason="consent-valid", token_fingerprint="ab" * 32))
    # Recorded later but happened earlier: exported in event time order.
    log.record(
        _event(
            "3",
            time=START + timedelta(minutes=1),
            moderator=MODERATOR,
            decision="approved",
            verdict="quarantine",
        )
    )

    out = io.StringIO()
    assert log.export(START + timedelta(seconds=30), "jsonl", out) == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["message_id"] for row in rows] == ["3", "2"]
    assert all(list(row) == list(EXPORT_COLUMNS) for row in rows)
    assert rows[0]["moderator"] == pseudonym(KEY, MODERATOR)
    assert rows[0]["decision"] == "approved"
    assert rows[0]["time"] == (START + timedelta(minutes=1)).isoformat()
    assert rows[1]["token_fingerprint"] == "ab" * 32
    assert rows[1]["verdict"] == "allow"
    assert rows[1]["finding_kinds"] == ["face", "name"]
    assert rows[1]["consent_state"] == "missing"
    assert rows[1]["moderator"] is None

    everything = io.StringIO()
    assert log.export(START, "jsonl", everything) == 3


def test_export_csv(log: AuditLog) -> None:
    log.record(_event("1"))
    log.record(_event("2", consent_state=None))
    out = io.StringIO()
    assert log.export(START, "csv", out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["finding_kinds"] == "face;name"
    assert first["poster"] == log.pseudonymise(POSTER)
    assert first["time"] == START.isoformat()
    assert dict(zip(rows[0], rows[2], strict=True))["consent_state"] == ""


def test_no_user_id_in_the_export_or_the_file(
    log: AuditLog, db: BotDatabase, db_url: str, db_path: Path
) -> None:
    log.record(_event("1", moderator=MODERATOR, decision="rejected"))
    for fmt in ("csv", "jsonl"):
        out = io.StringIO()
        log.export(START, fmt, out)  # type: ignore[arg-type]
        assert POSTER.user_id not in out.getvalue()
        assert MODERATOR.user_id not in out.getvalue()
    db.close()
    content = stored_bytes(db_url, db_path)
    assert POSTER.user_id.encode() not in content


def test_pseudonyms_are_stable_and_keyed(db: BotDatabase) -> None:
    log = AuditLog(db, KEY)
    assert log.pseudonymise(POSTER) == log.pseudonymise(UserRef("telegram", "424242"))
    assert len(log.pseudonymise(POSTER)) == 16
    int(log.pseudonymise(POSTER), 16)
    assert log.pseudonymise(POSTER) != log.pseudonymise(UserRef("discord", "424242"))
    assert log.pseudonymise(POSTER) != AuditLog(db, b"x" * 32).pseudonymise(POSTER)
    assert "kkkk" not in repr(log)


def test_a_short_pseudonym_key_is_refused(db: BotDatabase) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        AuditLog(db, b"short")


def test_naive_since_and_unknown_format_are_refused(log: AuditLog) -> None:
    with pytest.raises(ValueError, match="aware"):
        log.export(START.replace(tzinfo=None), "csv", io.StringIO())
    with pytest.raises(ValueError, match="format"):
        log.export(START, "xml", io.StringIO())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_events SET verdict = 'allow'", "DELETE FROM audit_events"]
)
def test_the_database_refuses_to_rewrite_history(
    log: AuditLog, db: BotDatabase, db_url: str, statement: str
) -> None:
    log.record(_event("1"))
    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(db_url, statement)
    out = io.StringIO()
    assert log.export(START, "jsonl", out) == 1
    assert json.loads(out.getvalue())["verdict"] == "quarantine"
