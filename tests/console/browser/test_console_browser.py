"""The console in Chromium: login by link, a reused link, the queue with previews, reject, reveal, CSRF."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.console.browser.conftest import Served
from tests.console.helpers import GROUP_A, GROUP_B


def _login(desktop: BrowserContext, served: Served, link: str) -> Page:
    page = desktop.new_page()
    page.goto(served.link(link))
    page.wait_for_url(served.url + "/")
    return page


def _decisions(served: Served) -> list[str]:
    return [event["decision"] for event in served.console.audit()]


def test_login_by_link_and_the_queue_with_previews(desktop: BrowserContext, served: Served) -> None:
    item = served.console.put(GROUP_A, "q1", images=2)
    served.console.put(GROUP_B, "q2")
    page = _login(desktop, served, served.console.moderator_link(GROUP_A))
    expect(page.get_by_test_id("group")).to_have_count(1)
    page.get_by_test_id("group").click()
    entry = page.locator(f'[data-testid="queue-item"][data-item="{item}"]')
    expect(entry).to_be_visible()
    previews = entry.get_by_test_id("preview")
    expect(previews).to_have_count(2)
    for n in range(2):
        preview = previews.nth(n)
        preview.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=preview.element_handle())
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("queue-item").first).to_be_visible()
    cookie = next(c for c in desktop.cookies() if c["name"] == "cg_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"


def test_a_reused_link_is_refused(desktop: BrowserContext, served: Served) -> None:
    link = served.console.links.issue_operator_link()
    _login(desktop, served, link).close()
    page = desktop.new_page()
    response = page.goto(served.link(link))
    assert response is not None
    assert response.status == 410
    expect(page.get_by_test_id("notice")).to_contain_text("déjà servi")


def test_an_expired_link_is_refused(desktop: BrowserContext, served: Served) -> None:
    link = served.console.links.issue_operator_link()
    served.console.clock.advance(minutes=11)  # links are valid 10 minutes at most
    page = desktop.new_page()
    response = page.goto(served.link(link))
    assert response is not None
    assert response.status == 410
    expect(page.get_by_test_id("notice")).to_contain_text("expiré")
    assert not [c for c in desktop.cookies() if c["name"] == "cg_console"]


def test_reject_with_a_reason(desktop: BrowserContext, served: Served) -> None:
    item = served.console.put(GROUP_A, "r1")
    page = _login(desktop, served, served.console.moderator_link(GROUP_A))
    page.goto(f"{served.url}/groups/{GROUP_A}")
    entry = page.locator(f'[data-testid="queue-item"][data-item="{item}"]')
    entry.get_by_test_id("reject").click()
    entry.get_by_test_id("reason").select_option("identifying")
    entry.get_by_test_id("note").fill("Bracelet lisible sur la 2e photo")
    entry.get_by_test_id("confirm").click()
    expect(page.get_by_test_id("message")).to_be_visible()
    expect(page.locator(f'[data-item="{item}"]')).to_have_count(0)
    assert served.console.storage.quarantine.get(item).status.value == "rejected"
    assert "rejected" in _decisions(served)
    page.get_by_test_id("nav-history").click()
    expect(page.get_by_test_id("rejection-note").first).to_have_text("Bracelet lisible sur la 2e photo")


def test_reveal_is_audited(desktop: BrowserContext, served: Served) -> None:
    item = served.console.put(GROUP_A, "v1")
    before = _decisions(served).count("revealed")
    page = _login(desktop, served, served.console.moderator_link(GROUP_A))
    page.goto(f"{served.url}/groups/{GROUP_A}")
    page.locator(f'[data-testid="queue-item"][data-item="{item}"]').get_by_test_id("reveal").click()
    expect(page.get_by_test_id("revealed-note")).to_be_visible()
    expect(page.get_by_test_id("original")).to_have_count(1)
    assert page.request.get(f"{served.url}/items/{item}/original/0").status == 200
    assert _decisions(served).count("revealed") == before + 1


def test_a_post_without_csrf_is_refused(desktop: BrowserContext, served: Served) -> None:
    item = served.console.put(GROUP_A, "c1")
    page = _login(desktop, served, served.console.moderator_link(GROUP_A))
    response = page.request.post(f"{served.url}/items/{item}/reject", form={"reason": "identifying"})
    assert response.status == 403
    assert served.console.storage.quarantine.get(item).status.value == "pending"


def test_approve_is_refused_by_the_standalone_console(desktop: BrowserContext, served: Served) -> None:
    item = served.console.put(GROUP_A, "a1")
    page = _login(desktop, served, served.console.moderator_link(GROUP_A))
    page.goto(f"{served.url}/groups/{GROUP_A}")
    page.locator(f'[data-testid="queue-item"][data-item="{item}"]').get_by_test_id("approve").click()
    expect(page.get_by_test_id("notice")).to_contain_text("consentguard run")
    assert served.console.storage.quarantine.get(item).status.value == "pending"
