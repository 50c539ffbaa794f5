"""A fake of the registry's capture-link and withdrawal endpoints (an ASGI app served on 127.0.0.1).

The contract the bot's client (bot.consent.capture_client) is built against:

* ``POST /v1/capture-links`` ``{"clinician", "chat", "language", "chat_title"}`` -> 201
  ``{"link_id", "url", "expires_at"}``; 429 with ``Retry-After`` past ``links_per_clinician``;
* ``GET /v1/capture-links/{id}`` -> ``{"status", "token"}``, the token given once, with the first "signed";
* ``POST /v1/consents/{token}/revoke`` ``{"on_behalf_of"}`` -> 200, 403 (not theirs) or 404.

The test signs a link (:meth:`FakeCaptureRegistry.sign`) or lets it expire (:meth:`expire`), and reads what
the bot asked in :attr:`requests`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.consent.token import new_token, parse_token
from bot.errors import InvalidTokenError
from tests.fakes.asgi_server import serve

KEY = "cgk_bot_fake-capture-key-0123456789abcdef"


@dataclass
class FakeLink:
    link_id: str
    clinician: str
    chat: str
    language: str
    chat_title: str | None
    expires_at: datetime
    status: str = "pending"
    token: str | None = None


@dataclass
class FakeCaptureRegistry:
    """The three endpoints over in-memory state; ``owners`` maps a compact token to who may withdraw it."""

    links: dict[str, FakeLink] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    links_per_clinician: int = 5
    down: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/capture-links", self._create, methods=["POST"]),
                Route("/v1/capture-links/{link_id}", self._status, methods=["GET"]),
                Route("/v1/consents/{token}/revoke", self._revoke, methods=["POST"]),
            ]
        )

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        async with serve(self.app()) as url:
            yield url

    def sign(self, link_id: str) -> str:
        """The patient signs: a new consent whose token the next status answer gives (once)."""
        link = self.links[link_id]
        token = new_token()
        link.status, link.token = "signed", token.value
        self.owners[token.compact] = link.clinician
        return token.value

    def expire(self, link_id: str) -> None:
        self.links[link_id].status = "expired"

    def created(self) -> list[FakeLink]:
        return list(self.links.values())

    # -- endpoints --------------------------------------------------------------------------------------

    async def _refused(self, request: Request) -> Response | None:
        body = await request.json() if request.method == "POST" else {}
        self.requests.append((request.method, request.url.path, body))
        if self.down:
            return JSONResponse({"detail": "down"}, status_code=503)
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return JSONResponse({"detail": "bad key"}, status_code=401)
        return None

    async def _create(self, request: Request) -> Response:
        refused = await self._refused(request)
        if refused is not None:
            return refused
        body = await request.json()
        mine = [link for link in self.links.values() if link.clinician == body["clinician"]]
        if len(mine) >= self.links_per_clinician:
            return JSONResponse({"detail": "too many"}, status_code=429, headers={"Retry-After": "42"})
        link_id = f"L{next(self._ids)}"
        expires_at = datetime.now(UTC) + timedelta(minutes=15)
        self.links[link_id] = FakeLink(
            link_id, body["clinician"], body["chat"], body["language"], body.get("chat_title"), expires_at
        )
        url = f"https://registry.example/consent/secret-{link_id}"
        return JSONResponse(
            {"link_id": link_id, "url": url, "expires_at": expires_at.isoformat()}, status_code=201
        )

    async def _status(self, request: Request) -> Response:
        refused = await self._refused(request)
        if refused is not None:
            return refused
        link = self.links.get(request.path_params["link_id"])
        if link is None:
            return JSONResponse({"detail": "no such link"}, status_code=404)
        answer = {"status": link.status, "token": link.token if link.status == "signed" else None}
        if link.status == "signed":
            link.status, link.token = "collected", None  # the token is given exactly once
        return JSONResponse(answer)

    async def _revoke(self, request: Request) -> Response:
        refused = await self._refused(request)
        if refused is not None:
            return refused
        try:
            token = parse_token(request.path_params["token"])
        except InvalidTokenError:
            return JSONResponse({"detail": "malformed"}, status_code=422)
        owner = self.owners.get(token.compact)
        if owner is None:
            return JSONResponse({"detail": "no consent has this token"}, status_code=404)
        body = await request.json()
        if body.get("on_behalf_of") != owner:
            return JSONResponse({"detail": "not yours"}, status_code=403)
        self.revoked.append(token.compact)
        return JSONResponse({"status": "revoked"})
