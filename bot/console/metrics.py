"""GET /metrics: the Prometheus text exposition, for a scraper holding the configured bearer token.

No session and no cookie: Prometheus sends ``Authorization: Bearer <token>`` (``authorization`` or
``bearer_token_file`` in its scrape config). Without a configured token the page does not exist (404), so a
console exposed to moderators never leaks operational figures by default. The figures hold no patient data
(see bot.core.metrics), but they do say how busy a clinical group is: they stay behind the token.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
import asyncio
import hmac
from typing import Protocol

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import SecretStr

_SCHEME = "bearer"


class MetricsExporter(Protocol):
    """Renders every metric in Prometheus' text format (bot.observability.prometheus.PrometheusMetrics)."""

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type; may block (it counts the queue)."""
        ...


class MetricsPage:
    """The ``/metrics`` route over one exporter, guarded by a bearer token."""

    def __init__(self, exporter: MetricsExporter | None, token: SecretStr | None) -> None:
        self.exporter = exporter
        # A blank token would let "Bearer " in: it counts as no token (the page is then absent).
        secret = token.get_secret_value().strip() if token is not None else ""
        self._token = secret.encode() if secret else None

    def __repr__(self) -> str:
        return f"MetricsPage(enabled={self.enabled})"

    @property
    def enabled(self) -> bool:
        """Whether /metrics is served (an exporter and a token are both configured)."""
        return self.exporter is not None and self._token is not None

    def register(self, app: FastAPI) -> None:
        """Add ``GET /metrics`` to ``app``."""
        app.add_api_route("/metrics", self.metrics, methods=["GET"], include_in_schema=False)

    async def metrics(self, request: Request) -> Response:
        """The metrics for a caller with the right bearer token; 401 otherwise, 404 when not configured."""
        if self.exporter is None or self._token is None:
            return Response(status_code=404, headers=_NO_STORE)
        if not self._authorised(request.headers.get("authorization")):
            return Response(status_code=401, headers={**_NO_STORE, "WWW-Authenticate": "Bearer"})
        body, content_type = await asyncio.to_thread(self.exporter.render)  # off the loop: a database count
        return Response(body, media_type=content_type, headers=_NO_STORE)

    def _authorised(self, header: str | None) -> bool:
        if header is None or self._token is None:
            return False
        scheme, _, given = header.partition(" ")
        if scheme.lower() != _SCHEME:
            return False
        # Bytes, not str: compare_digest refuses non-ASCII str, and a header is whatever a client sent.
        return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), self._token)


_NO_STORE = {"Cache-Control": "no-store"}
