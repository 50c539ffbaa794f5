"""What every console page shares: rendering, sessions, per-group scope, CSRF; login and logout.

Server-rendered pages (Jinja2, autoescaped, inline CSS under a per-page nonce, no script, no external asset).
Every state-changing request is a POST carrying the session's CSRF token; every request of a moderator's
session asks the :class:`~bot.console.ports.ModeratorCheck` again for the group it touches.

Secrets travel in URL paths (``/login/{secret}``): run it with uvicorn's access log off (the CLI does), and
every page sends ``Referrer-Policy: no-referrer``.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
import asyncio
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.consent.model import ChatRef, UserRef
from bot.console.ports import ModeratorCheck
from bot.console.texts import LANGUAGES, ConsoleTexts, texts_for
from bot.core.review import Reviewer
from bot.domain import Clock
from bot.storage.console_sessions import ConsoleSession, LinkRefusedError, SqlConsoleAuth
from config.settings import ConsoleSettings

log = logging.getLogger("consentguard.console")

TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE = "cg_console"
#: The operator acting in the console (every group): audited under this reference.
OPERATOR = UserRef("console", "operator")
MAX_FORM_BYTES = 16 * 1024
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def security_headers(nonce: str) -> dict[str, str]:
    """Headers of every page: a strict CSP (styles under ``nonce``), no caching, no referrer, no framing."""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def image_headers() -> dict[str, str]:
    """Headers of every image (previews, originals, charts): never cached, never sniffed."""
    return {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


@dataclass(frozen=True, slots=True)
class Visit:
    """A request of a live session: who, in which language, and the POST's checked fields."""

    session: ConsoleSession
    t: ConsoleTexts
    fields: dict[str, list[str]]

    def field(self, name: str) -> str:
        """The first value of a POST field ("" when absent)."""
        return (self.fields.get(name) or [""])[0]


class ConsoleWeb:
    """What every console page shares: templates, sessions, scope, CSRF; and the login and logout pages.

    The pages themselves (:mod:`bot.console.queue`, :mod:`bot.console.group_settings_page`,
    :mod:`bot.console.history`, :mod:`bot.console.metrics`) hold one and call :meth:`visit` first.
    """

    def __init__(
        self,
        *,
        auth: SqlConsoleAuth,
        moderator_check: ModeratorCheck,
        settings: ConsoleSettings,
        clock: Clock,
    ) -> None:
        self.auth = auth
        self.check = moderator_check
        self.clock = clock
        self.idle = timedelta(minutes=settings.idle_minutes)
        self.secure = settings.public_url.startswith("https:")
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- rendering ------------------------------------------------------------------------------------------

    def page(self, template: str, t: ConsoleTexts, status_code: int = 200, **context: Any) -> HTMLResponse:
        """Render ``template`` with a fresh CSP nonce."""
        nonce = secrets.token_urlsafe(16)
        context.setdefault("session", None)
        context.setdefault("here", "/")  # where the language switch leads (a GET page)
        html = self.env.get_template(template).render(t=t, nonce=nonce, **context)
        return HTMLResponse(html, status_code=status_code, headers=security_headers(nonce))

    def notice(
        self, t: ConsoleTexts, text: str, status_code: int, session: ConsoleSession | None = None
    ) -> Response:
        """A short page saying ``text``."""
        return self.page("notice.html", t, status_code, text=text, session=session)

    # -- sessions and scope ---------------------------------------------------------------------------------

    async def session(self, request: Request) -> ConsoleSession | None:
        """The live session of the request's cookie (switching language on ``?lang=``), or None."""
        session_id = request.cookies.get(COOKIE, "")
        if not _SECRET.match(session_id):
            return None
        session = await asyncio.to_thread(self.auth.session, session_id, self.idle)
        if session is None:
            return None
        wanted = request.query_params.get("lang")
        if request.method == "GET" and wanted in LANGUAGES and wanted != session.language:
            await asyncio.to_thread(self.auth.set_language, session.id_hash, wanted)
            session = ConsoleSession(
                id_hash=session.id_hash,
                scope=session.scope,
                csrf=session.csrf,
                language=wanted,
                last_seen=session.last_seen,
                revealed_item=session.revealed_item,
                revealed_at=session.revealed_at,
            )
        return session

    def ended(self, request: Request) -> Response:
        """The answer to a request without a live session (401); the cookie is cleared."""
        t = texts_for(request.query_params.get("lang"))
        response = self.notice(t, t.session_over, 401)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def may_review(self, session: ConsoleSession, chat: ChatRef) -> bool:
        """Whether the session may see and act on ``chat`` now (asks the moderator check)."""
        scope = session.scope
        if scope.operator:
            return True
        if scope.moderator is None or chat not in scope.groups:
            return False
        return await self.check.is_moderator(scope.moderator, chat)

    async def group_visit(
        self, request: Request, chat: str, *, post: bool = False
    ) -> tuple[Visit, ChatRef] | Response:
        """:meth:`visit` for a page of one group (``chat`` from the URL); 404 when it is out of reach now."""
        visit = await self.visit(request, post=post)
        if not isinstance(visit, Visit):
            return visit
        try:
            ref = ChatRef.parse(chat)
        except ValueError:
            ref = None
        if ref is None or ref.chat_id == "*" or not await self.may_review(visit.session, ref):
            return self.notice(visit.t, visit.t.not_found, 404, visit.session)
        return visit, ref

    @staticmethod
    def reviewer(session: ConsoleSession) -> Reviewer:
        """The reviewer the review service audits for this session."""
        # The console checked the person for this group just now (may_review): the platform's word is in.
        if session.scope.operator or session.scope.moderator is None:
            return Reviewer(OPERATOR, str(OPERATOR), platform_admin=True, operator=True)
        user = session.scope.moderator
        return Reviewer(user, str(user), platform_admin=True)

    async def form(self, request: Request, session: ConsoleSession) -> dict[str, list[str]] | None:
        """The POST's fields when its CSRF token is the session's; None otherwise (answer 403)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_FORM_BYTES:
            return None
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return None
        try:
            fields = parse_qs(
                body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=256
            )
        except ValueError:
            return None
        token = (fields.get("csrf") or [""])[0]
        if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
            return None
        return fields

    async def visit(self, request: Request, *, post: bool = False) -> Visit | Response:
        """The session, texts and (for a POST) checked form of a request; else the answer to send.

        No session: 401 (the "session over" page). A POST whose CSRF token is not the session's: 403.
        """
        session = await self.session(request)
        if session is None:
            return self.ended(request)
        t = texts_for(session.language)
        fields: dict[str, list[str]] = {}
        if post:
            checked = await self.form(request, session)
            if checked is None:
                return self.notice(t, t.forbidden, 403, session)
            fields = checked
        return Visit(session, t, fields)

    def register(self, app: FastAPI) -> None:
        """Add the login and logout routes to ``app``."""
        app.add_api_route("/login/{secret}", self.login, methods=["GET"])
        app.add_api_route("/logout", self.logout, methods=["POST"])

    # -- endpoints ------------------------------------------------------------------------------------------

    async def login(self, request: Request, secret: str) -> Response:
        """Redeem a one-time link and open a session."""
        t = texts_for(request.query_params.get("lang"))
        if not _SECRET.match(secret):
            return self.page("notice.html", t, 404, text=t.link_unknown, heading=t.link_heading)
        try:
            scope = await asyncio.to_thread(self.auth.redeem, secret)
        except LinkRefusedError as exc:
            text = {"used": t.link_used, "expired": t.link_expired}.get(exc.reason, t.link_unknown)
            code = 404 if exc.reason == "unknown" else 410
            return self.page("notice.html", t, code, text=text, heading=t.link_heading)
        session_id, _ = await asyncio.to_thread(self.auth.open_session, scope, t.html_lang)
        log.info("console session opened (%s)", "operator" if scope.operator else "moderator")
        # A page that moves on by itself rather than a redirect: a SameSite=Strict cookie set on a
        # navigation from another site (the chat app) is sent with the next same-site navigation only.
        response = self.page("login.html", t)
        response.set_cookie(
            COOKIE, session_id, httponly=True, samesite="strict", secure=self.secure, path="/"
        )
        return response

    async def logout(self, request: Request) -> Response:
        """Close the session."""
        session = await self.session(request)
        if session is None:
            return self.ended(request)
        t = texts_for(session.language)
        if await self.form(request, session) is None:
            return self.notice(t, t.forbidden, 403, session)
        await asyncio.to_thread(self.auth.close_session, session.id_hash)
        response = self.notice(t, t.session_over, 200)
        response.delete_cookie(COOKIE, path="/")
        return response
