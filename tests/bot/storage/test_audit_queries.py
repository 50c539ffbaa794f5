"""One group's audit history: filters, pages, exports (never another group's), weekly figures, migration."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError

from bot.consent.model import ChatRef, UserRef
from bot.core.deidentified import REPOST_DECISION
from bot.core.takedown import WITHDRAWN_REASON
from bot.domain import AuditEvent
from bot.storage import BotDatabase, open_bot_database
from bot.storage.audit import EXPORT_COLUMNS, AuditLog
from bot.storage.audit_queries import (
    EventKind,
    HistoryFilters,
    SqlAuditHistory,
    WeekFigures,
    nearest_rank,
    week_start,
)
from bot.storage.migrations import SCRIPT_LOCATION
from tests.fakes.clock import MovableClock

KEY = b"k" * 32
GROUP = ChatRef("telegram", "-100111")
OTHER = ChatRef("telegram", "-100222")
POSTER = UserRef("telegram", "4242")
SECOND_POSTER = UserRef("telegram", "5151")
MODERATOR = UserRef("telegram", "777")
#: Monday of ISO week 2026-W10.
W10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
W11 = W10 + timedelta(weeks=1)


@pytest.fixture
def log(db: BotDatabase, clock: MovableClock) -> AuditLog:
    return AuditLog(db, KEY, clock)


@pytest.fixture
def history(db: BotDatabase) -> SqlAuditHistory:
    return SqlAuditHistory(db)


def _judged(
    log: AuditLog,
    at: datetime,
    message_id: str,
    verdict: str,
    *,
    chat: ChatRef = GROUP,
    after_s: float | None = None,
    reason: str = "no-consent",
    decision: str | None = None,
    poster: UserRef = POSTER,
) -> None:
    """A pipeline judgement at ``at`` of a post sent ``after_s`` seconds earlier (None: unknown)."""
    log.record(
        AuditEvent(
            time=at,
            platform=chat.platform,
            chat_id=chat.chat_id,
            message_id=message_id,
            poster=poster,
            verdict=verdict,
            reason=reason,
            kinds=["face"],
            consent_state="missing",
            decision=decision,
            posted_at=None if after_s is None else at - timedelta(seconds=after_s),
        )
    )


def _moderated(log: AuditLog, at: datetime, message_id: str, decision: str, chat: ChatRef = GROUP) -> None:
    log.record(
        AuditEvent(
            time=at,
            platform=chat.platform,
            chat_id=chat.chat_id,
            message_id=message_id,
            poster=POSTER,
            verdict="quarantine",
            reason=f"moderator-{decision}",
            moderator=MODERATOR,
            decision=decision,
        )
    )


def _taken_down(log: AuditLog, at: datetime, message_id: str, decision: str | None = None) -> None:
    log.record(
        AuditEvent(
            time=at,
            platform=GROUP.platform,
            chat_id=GROUP.chat_id,
            message_id=message_id,
            poster=POSTER,
            verdict="delete",
            reason=WITHDRAWN_REASON,
            consent_state="revoked",
            decision=decision,
        )
    )


def _a_week_of_events(log: AuditLog) -> None:
    """Week 2026-W10 of GROUP, with a few events around it that must not count."""
    _judged(log, W10, "1", "delete", after_s=4)
    _judged(log, W10 + timedelta(hours=1), "2", "quarantine", after_s=10)
    _judged(log, W10 + timedelta(hours=2), "3", "allow", reason="consent-valid", after_s=1)
    # A refused removal is audited twice (refused, then the verdict): one post, no removal time.
    _judged(log, W10 + timedelta(hours=3), "4", "quarantine", after_s=2, decision="removal-refused")
    _judged(log, W10 + timedelta(hours=3, seconds=1), "4", "quarantine", after_s=3)
    _judged(log, W10 + timedelta(hours=4), "5", "delete")  # sent when? unknown: counted, not timed
    _judged(log, W10 + timedelta(hours=5), "6", "monitor", after_s=1, poster=SECOND_POSTER)
    # A later re-judgement of the held post 2 is not a second judgement of it.
    _judged(log, W10 + timedelta(hours=6), "2", "allow", reason="retry:consent-valid", after_s=99)
    _moderated(log, W10 + timedelta(hours=7), "2", "revealed")
    _moderated(log, W10 + timedelta(hours=8), "2", "approved")
    _moderated(log, W10 + timedelta(hours=9), "4", "rejected")
    _taken_down(log, W10 + timedelta(days=2), "7")
    _taken_down(log, W10 + timedelta(days=2, hours=1), "8", "removal-too-old")
    # Another group the same week, and this group the week before the window.
    _judged(log, W10, "1", "delete", chat=OTHER, after_s=500)
    _moderated(log, W10, "1", "approved", chat=OTHER)
    _judged(log, W10 - timedelta(weeks=2), "0", "delete", after_s=7)


def test_weekly_figures_by_iso_week(log: AuditLog, history: SqlAuditHistory) -> None:
    _a_week_of_events(log)
    for n in range(1, 21):  # W11: twenty posts removed 1 to 20 seconds after they were sent
        _judged(log, W11 + timedelta(minutes=n), f"w11-{n}", "delete", after_s=n)

    weeks = history.weekly(GROUP, 3, W11 + timedelta(days=2))

    assert [week.label for week in weeks] == ["2026-W09", "2026-W10", "2026-W11"]
    assert weeks[0] == WeekFigures(start=datetime(2026, 2, 23).date(), label="2026-W09")
    assert weeks[1] == WeekFigures(
        start=W10.date(),
        label="2026-W10",
        verdicts={"allow": 1, "delete": 2, "monitor": 1, "quarantine": 2},
        removals=2,
        removal_p50_s=4.0,
        removal_p95_s=10.0,
        approvals=1,
        rejections=1,
        takedowns=1,
        takedowns_not_removed=1,
    )
    assert weeks[1].judged == 6
    assert weeks[2].verdicts == {"delete": 20}
    assert (weeks[2].removals, weeks[2].removal_p50_s, weeks[2].removal_p95_s) == (20, 10.0, 19.0)


def test_weekly_counts_a_post_in_the_week_of_its_last_judgement(
    log: AuditLog, history: SqlAuditHistory
) -> None:
    # Resumed after a fault: "removal-failed" on Sunday, removed on Monday (timed from when it was sent).
    sunday = W11 - timedelta(hours=1)
    _judged(log, sunday, "1", "delete", after_s=60, decision="removal-failed")
    _judged(log, W11, "1", "delete", after_s=3660)
    weeks = history.weekly(GROUP, 2, W11)
    assert [week.verdicts for week in weeks] == [{}, {"delete": 1}]
    assert weeks[1].removal_p50_s == 3660.0


def test_weekly_needs_a_week(history: SqlAuditHistory) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        history.weekly(GROUP, 0, W10)


@pytest.mark.parametrize(
    ("samples", "percent", "expected"),
    [
        ([], 50, None),
        ([7.0], 95, 7.0),
        ([4.0, 10.0], 50, 4.0),
        ([4.0, 10.0], 95, 10.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        ([float(n) for n in range(1, 101)], 95, 95.0),
        ([float(n) for n in range(1, 101)], 0, 1.0),
    ],
)
def test_nearest_rank(samples: list[float], percent: int, expected: float | None) -> None:
    assert nearest_rank(samples, percent) == expected


def test_week_start_is_the_iso_monday_in_utc() -> None:
    sunday_night = datetime(2026, 3, 8, 23, 59, tzinfo=UTC)
    assert week_start(sunday_night) == W10.date()
    assert week_start(W11) == W11.date()


def test_events_newest_first_paged_and_only_the_group(log: AuditLog, history: SqlAuditHistory) -> None:
    _a_week_of_events(log)
    everything = history.events(GROUP, HistoryFilters(), limit=100)
    assert len(everything) == 14
    assert [event.time for event in everything] == sorted((event.time for event in everything), reverse=True)
    assert everything[0].message_id == "8"
    assert everything[0].kind is EventKind.TAKEDOWN
    assert all(event.posted_at is None or event.posted_at < event.time for event in everything)
    first, second = history.events(GROUP, HistoryFilters(), 5), history.events(GROUP, HistoryFilters(), 5, 5)
    assert [event.id for event in first + second] == [event.id for event in everything[:10]]
    assert {event.message_id for event in history.events(OTHER, HistoryFilters(), 100)} == {"1"}
    assert history.events(ChatRef("discord", "-100111"), HistoryFilters(), 100) == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (HistoryFilters(kind=EventKind.MODERATOR), ["4", "2", "2"]),
        (HistoryFilters(kind=EventKind.TAKEDOWN), ["8", "7"]),
        (HistoryFilters(kind=EventKind.POST, verdict="delete"), ["5", "1", "0"]),
        (HistoryFilters(verdict="monitor"), ["6"]),
        (HistoryFilters(decision="removal-refused"), ["4"]),
        (HistoryFilters(decision="approved"), ["2"]),
        (HistoryFilters(since=W10 + timedelta(hours=5), until=W10 + timedelta(hours=7)), ["2", "6"]),
        (HistoryFilters(until=W10), ["0"]),
    ],
)
def test_filters(
    log: AuditLog, history: SqlAuditHistory, filters: HistoryFilters, expected: list[str]
) -> None:
    _a_week_of_events(log)
    assert [event.message_id for event in history.events(GROUP, filters, 100)] == expected


def test_filter_by_poster_pseudonym(log: AuditLog, history: SqlAuditHistory) -> None:
    _a_week_of_events(log)
    found = history.events(GROUP, HistoryFilters(poster=log.pseudonymise(SECOND_POSTER)), 100)
    assert [(event.message_id, event.poster) for event in found] == [("6", log.pseudonymise(SECOND_POSTER))]
    assert SECOND_POSTER.user_id not in repr(found)


def test_export_csv_has_the_audit_columns_and_only_the_group(log: AuditLog, history: SqlAuditHistory) -> None:
    _a_week_of_events(log)
    out = io.StringIO()
    assert history.export(GROUP, HistoryFilters(kind=EventKind.POST, verdict="delete"), "csv", out) == 3
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert rows[0][-1] == "posted_at"
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [record["message_id"] for record in records] == ["0", "1", "5"]  # oldest first
    assert {record["chat_id"] for record in records} == {GROUP.chat_id}
    assert records[1]["posted_at"] == (W10 - timedelta(seconds=4)).isoformat()
    assert records[2]["posted_at"] == ""
    assert records[1]["finding_kinds"] == "face"


def test_export_jsonl_never_holds_another_group(log: AuditLog, history: SqlAuditHistory) -> None:
    _a_week_of_events(log)
    out = io.StringIO()
    assert history.export(GROUP, HistoryFilters(), "jsonl", out) == 14
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {(record["platform"], record["chat_id"]) for record in records} == {("telegram", GROUP.chat_id)}
    assert all(list(record) == list(EXPORT_COLUMNS) for record in records)
    assert POSTER.user_id not in out.getvalue()
    assert MODERATOR.user_id not in out.getvalue()
    other = io.StringIO()
    assert history.export(OTHER, HistoryFilters(), "jsonl", other) == 2


def test_export_refuses_an_unknown_format(history: SqlAuditHistory) -> None:
    with pytest.raises(ValueError, match="csv or jsonl"):
        history.export(GROUP, HistoryFilters(), "xml", io.StringIO())  # type: ignore[arg-type]


def _alembic(db: BotDatabase, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_migration_0005_adds_posted_at_and_keeps_the_log_append_only(
    db_url: str, log: AuditLog, db: BotDatabase, db_path: Path
) -> None:
    _judged(log, W10, "1", "delete", after_s=4)
    _alembic(db, "downgrade", "0004")
    assert "posted_at" not in {column["name"] for column in inspect(db.engine).get_columns("audit_events")}
    with db.engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM consentguard_bot_alembic_version")).scalar()
            == "0004"
        )
        assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar() == 1
    db.close()

    reopened = open_bot_database(db_url)  # upgrades to head again
    try:
        columns = {column["name"] for column in inspect(reopened.engine).get_columns("audit_events")}
        assert "posted_at" in columns
        indexes = {index["name"] for index in inspect(reopened.engine).get_indexes("audit_events")}
        assert "ix_audit_events_chat_time" in indexes
        # The older event has no sending time; the triggers still refuse to rewrite it.
        assert SqlAuditHistory(reopened).events(GROUP, HistoryFilters(), 10)[0].posted_at is None
        with pytest.raises(DatabaseError, match="append-only"), reopened.engine.begin() as connection:
            connection.execute(text("UPDATE audit_events SET posted_at = time"))
        with pytest.raises(DatabaseError, match="append-only"), reopened.engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_events"))
    finally:
        reopened.close()


def test_a_deidentified_repost_is_the_posters_act_not_a_judgement(
    log: AuditLog, history: SqlAuditHistory
) -> None:
    # Removed, then its poster put up the masked version: still one removal, and one poster's act.
    _judged(log, W11, "1", "delete", after_s=3)
    _judged(log, W11 + timedelta(minutes=5), "1", "allow", reason=REPOST_DECISION, decision=REPOST_DECISION)
    [week] = history.weekly(GROUP, 1, W11)
    assert week.verdicts == {"delete": 1}
    assert week.removal_p50_s == 3.0
    posts = history.events(GROUP, HistoryFilters(kind=EventKind.POST), 10)
    assert [event.verdict for event in posts] == ["delete"]
    [repost] = history.events(GROUP, HistoryFilters(kind=EventKind.POSTER), 10)
    assert (repost.kind, repost.decision) == (EventKind.POSTER, REPOST_DECISION)
