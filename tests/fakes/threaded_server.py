"""An ASGI app served by uvicorn in a thread of its own, on 127.0.0.1 (for the sync Playwright API, which
must not run inside an event loop)."""

from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI


class ThreadedServer:
    """``with ThreadedServer(app, "name") as url:`` serves ``app`` on a free port until the block ends."""

    def __init__(self, app: FastAPI, name: str) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
        self._name = name
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=name, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self._name} did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
