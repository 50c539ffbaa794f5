"""The consent form in a real browser: Playwright driving Debian's Chromium against a registry on 127.0.0.1.

Playwright's own browser download is not reachable here: ``scripts/install_chromium.sh`` (run by
``make test``) installs Debian's ``chromium``, and the tests launch ``/usr/bin/chromium``. One browser and
one registry per module; each test opens its own browser context (cookies, storage) on a phone viewport.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from bot.registry.app import create_app
from bot.registry.commands import new_key
from tests.fakes.clock import MovableClock
from tests.fakes.threaded_server import ThreadedServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: An iPhone 12-14 sized screen.
PHONE = {"width": 390, "height": 844}


@dataclass
class Registry:
    """A registry served over HTTP on 127.0.0.1, with a bot key and an admin key."""

    url: str
    bot_key: str
    admin_key: str
    clock: MovableClock

    def api(self, role: str = "bot") -> httpx.Client:
        key = self.bot_key if role == "bot" else self.admin_key
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=10)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    database = f"sqlite:///{tmp_path_factory.mktemp('browser-registry') / 'registry.db'}"
    clock = MovableClock()
    bot_key, admin_key = new_key(database, "bot", None), new_key(database, "admin", "ops")
    with ThreadedServer(create_app(database, clock=clock), "registry") as url:
        yield Registry(url=url, bot_key=bot_key, admin_key=admin_key, clock=clock)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `sh scripts/install_chromium.sh` as root "
            "(`make test` does; it installs Debian's chromium)"
        )
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh phone-sized context: touch, a 2x screen, nothing shared with other tests."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    yield context
    context.close()
