"""In Chromium, a console that can repost (as ``consentguard run`` serves it): approve, and the scope of a
moderator's session (another group's items can be neither seen nor acted on)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.console.browser.conftest import Served
from tests.console.helpers import GROUP_A, GROUP_B, ORIGINAL, open_console
from tests.fakes.threaded_server import ThreadedServer


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir: Path = tmp_path_factory.mktemp("browser-console-approve") / "data"
    with (
        open_console(data_dir, with_reposter=True) as console,
        ThreadedServer(console.app, "console") as url,
    ):
        console.previewer.result = None  # the neutral placeholder: a real image the browser can draw
        yield Served(url, console, data_dir)


def _login(desktop: BrowserContext, served: Served, link: str) -> Page:
    page = desktop.new_page()
    page.goto(served.link(link))
    page.wait_for_url(served.url + "/")
    return page


def test_approve_reposts_and_is_audited(desktop: BrowserContext, served: Served) -> None:
    item = served.console.put(GROUP_A, "ap1")
    page = _login(desktop, served, served.console.moderator_link(GROUP_A))
    page.goto(f"{served.url}/groups/{GROUP_A}")
    page.locator(f'[data-testid="queue-item"][data-item="{item}"]').get_by_test_id("approve").click()
    expect(page.get_by_test_id("message")).to_be_visible()
    expect(page.locator(f'[data-item="{item}"]')).to_have_count(0)
    assert served.console.reposter is not None
    [approved] = [a for a in served.console.reposter.reposted if a.item_id == item]
    assert approved.images[0][1] == ORIGINAL + b"\x00"
    assert served.console.storage.quarantine.get(item).status.value == "approved"
    assert "approved" in [event["decision"] for event in served.console.audit()]


def test_a_moderator_of_one_group_cannot_see_or_act_on_another(
    desktop: BrowserContext, served: Served
) -> None:
    theirs = served.console.put(GROUP_B, "sc1")
    page = _login(desktop, served, served.console.moderator_link(GROUP_A))
    expect(page.get_by_test_id("group")).to_have_text([str(GROUP_A)])
    response = page.goto(f"{served.url}/groups/{GROUP_B}")
    assert response is not None
    assert response.status == 404
    assert page.request.get(f"{served.url}/items/{theirs}/preview/0").status == 404
    for path in (f"/groups/{GROUP_B}/history", f"/groups/{GROUP_B}/settings", f"/groups/{GROUP_B}/figures"):
        assert page.request.get(served.url + path).status == 404
    page.goto(f"{served.url}/groups/{GROUP_A}")
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    assert csrf is not None
    assert re.fullmatch(r"[A-Za-z0-9_-]+", csrf)  # a real token: the refusals below are the scope's
    for action in ("approve", "reject", "reveal"):
        form = {"csrf": csrf, "reason": "identifying"}
        assert page.request.post(f"{served.url}/items/{theirs}/{action}", form=form).status == 404
    assert served.console.storage.quarantine.get(theirs).status.value == "pending"
    assert served.console.reposter is not None
    assert all(a.item_id != theirs for a in served.console.reposter.reposted)
