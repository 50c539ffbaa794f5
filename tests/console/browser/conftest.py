"""The console in Chromium (Debian's, as for the consent form): one browser and one server a module."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.console.helpers import Console, open_console
from tests.fakes.threaded_server import ThreadedServer
from tests.registry.browser.conftest import CHROMIUM, CHROMIUM_ARGS

DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Served:
    """A console served on 127.0.0.1."""

    url: str
    console: Console
    #: The console's data directory (a bot may run over the same storage).
    data_dir: Path

    def link(self, link: str) -> str:
        """``link`` (issued on the settings' public URL) on the served address."""
        return self.url + "/" + link.split("/", 3)[3]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir: Path = tmp_path_factory.mktemp("browser-console") / "data"
    with open_console(data_dir) as console, ThreadedServer(console.app, "console") as url:
        console.previewer.result = None  # the neutral placeholder: a real image the browser can draw
        yield Served(url, console, data_dir)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `sh scripts/install_chromium.sh` as root "
            "(`make test` does; it installs Debian's chromium)"
        )
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh desktop-sized context: nothing shared with other tests."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    yield context
    context.close()
