"""The history and figures pages in Chromium: filters by form, charts drawn, nothing refused by the CSP."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from bot.domain import AuditEvent
from tests.console.browser.conftest import Served
from tests.console.helpers import AUTHOR, GROUP_A, GROUP_B


def _judged(served: Served, message_id: str, verdict: str, after_s: float, chat: str = str(GROUP_A)) -> None:
    platform, chat_id = chat.split(":", 1)
    now = served.console.clock()
    served.console.storage.audit.record(
        AuditEvent(
            time=now,
            platform=platform,
            chat_id=chat_id,
            message_id=message_id,
            poster=AUTHOR,
            verdict=verdict,
            reason="no-consent",
            kinds=["face"],
            posted_at=now - timedelta(seconds=after_s),
        )
    )


def _open(desktop: BrowserContext, served: Served, path: str, refused: list[str]) -> Page:
    page = desktop.new_page()
    page.on("console", lambda message: _keep_errors(message, refused))
    page.goto(served.link(served.console.moderator_link(GROUP_A)))
    page.wait_for_url(served.url + "/")
    page.goto(served.url + path)
    return page


def _keep_errors(message: ConsoleMessage, refused: list[str]) -> None:
    # Only the CSP's refusals: a missing favicon is an error too, and not ours to judge here.
    if "Content Security Policy" in message.text or "Refused to" in message.text:
        refused.append(message.text)


def test_history_filters_and_figures_charts(desktop: BrowserContext, served: Served) -> None:
    _judged(served, "h1", "delete", 4)
    _judged(served, "h2", "quarantine", 12)
    _judged(served, "h3", "allow", 1)
    _judged(served, "h9", "delete", 3, chat=str(GROUP_B))
    refused: list[str] = []

    page = _open(desktop, served, f"/groups/{GROUP_A}/history", refused)
    expect(page.get_by_test_id("history-row")).to_have_count(3)
    page.locator("select[name=verdict]").select_option("delete")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url("**verdict=delete**")
    expect(page.get_by_test_id("history-row")).to_have_count(1)
    expect(page.get_by_test_id("history-row")).to_contain_text("h1")
    expect(page.get_by_test_id("export-csv")).to_have_attribute(
        "href", f"/groups/{GROUP_A}/history/export?verdict=delete&format=csv"
    )

    page.get_by_test_id("nav-figures").click()
    expect(page.get_by_test_id("figures-week")).to_have_count(8)
    expect(page.get_by_test_id("chart")).to_have_count(3)
    bar = page.get_by_test_id("chart").first.locator("svg rect").first
    box = bar.bounding_box()
    assert box is not None
    assert box["height"] > 10
    assert refused == []  # no inline style or script refused by the CSP
