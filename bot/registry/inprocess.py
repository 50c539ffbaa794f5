"""Run an ASGI app (the reference registry) with uvicorn inside the current event loop, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


@contextlib.asynccontextmanager
async def serve_in_process(app: Any, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve ``app`` until the block exits; yield its base URL (port 0 picks a free port)."""
    # Let uvicorn bind (port 0 = any free port): a socket bound by hand made every response wait ~40 ms
    # for a delayed ACK on loopback.
    # The app's lifespan runs: the registry disposes its database engine at shutdown (on PostgreSQL a
    # connection left to the garbage collector stays open on the server until then).
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # surfaces a start-up failure
            await asyncio.sleep(0.01)
        bound_port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        await task
