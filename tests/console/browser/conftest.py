"""The console in Chromium (Debian's, as for the consent form): one browser and one server a module."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.console.helpers import Console, open_console
from tests.registry.browser.conftest import CHROMIUM, CHROMIUM_ARGS

DESKTOP = {"width": 1280, "height": 900}


class _ThreadedServer:
    """uvicorn in a thread of its own: the sync Playwright API must not run inside an event loop."""

    def __init__(self, app: FastAPI) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="console", daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the console did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dataclass
class Served:
    """A console served on 127.0.0.1."""

    url: str
    console: Console

    def link(self, link: str) -> str:
        """``link`` (issued on the settings' public URL) on the served address."""
        return self.url + "/" + link.split("/", 3)[3]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir: Path = tmp_path_factory.mktemp("browser-console") / "data"
    with open_console(data_dir) as console, _ThreadedServer(console.app) as url:
        console.previewer.result = None  # the neutral placeholder: a real image the browser can draw
        yield Served(url, console)


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
