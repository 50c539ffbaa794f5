"""The history and figures pages over HTTP: scope, filters, pages, exports, figures, both languages."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.consent.model import ChatRef, UserRef
from bot.console.history import COLOURS, HistoryQuery, bar_chart, duration, parse_query
from bot.domain import AuditEvent
from bot.storage.audit import EXPORT_COLUMNS
from bot.storage.audit_queries import EventKind, HistoryFilters
from tests.console.helpers import AUTHOR, GROUP_A, GROUP_B, MODERATOR, Console, open_console, path_of

#: A Wednesday of ISO week 2026-W11; the figures page shows 2026-W04 to 2026-W11.
NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
W10 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
A = str(GROUP_A)
B = str(GROUP_B)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with open_console(tmp_path / "data") as opened:
        opened.clock.now = NOW
        yield opened


@pytest.fixture
async def client(console: Console) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=console.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
        yield http


def _judged(
    console: Console,
    at: datetime,
    message_id: str,
    verdict: str,
    *,
    chat: ChatRef = GROUP_A,
    after_s: float = 5,
    poster: UserRef = AUTHOR,
) -> None:
    console.storage.audit.record(
        AuditEvent(
            time=at,
            platform=chat.platform,
            chat_id=chat.chat_id,
            message_id=message_id,
            poster=poster,
            verdict=verdict,
            reason="no-consent" if verdict != "allow" else "consent-valid",
            kinds=["face", "name"],
            consent_state="missing",
            posted_at=at - timedelta(seconds=after_s),
        )
    )


def _approved(console: Console, at: datetime, message_id: str) -> None:
    console.storage.audit.record(
        AuditEvent(
            time=at,
            platform=GROUP_A.platform,
            chat_id=GROUP_A.chat_id,
            message_id=message_id,
            poster=AUTHOR,
            verdict="quarantine",
            reason="moderator-approved",
            moderator=MODERATOR,
            decision="approved",
        )
    )


def _some_events(console: Console) -> None:
    _judged(console, W10, "101", "delete", after_s=4)
    _judged(console, W10 + timedelta(hours=1), "102", "quarantine", after_s=10)
    _judged(console, W10 + timedelta(hours=2), "103", "allow")
    _approved(console, W10 + timedelta(hours=3), "102")
    _judged(console, W10, "901", "delete", chat=GROUP_B, after_s=600)


async def _login(console: Console, client: httpx.AsyncClient, *groups: ChatRef) -> None:
    response = await client.get(path_of(console.moderator_link(*groups)))
    assert response.status_code == 200


async def test_history_shows_the_group_newest_first_in_french(
    console: Console, client: httpx.AsyncClient
) -> None:
    _some_events(console)
    await _login(console, client)
    response = await client.get(f"/groups/{A}/history")
    assert response.status_code == 200
    page = response.text
    assert "Historique du groupe" in page
    assert page.count('data-testid="history-row"') == 4
    # Newest first: the approval of 102, then 103, 102 and 101 as the bot judged them.
    assert page.index(">102<") < page.index(">103<") < page.index(">101<")
    assert "mise en quarantaine" in page
    assert "approuvée" in page
    assert "face, name" in page
    assert console.storage.audit.pseudonymise(AUTHOR) in page
    assert console.storage.audit.pseudonymise(MODERATOR) in page
    # Another group's events never show; nor do user ids.
    assert "901" not in page
    assert AUTHOR.user_id not in page
    assert MODERATOR.user_id not in page
    assert "style-src 'nonce-" in response.headers["content-security-policy"]
    assert 'href="/groups/telegram:-100111/history/export?format=csv"' in page


async def test_history_in_english_with_lang(console: Console, client: httpx.AsyncClient) -> None:
    _some_events(console)
    await _login(console, client)
    page = (await client.get(f"/groups/{A}/history?lang=en")).text
    assert "Group history" in page
    assert "quarantined" in page
    assert "Moderator&#39;s action" in page
    assert '<html lang="en">' in page
    figures = (await client.get(f"/groups/{A}/figures")).text  # the session keeps its language
    assert "Group figures, by week" in figures


async def test_another_groups_pages_answer_404(console: Console, client: httpx.AsyncClient) -> None:
    _some_events(console)
    await _login(console, client, GROUP_A)
    for path in ("history", "history/export?format=csv", "figures"):
        assert (await client.get(f"/groups/{B}/{path}")).status_code == 404
        assert (await client.get(f"/groups/*/{path}")).status_code == 404
        assert (await client.get(f"/groups/nonsense/{path}")).status_code == 404
    console.check.answer = False  # no longer a moderator of A on the platform
    for path in ("history", "history/export?format=jsonl", "figures"):
        assert (await client.get(f"/groups/{A}/{path}")).status_code == 404


async def test_no_session_no_history(client: httpx.AsyncClient) -> None:
    for path in ("history", "history/export", "figures"):
        assert (await client.get(f"/groups/{A}/{path}")).status_code == 401


async def test_filters_and_pages(console: Console, client: httpx.AsyncClient) -> None:
    for n in range(60):
        _judged(console, W10 + timedelta(minutes=n), f"m{n}", "delete" if n % 3 else "allow")
    await _login(console, client)

    first = (await client.get(f"/groups/{A}/history")).text
    assert first.count('data-testid="history-row"') == 50
    assert ">m59<" in first
    assert ">m10<" in first
    assert ">m9<" not in first
    assert 'href="/groups/telegram:-100111/history?page=2"' in first
    assert 'data-testid="previous-page"' not in first
    second = (await client.get(f"/groups/{A}/history?page=2")).text
    assert second.count('data-testid="history-row"') == 10
    assert 'data-testid="next-page"' not in second
    assert 'href="/groups/telegram:-100111/history" rel="prev"' in second

    allowed = (
        await client.get(f"/groups/{A}/history?verdict=allow&kind=post&from=2026-03-02&to=2026-03-02")
    ).text
    assert allowed.count('data-testid="history-row"') == 20
    assert '<option value="allow" selected>' in allowed
    assert (
        "export?from=2026-03-02&amp;to=2026-03-02&amp;kind=post&amp;verdict=allow&amp;format=csv" in allowed
    )
    none = (await client.get(f"/groups/{A}/history?from=2026-03-03")).text
    assert 'data-testid="history-empty"' in none
    poster = console.storage.audit.pseudonymise(AUTHOR)
    mine = (await client.get(f"/groups/{A}/history?poster={poster}&decision=approved")).text
    assert 'data-testid="history-empty"' in mine

    for bad in ("from=yesterday", "verdict=nuke", "kind=all", "poster=Alice", "page=0", "page=x"):
        assert (await client.get(f"/groups/{A}/history?{bad}")).status_code == 400


async def test_export_csv_holds_only_the_group_and_its_filters(
    console: Console, client: httpx.AsyncClient
) -> None:
    _some_events(console)
    await _login(console, client)
    response = await client.get(f"/groups/{A}/history/export?format=csv&kind=post")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="audit-telegram--100111.csv"'
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [row[rows[0].index("message_id")] for row in rows[1:]] == ["101", "102", "103"]
    assert {row[rows[0].index("chat_id")] for row in rows[1:]} == {GROUP_A.chat_id}
    assert AUTHOR.user_id not in response.text


async def test_export_jsonl(console: Console, client: httpx.AsyncClient) -> None:
    _some_events(console)
    await _login(console, client)
    response = await client.get(f"/groups/{A}/history/export?format=jsonl")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.jsonl"')
    records = [json.loads(line) for line in response.text.splitlines()]
    assert [record["message_id"] for record in records] == ["101", "102", "103", "102"]
    assert records[0]["posted_at"] == (W10 - timedelta(seconds=4)).isoformat()
    assert (await client.get(f"/groups/{A}/history/export?format=xml")).status_code == 400


async def test_figures_show_eight_weeks_with_charts(console: Console, client: httpx.AsyncClient) -> None:
    _some_events(console)
    await _login(console, client)
    response = await client.get(f"/groups/{A}/figures")
    assert response.status_code == 200
    page = response.text
    assert "Chiffres du groupe, par semaine" in page
    weeks = page.split('data-testid="figures-week"')[1:]
    assert len(weeks) == 8
    assert 'data-week="2026-W04"' in page
    assert 'data-week="2026-W11"' in page
    week10 = next(week for week in weeks if 'data-week="2026-W10"' in week)
    assert 'data-testid="p50">4 s<' in week10
    assert 'data-testid="p95">10 s<' in week10
    assert 'data-testid="approvals">1<' in week10
    week11 = next(week for week in weeks if 'data-week="2026-W11"' in week)
    assert 'data-testid="p50">—<' in week11
    assert page.count('data-testid="chart"') == 3
    assert page.count("<rect ") >= 4  # bars of W10 (judged: 3 verdicts, p95, approvals) and legend swatches
    assert "style=" not in page  # the CSP allows no style attribute: SVG presentation attributes only
    assert "<script" not in page
    assert "10 min" not in page  # GROUP_B's removal time (600 s) is not ours


def test_a_stacked_chart_scales_its_columns_to_the_tallest() -> None:
    chart = bar_chart(
        "t",
        [("2026-W10", [("allow", 1.0), ("delete", 3.0)]), ("2026-W11", [("allow", 2.0), ("delete", 0.0)])],
        {"allow": "allowed", "delete": "deleted"},
    )
    assert chart.top == "4"
    assert [(bar.fill, bar.height) for bar in chart.bars] == [
        (COLOURS["allow"], 25.0),
        (COLOURS["delete"], 75.0),
        (COLOURS["allow"], 50.0),
    ]
    first, second, third = chart.bars
    assert first.y + first.height == chart.baseline  # stacked from the baseline up
    assert second.y + second.height == first.y
    assert third.title == "2026-W11: allowed 2"
    assert [label for _, label in chart.labels] == ["W10", "W11"]
    assert chart.legend == ((COLOURS["allow"], "allowed"), (COLOURS["delete"], "deleted"))


def test_an_empty_single_series_chart_has_no_bar_and_no_legend() -> None:
    chart = bar_chart("t", [("2026-W10", [("approvals", 0.0)])], {"approvals": "approved"})
    assert chart.bars == ()
    assert chart.legend == ()
    assert chart.top == "0"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "—"),
        (0.4, "0 s"),
        (59, "59 s"),
        (60, "1 min 00 s"),
        (125, "2 min 05 s"),
        (3 * 3600 + 420, "3 h 07 min"),
    ],
)
def test_duration(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_parse_query_turns_days_into_a_utc_range() -> None:
    query = parse_query({"from": "2026-03-02", "to": "2026-03-08", "kind": "takedown", "page": "3"})
    assert query is not None
    assert query.filters.since == datetime(2026, 3, 2, tzinfo=UTC)
    assert query.filters.until == datetime(2026, 3, 9, tzinfo=UTC)  # the whole last day
    assert query.filters.kind is EventKind.TAKEDOWN
    assert query.page == 3
    assert query.link(page=1) == "?from=2026-03-02&to=2026-03-08&kind=takedown"
    empty = parse_query({})
    assert empty == HistoryQuery(HistoryFilters(), {}, 1)
    assert empty.link() == ""
