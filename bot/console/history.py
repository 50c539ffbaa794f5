"""The history and figures pages: one group's audit log (filters, pages, CSV and JSONL export) and its weeks.

Read-only, and scoped like the queue: a group out of the session's reach answers 404, as an unknown one
does, and every query names the group, so another group's events never show nor leave in an export. The
pages show pseudonyms, verdicts, reasons and finding kinds, never content. Charts are inline SVG drawn here
(presentation attributes only: the CSP allows no style attribute and no script).

The figures are defined in :mod:`bot.storage.audit_queries`.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
import asyncio
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, TextIO
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import Response

from bot.consent.model import ChatRef
from bot.console.history_texts import HistoryTexts, history_texts_for
from bot.console.web import ConsoleWeb, image_headers
from bot.storage.audit import ExportFormat
from bot.storage.audit_queries import EventKind, HistoryEvent, HistoryFilters, WeekFigures

#: Events per history page.
PAGE_SIZE = 50
#: Weeks on the figures page (the current one and those before it).
FIGURE_WEEKS = 8
#: Verdicts in the order the filters, tables and charts show them.
VERDICTS = ("allow", "quarantine", "delete", "monitor", "policy")
DECISIONS = (
    "approved",
    "rejected",
    "revealed",
    "policy-changed",
    "removal-refused",
    "removal-failed",
    "removal-too-old",
    "deidentified-repost",
)
COLOURS = {"allow": "#2e7d32", "quarantine": "#ef6c00", "delete": "#a40000", "monitor": "#0b4f8a"}
_OTHER_COLOUR = "#777777"
_KINDS = frozenset(kind.value for kind in EventKind)
_FILTER_FIELDS = ("from", "to", "kind", "verdict", "decision", "poster")
_POSTER = re.compile(r"^[0-9a-f]{16}$")
_MAX_PAGE = 100_000
_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


class AuditHistory(Protocol):
    """One group's audit events, read-only (:class:`~bot.storage.audit_queries.SqlAuditHistory`)."""

    def events(
        self, chat: ChatRef, filters: HistoryFilters, limit: int, offset: int = 0
    ) -> list[HistoryEvent]:
        """``chat``'s events that pass ``filters``, newest first."""
        ...

    def export(self, chat: ChatRef, filters: HistoryFilters, fmt: ExportFormat, out: TextIO) -> int:
        """Write ``chat``'s events that pass ``filters`` to ``out``; returns how many."""
        ...

    def weekly(self, chat: ChatRef, weeks: int, now: datetime) -> list[WeekFigures]:
        """``chat``'s figures for the ``weeks`` ISO weeks up to ``now``'s, oldest first."""
        ...


class RejectionNotes(Protocol):
    """Rejecting moderators' notes, sealed with their quarantine items (``Quarantine.notes``)."""

    def notes(self, chat: ChatRef, message_ids: Sequence[str]) -> dict[str, str]:
        """The live notes of ``chat``'s rejected items among ``message_ids``, by message id."""
        ...


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """The filters of a history request, the fields as given (to refill the form) and the page."""

    filters: HistoryFilters
    values: dict[str, str]
    page: int

    def link(self, **changes: str | int) -> str:
        """``?`` and the query string of these filters with ``changes`` (another page, a format); or ""."""
        values = {**self.values, **{name: str(value) for name, value in changes.items()}}
        if values.get("page") == "1":  # the first page is the page without a number
            del values["page"]
        query = urlencode({name: value for name, value in values.items() if value})
        return f"?{query}" if query else ""


def parse_query(params: Mapping[str, str]) -> HistoryQuery | None:
    """The filters of a history request's query string; None when one of them is not valid."""
    values = {name: params.get(name, "").strip() for name in _FILTER_FIELDS}
    values = {name: value for name, value in values.items() if value}
    try:
        since = _day(values.get("from"))
        last = _day(values.get("to"))
        page = int(params.get("page", "1") or "1")
    except ValueError:
        return None
    kind = values.get("kind")
    verdict = values.get("verdict")
    decision = values.get("decision")
    poster = values.get("poster")
    if (
        not 1 <= page <= _MAX_PAGE
        or (kind is not None and kind not in _KINDS)
        or (verdict is not None and verdict not in VERDICTS)
        or (decision is not None and decision not in DECISIONS)
        or (poster is not None and not _POSTER.match(poster))
    ):
        return None
    filters = HistoryFilters(
        since=since,
        until=None if last is None else last + timedelta(days=1),  # "to" is the last day shown
        kind=None if kind is None else EventKind(kind),
        verdict=verdict,
        decision=decision,
        poster=poster,
    )
    return HistoryQuery(filters, values, page)


def _day(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.combine(date.fromisoformat(text), time(), UTC)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One event as the history table shows it (pseudonyms and kinds, never content)."""

    time: str
    kind: str
    message_id: str
    poster: str
    verdict: str
    reason: str
    kinds: str
    moderator: str
    decision: str
    #: A rejecting moderator's free note, while its item's retention lasts ("" otherwise).
    note: str = ""


def history_row(event: HistoryEvent, h: HistoryTexts, notes: Mapping[str, str] | None = None) -> HistoryRow:
    """How the history shows ``event`` (with the rejection note of its message, from ``notes``)."""
    note = (notes or {}).get(event.message_id, "") if event.decision == "rejected" else ""
    return HistoryRow(
        time=event.time.strftime("%Y-%m-%d %H:%M:%S UTC"),
        kind=h.event_kinds.get(event.kind.value, event.kind.value),
        message_id=event.message_id,
        poster=event.poster,
        verdict=h.verdicts.get(event.verdict, event.verdict),
        reason=event.reason,
        kinds=", ".join(event.kinds),
        moderator=event.moderator or "",
        decision="" if event.decision is None else h.decisions.get(event.decision, event.decision),
        note=note,
    )


@dataclass(frozen=True, slots=True)
class FigureRow:
    """One week as the figures table shows it."""

    label: str
    judged: int
    verdicts: tuple[int, ...]  # in the order of :data:`VERDICTS` without "policy"
    removal_p50: str
    removal_p95: str
    removals: int
    approvals: int
    rejections: int
    takedowns: int
    takedowns_not_removed: int


def figure_row(week: WeekFigures) -> FigureRow:
    """How the figures table shows ``week``."""
    return FigureRow(
        label=week.label,
        judged=week.judged,
        verdicts=tuple(week.verdicts.get(verdict, 0) for verdict in COLOURS),
        removal_p50=duration(week.removal_p50_s),
        removal_p95=duration(week.removal_p95_s),
        removals=week.removals,
        approvals=week.approvals,
        rejections=week.rejections,
        takedowns=week.takedowns,
        takedowns_not_removed=week.takedowns_not_removed,
    )


def duration(seconds: float | None) -> str:
    """A short, language-neutral duration ("4 s", "2 min 05 s", "3 h 07 min"); "—" for none."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


@dataclass(frozen=True, slots=True)
class Bar:
    """One rectangle of a chart, with the tooltip that says its value."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    """A small bar chart, drawn by the template as inline SVG."""

    title: str
    width: int
    height: int
    baseline: float
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]  # (x of the column's centre, text under it)
    top: str  # the value of the chart's full height
    legend: tuple[tuple[str, str], ...]  # (colour, name)


_PITCH, _BAR, _PLOT, _TOP, _BOTTOM = 44, 34, 100, 14, 16


def bar_chart(
    title: str,
    columns: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    names: Mapping[str, str],
) -> Chart:
    """A chart of one stacked column per (label, [(series, value)...]); series coloured by :data:`COLOURS`.

    A single-series chart passes one (series, value) per column; its legend is then left out.
    """
    totals = [sum(value for _, value in segments) for _, segments in columns]
    top = max([*totals, 0.0])
    scale = _PLOT / top if top > 0 else 0.0
    baseline = float(_TOP + _PLOT)
    bars: list[Bar] = []
    labels: list[tuple[float, str]] = []
    series: dict[str, None] = {}
    for n, (label, segments) in enumerate(columns):
        x = 4.0 + n * _PITCH
        y = baseline
        for name, value in segments:
            series[name] = None
            if value <= 0:
                continue
            height = value * scale
            y -= height
            tooltip = f"{label}: {names.get(name, name)} {value:.3g}"
            bars.append(Bar(x, y, _BAR, height, COLOURS.get(name, _OTHER_COLOUR), tooltip))
        labels.append((x + _BAR / 2, label.rsplit("-", 1)[-1]))
    legend = tuple((COLOURS.get(name, _OTHER_COLOUR), names.get(name, name)) for name in series)
    return Chart(
        title=title,
        width=8 + len(columns) * _PITCH,
        height=_TOP + _PLOT + _BOTTOM,
        baseline=baseline,
        bars=tuple(bars),
        labels=tuple(labels),
        top=f"{top:.3g}",  # the scale's top: three significant figures are enough to read it
        legend=legend if len(legend) > 1 else (),
    )


def charts(weeks: Sequence[WeekFigures], h: HistoryTexts) -> list[Chart]:
    """The figures page's charts: posts judged by verdict, removal time p95, approvals after quarantine."""
    judged = [
        (week.label, [(verdict, float(week.verdicts.get(verdict, 0))) for verdict in COLOURS])
        for week in weeks
    ]
    removal = [(week.label, [("removal", week.removal_p95_s or 0.0)]) for week in weeks]
    approvals = [(week.label, [("approvals", float(week.approvals))]) for week in weeks]
    return [
        bar_chart(h.chart_judged, judged, h.verdicts),
        bar_chart(h.chart_removal, removal, {"removal": h.removal_p95}),
        bar_chart(h.chart_approvals, approvals, {"approvals": h.approvals}),
    ]


class HistoryPages:
    """Each group's history (filters, pages, export) and weekly figures, over the audit log."""

    def __init__(self, web: ConsoleWeb, history: AuditHistory, notes: RejectionNotes | None = None) -> None:
        self.web = web
        self.history = history
        self.notes = notes

    def register(self, app: FastAPI) -> None:
        """Add the history and figures routes to ``app``."""
        app.add_api_route("/groups/{chat}/history", self.events, methods=["GET"])
        app.add_api_route("/groups/{chat}/history/export", self.export, methods=["GET"])
        app.add_api_route("/groups/{chat}/figures", self.figures, methods=["GET"])

    async def events(self, request: Request, chat: str) -> Response:
        """One group's audit events, newest first, filtered by the query string, 50 a page."""
        found = await self.web.group_visit(request, chat)
        if isinstance(found, Response):
            return found
        visit, ref = found
        session, t = visit.session, visit.t
        h = history_texts_for(session.language)
        query = parse_query(request.query_params)
        if query is None:
            return self.web.notice(t, h.bad_filters, 400, session)
        offset = (query.page - 1) * PAGE_SIZE
        # One more than a page: whether there is a next one, without counting them all.
        events = await asyncio.to_thread(self.history.events, ref, query.filters, PAGE_SIZE + 1, offset)
        rejected = [event.message_id for event in events[:PAGE_SIZE] if event.decision == "rejected"]
        notes: dict[str, str] = {}
        if self.notes is not None and rejected:
            notes = await asyncio.to_thread(self.notes.notes, ref, rejected)
        return self.web.page(
            "history.html",
            t,
            session=session,
            chat=str(ref),
            here=f"/groups/{ref}/history",
            h=h,
            rows=[history_row(event, h, notes) for event in events[:PAGE_SIZE]],
            query=query,
            previous=query.link(page=query.page - 1) if query.page > 1 else None,
            next=query.link(page=query.page + 1) if len(events) > PAGE_SIZE else None,
            kinds=list(EventKind),
            verdicts=VERDICTS,
            decisions=DECISIONS,
        )

    async def export(self, request: Request, chat: str) -> Response:
        """One group's audit events, filtered as the page is, as a CSV or JSON lines download."""
        found = await self.web.group_visit(request, chat)
        if isinstance(found, Response):
            return found
        visit, ref = found
        session, t = visit.session, visit.t
        h = history_texts_for(session.language)
        query = parse_query(request.query_params)
        fmt = request.query_params.get("format", "csv")
        if query is None or fmt not in _MEDIA_TYPES:
            return self.web.notice(t, h.bad_filters, 400, session)
        out = io.StringIO()
        await asyncio.to_thread(
            self.history.export, ref, query.filters, "csv" if fmt == "csv" else "jsonl", out
        )
        name = re.sub(r"[^A-Za-z0-9_-]", "_", f"audit-{ref.platform}-{ref.chat_id}")
        headers = {**image_headers(), "Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
        return Response(out.getvalue().encode("utf-8"), media_type=_MEDIA_TYPES[fmt], headers=headers)

    async def figures(self, request: Request, chat: str) -> Response:
        """One group's figures for the last eight ISO weeks: a table and small charts."""
        found = await self.web.group_visit(request, chat)
        if isinstance(found, Response):
            return found
        visit, ref = found
        session, t = visit.session, visit.t
        h = history_texts_for(session.language)
        weeks = await asyncio.to_thread(self.history.weekly, ref, FIGURE_WEEKS, self.web.clock())
        return self.web.page(
            "figures.html",
            t,
            session=session,
            chat=str(ref),
            here=f"/groups/{ref}/figures",
            h=h,
            rows=[figure_row(week) for week in weeks],
            verdict_names=[h.verdicts[verdict] for verdict in COLOURS],
            charts=charts(weeks, h),
        )
