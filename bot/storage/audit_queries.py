"""Reading the audit log for the console: one group's history (filtered, paged, exported) and its figures.

Read-only: this module never writes to ``audit_events`` (the table is append-only anyway). Every query is
scoped to one group (platform and chat id): another group's events never come out of it.

Four kinds of event are told apart by who wrote them (:class:`EventKind`):

- *post*: the bot's judgement of a post (the pipeline), no moderator; ``retry:`` reasons are the later
  re-judgements of a held post, ``removal-refused`` / ``removal-failed`` decisions say the platform would not
  or could not delete it;
- *moderator*: a moderator's action (``revealed``, ``approved``, ``rejected``, ``policy-changed``);
- *takedown*: a post removed after the fact because its consent was withdrawn (``consent-withdrawn``);
- *poster*: a poster put up the de-identified version of their removed post (``deidentified-repost``): not
  a judgement, so it never changes how the removed post is counted.

Weekly figures, per ISO week (Monday 00:00 UTC to the next Monday), each event counted in the week of its
``time`` (see :meth:`SqlAuditHistory.weekly`):

- *posts judged by verdict*: distinct posts (message ids) whose final judgement fell in the week, counted
  under that final judgement's verdict. The final judgement is a post's latest *post* event that is not a
  ``retry:`` re-judgement (a refused removal is audited twice, a post resumed after a fault may be judged
  again: each post counts once).
- *removal time*: for each post whose final judgement is ``delete`` or ``quarantine``, was carried out
  (decision empty) and never had a ``removal-refused`` event, the final judgement's time minus when the
  post was sent (``posted_at``; events from before it was recorded have none and are left out), at least
  zero. The event is written once the bot has removed the post and told the poster and the moderators, so
  this is an upper bound of how long the post stayed visible. p50 and p95 by the nearest-rank method (the
  smallest sample with at least that share of samples at or below it); none when the week has no sample.
- *approvals after quarantine*: moderator ``approved`` events (each puts a held post back: an estimate of
  false alarms, to read against the week's ``quarantine`` count); *rejections*: ``rejected`` events.
- *takedowns*: ``consent-withdrawn`` events whose removal was carried out; *takedowns not removed*: those
  the platform refused or that were too old to remove.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from sqlalchemy import ColumnElement, Select, select

from bot.consent.model import ChatRef
from bot.core.deidentified import REPOST_DECISION
from bot.core.takedown import WITHDRAWN_REASON
from bot.domain import Verdict
from bot.storage.audit import ExportFormat, export_record, write_export
from bot.storage.db import AuditEventRow, BotDatabase

#: Prefix of the reason of a held post's later re-judgement (the pipeline's retries).
RETRY_PREFIX = "retry:"
#: The decision of a post judgement whose removal the platform refused.
REMOVAL_REFUSED = "removal-refused"
_REMOVING = frozenset({Verdict.DELETE.value, Verdict.QUARANTINE.value})
_EXPORT_BATCH = 500


class EventKind(enum.StrEnum):
    """Who wrote an audit event: the pipeline about a post, a moderator, or a takedown after withdrawal."""

    POST = "post"
    MODERATOR = "moderator"
    TAKEDOWN = "takedown"
    POSTER = "poster"


@dataclass(frozen=True, slots=True)
class HistoryFilters:
    """Which events of a group to show or export; each field left None does not filter."""

    since: datetime | None = None  # inclusive, timezone-aware
    until: datetime | None = None  # exclusive, timezone-aware
    kind: EventKind | None = None
    verdict: str | None = None
    decision: str | None = None
    poster: str | None = None  # a keyed pseudonym


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One audit event as the history shows it: pseudonyms and kinds, never content."""

    id: int
    time: datetime
    kind: EventKind
    message_id: str
    poster: str
    verdict: str
    reason: str
    kinds: tuple[str, ...]
    consent_state: str | None
    moderator: str | None
    decision: str | None
    posted_at: datetime | None


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One ISO week's figures for one group (definitions in this module's docstring)."""

    start: date  # the week's Monday (UTC)
    label: str  # e.g. "2026-W05"
    verdicts: dict[str, int] = field(default_factory=dict)
    removals: int = 0  # how many removal times were measured
    removal_p50_s: float | None = None
    removal_p95_s: float | None = None
    approvals: int = 0
    rejections: int = 0
    takedowns: int = 0
    takedowns_not_removed: int = 0

    @property
    def judged(self) -> int:
        """How many posts were judged in the week, whatever the verdict."""
        return sum(self.verdicts.values())


def event_kind(row: AuditEventRow) -> EventKind:
    """Which kind of event ``row`` is (see :class:`EventKind`)."""
    if row.moderator is not None:
        return EventKind.MODERATOR
    if row.reason == WITHDRAWN_REASON:
        return EventKind.TAKEDOWN
    if row.reason == REPOST_DECISION:
        return EventKind.POSTER
    return EventKind.POST


def week_start(moment: datetime) -> date:
    """The Monday (UTC) of the ISO week holding ``moment``."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def nearest_rank(samples: Sequence[float], percent: int) -> float | None:
    """The ``percent``-th percentile of ``samples`` by the nearest-rank method; None when there are none."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, -(-percent * len(ordered) // 100))  # ceil(percent/100 * n), at least the first
    return ordered[rank - 1]


class SqlAuditHistory:
    """One group's audit events from the bot database: filtered and paged, exported, summed up by week."""

    def __init__(self, db: BotDatabase) -> None:
        self._sessions = db.sessions

    def events(
        self, chat: ChatRef, filters: HistoryFilters, limit: int, offset: int = 0
    ) -> list[HistoryEvent]:
        """``chat``'s events that pass ``filters``, newest first, ``limit`` of them from ``offset``."""
        query = (
            self._select(chat, filters)
            .order_by(AuditEventRow.time.desc(), AuditEventRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._sessions() as session:
            return [_history_event(row) for row in session.scalars(query)]

    def export(self, chat: ChatRef, filters: HistoryFilters, fmt: ExportFormat, out: TextIO) -> int:
        """Write ``chat``'s events that pass ``filters`` to ``out``, oldest first; returns how many.

        The format is the audit log's (:func:`bot.storage.audit.write_export`, its columns and their order).
        """
        query = (
            self._select(chat, filters)
            .order_by(AuditEventRow.time, AuditEventRow.id)
            .execution_options(yield_per=_EXPORT_BATCH)  # a long log is streamed, not loaded at once
        )

        def records() -> Iterator[dict[str, object]]:
            with self._sessions() as session:
                for row in session.scalars(query):
                    yield export_record(row)

        return write_export(records(), fmt, out)

    def weekly(self, chat: ChatRef, weeks: int, now: datetime) -> list[WeekFigures]:
        """``chat``'s figures for the ``weeks`` ISO weeks up to the one holding ``now``, oldest first."""
        if weeks < 1:
            raise ValueError("weeks must be at least 1")
        first = week_start(now) - timedelta(weeks=weeks - 1)
        starts = [first + timedelta(weeks=n) for n in range(weeks)]
        begin = datetime.combine(first, time(), UTC)
        end = begin + timedelta(weeks=weeks)
        query = (
            self._select(chat, HistoryFilters(since=begin, until=end))
            .order_by(AuditEventRow.time, AuditEventRow.id)
            .execution_options(yield_per=_EXPORT_BATCH)
        )
        tally = {start: _WeekTally() for start in starts}
        judgements: dict[str, list[AuditEventRow]] = {}
        with self._sessions() as session:
            for row in session.scalars(query):
                kind = event_kind(row)
                week = tally[week_start(row.time)]
                if kind is EventKind.MODERATOR:
                    week.approvals += row.decision == "approved"
                    week.rejections += row.decision == "rejected"
                elif kind is EventKind.TAKEDOWN:
                    if row.decision is None:
                        week.takedowns += 1
                    else:
                        week.takedowns_not_removed += 1
                elif kind is EventKind.POST and not row.reason.startswith(RETRY_PREFIX):
                    judgements.setdefault(row.message_id, []).append(row)
        for events in judgements.values():
            final = events[-1]  # time order: the latest non-retry judgement
            week = tally[week_start(final.time)]
            week.verdicts[final.verdict] = week.verdicts.get(final.verdict, 0) + 1
            refused = any(event.decision == REMOVAL_REFUSED for event in events)
            if final.verdict in _REMOVING and final.decision is None and not refused and final.posted_at:
                week.removal_s.append(max(0.0, (final.time - final.posted_at).total_seconds()))
        return [tally[start].figures(start) for start in starts]

    @staticmethod
    def _select(chat: ChatRef, filters: HistoryFilters) -> Select[AuditEventRow]:
        return select(AuditEventRow).where(*_conditions(chat, filters))


@dataclass
class _WeekTally:
    verdicts: dict[str, int] = field(default_factory=dict)
    removal_s: list[float] = field(default_factory=list)
    approvals: int = 0
    rejections: int = 0
    takedowns: int = 0
    takedowns_not_removed: int = 0

    def figures(self, start: date) -> WeekFigures:
        year, week, _ = start.isocalendar()
        return WeekFigures(
            start=start,
            label=f"{year}-W{week:02d}",
            verdicts=dict(sorted(self.verdicts.items())),
            removals=len(self.removal_s),
            removal_p50_s=nearest_rank(self.removal_s, 50),
            removal_p95_s=nearest_rank(self.removal_s, 95),
            approvals=self.approvals,
            rejections=self.rejections,
            takedowns=self.takedowns,
            takedowns_not_removed=self.takedowns_not_removed,
        )


def _conditions(chat: ChatRef, filters: HistoryFilters) -> list[ColumnElement[bool]]:
    conditions = [AuditEventRow.platform == chat.platform, AuditEventRow.chat_id == chat.chat_id]
    if filters.since is not None:
        conditions.append(AuditEventRow.time >= filters.since)
    if filters.until is not None:
        conditions.append(AuditEventRow.time < filters.until)
    if filters.verdict is not None:
        conditions.append(AuditEventRow.verdict == filters.verdict)
    if filters.decision is not None:
        conditions.append(AuditEventRow.decision == filters.decision)
    if filters.poster is not None:
        conditions.append(AuditEventRow.poster == filters.poster)
    if filters.kind is EventKind.MODERATOR:
        conditions.append(AuditEventRow.moderator.is_not(None))
    elif filters.kind is EventKind.TAKEDOWN:
        conditions += [AuditEventRow.moderator.is_(None), AuditEventRow.reason == WITHDRAWN_REASON]
    elif filters.kind is EventKind.POSTER:
        conditions += [AuditEventRow.moderator.is_(None), AuditEventRow.reason == REPOST_DECISION]
    elif filters.kind is EventKind.POST:
        conditions += [
            AuditEventRow.moderator.is_(None),
            AuditEventRow.reason.not_in([WITHDRAWN_REASON, REPOST_DECISION]),
        ]
    return conditions


def _history_event(row: AuditEventRow) -> HistoryEvent:
    return HistoryEvent(
        id=row.id,
        time=row.time,
        kind=event_kind(row),
        message_id=row.message_id,
        poster=row.poster,
        verdict=row.verdict,
        reason=row.reason,
        kinds=tuple(json.loads(row.finding_kinds)),
        consent_state=row.consent_state,
        moderator=row.moderator,
        decision=row.decision,
        posted_at=row.posted_at,
    )
