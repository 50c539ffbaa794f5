"""The moderators' web console: login by one-time link, the queue per group, reveal, approve, reject.

Server-rendered pages (Jinja2, autoescaped, inline CSS under a per-page nonce, no script, no external asset).
Every state-changing request is a POST carrying the session's CSRF token; every request of a moderator's
session asks the :class:`~bot.console.ports.ModeratorCheck` again for the group it touches, and an item of a
group out of reach answers 404, as an unknown one does. Reveals, approvals and rejections go through the
:class:`~bot.core.review.ReviewService`: authorised and audited there.

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
from urllib.parse import parse_qs, quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.consent.model import ChatRef, UserRef
from bot.console.ports import ModeratorCheck, Previewer, Reposter
from bot.console.preview import placeholder_png
from bot.console.texts import LANGUAGES, ConsoleTexts, texts_for
from bot.core.ports import Quarantine
from bot.core.review import REJECT_REASONS, Reviewer, ReviewService
from bot.domain import Clock, QuarantinedPost, QuarantineStatus, utc_now
from bot.errors import QuarantineError, QuarantineItemNotFoundError, ReviewError
from bot.storage.console_sessions import ConsoleSession, LinkRefusedError, SqlConsoleAuth
from config.settings import ConsoleSettings

log = logging.getLogger("consentguard.console")

TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE = "cg_console"
#: How long after a reveal its originals may be fetched by the same session.
REVEAL_WINDOW = timedelta(minutes=5)
#: The operator acting in the console (every group): audited under this reference.
OPERATOR = UserRef("console", "operator")
MAX_FORM_BYTES = 16 * 1024
_ITEM_ID = re.compile(r"^[0-9a-f]{32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def _security_headers(nonce: str) -> dict[str, str]:
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


def _image_headers() -> dict[str, str]:
    return {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def _image_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One pending item as the queue shows it (kinds only, never content)."""

    item_id: str
    case: str
    time: str
    poster: str
    reason: str
    kinds: str
    age: str
    images: int


class _Console:
    """The console's endpoints over its collaborators."""

    def __init__(
        self,
        *,
        review: ReviewService,
        quarantine: Quarantine,
        auth: SqlConsoleAuth,
        moderator_check: ModeratorCheck,
        previewer: Previewer,
        reposter: Reposter | None,
        settings: ConsoleSettings,
        clock: Clock,
    ) -> None:
        self.review = review
        self.quarantine = quarantine
        self.auth = auth
        self.check = moderator_check
        self.previewer = previewer
        self.reposter = reposter
        self.clock = clock
        self.idle = timedelta(minutes=settings.idle_minutes)
        self.secure = settings.public_url.startswith("https:")
        self.placeholder = placeholder_png()
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    # -- rendering ------------------------------------------------------------------------------------------

    def page(self, template: str, t: ConsoleTexts, status_code: int = 200, **context: Any) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        context.setdefault("session", None)
        context.setdefault("here", "/")  # where the language switch leads (a GET page)
        html = self.env.get_template(template).render(t=t, nonce=nonce, **context)
        return HTMLResponse(html, status_code=status_code, headers=_security_headers(nonce))

    def notice(
        self, t: ConsoleTexts, text: str, status_code: int, session: ConsoleSession | None = None
    ) -> Response:
        return self.page("notice.html", t, status_code, text=text, session=session)

    # -- sessions and scope ---------------------------------------------------------------------------------

    async def session(self, request: Request) -> ConsoleSession | None:
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
        t = texts_for(request.query_params.get("lang"))
        response = self.notice(t, t.session_over, 401)
        response.delete_cookie(COOKIE, path="/")
        return response

    async def may_review(self, session: ConsoleSession, chat: ChatRef) -> bool:
        scope = session.scope
        if scope.operator:
            return True
        if scope.moderator is None or chat not in scope.groups:
            return False
        return await self.check.is_moderator(scope.moderator, chat)

    @staticmethod
    def reviewer(session: ConsoleSession) -> Reviewer:
        # The console checked the person for this group just now (may_review): the platform's word is in.
        user = session.scope.moderator if not session.scope.operator else None
        user = user or OPERATOR
        return Reviewer(user, str(user), platform_admin=True)

    async def item(self, session: ConsoleSession, item_id: str) -> QuarantinedPost | None:
        """A pending item the session may review; None when unknown, settled or out of its reach."""
        if not _ITEM_ID.match(item_id):
            return None
        try:
            item = await self.review.item(item_id)
        except QuarantineItemNotFoundError:
            return None
        if item.status is not QuarantineStatus.PENDING or not await self.may_review(session, item.chat):
            return None
        return item

    async def groups(self, session: ConsoleSession) -> list[tuple[ChatRef, int]]:
        pending = await asyncio.to_thread(self.quarantine.pending)
        counts: dict[ChatRef, int] = {}
        for item in pending:
            counts[item.chat] = counts.get(item.chat, 0) + 1
        chats = list(counts) if session.scope.operator else list(session.scope.groups)
        visible = [chat for chat in chats if await self.may_review(session, chat)]
        return [(chat, counts.get(chat, 0)) for chat in sorted(visible, key=str)]

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

    def row(self, item: QuarantinedPost, t: ConsoleTexts) -> QueueRow:
        now = self.clock()
        return QueueRow(
            item_id=item.item_id,
            case=item.item_id[:8].upper(),
            time=item.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            poster=item.author_name,
            reason=item.reason,
            kinds=", ".join(item.finding_kinds) or t.none,
            age=f"{_span(now - item.created_at, t)} / {_span(item.expires_at - item.created_at, t)}",
            images=item.image_count,
        )

    # -- endpoints ------------------------------------------------------------------------------------------

    async def login(self, request: Request, secret: str) -> Response:
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

    async def home(self, request: Request) -> Response:
        session = await self.session(request)
        if session is None:
            return self.ended(request)
        t = texts_for(session.language)
        return self.page("groups.html", t, session=session, groups=await self.groups(session))

    async def group(self, request: Request, chat: str) -> Response:
        session = await self.session(request)
        if session is None:
            return self.ended(request)
        t = texts_for(session.language)
        try:
            ref = ChatRef.parse(chat)
        except ValueError:
            return self.notice(t, t.not_found, 404, session)
        if ref.chat_id == "*" or not await self.may_review(session, ref):
            return self.notice(t, t.not_found, 404, session)
        try:
            items = await self.review.queue(ref, self.reviewer(session))
        except ReviewError:
            return self.notice(t, t.not_found, 404, session)
        rows = [self.row(item, t) for item in items]
        return self.page(
            "queue.html",
            t,
            session=session,
            chat=str(ref),
            here=f"/groups/{ref}",
            rows=rows,
            reasons=REJECT_REASONS,
            message={"approved": t.done_approved, "rejected": t.done_rejected}.get(
                request.query_params.get("done", ""), ""
            ),
        )

    async def preview(self, request: Request, item_id: str, n: int) -> Response:
        session = await self.session(request)
        if session is None:
            return Response(status_code=401, headers=_image_headers())
        item = await self.item(session, item_id)
        if item is None or not 0 <= n < item.image_count:
            return Response(status_code=404, headers=_image_headers())
        try:
            images = await asyncio.to_thread(self.quarantine.images, item_id)
        except QuarantineError:
            return Response(status_code=404, headers=_image_headers())
        image_id, data = images[n]
        rendered = await self.previewer.preview(data, image_id)
        if rendered is None:
            return Response(self.placeholder, media_type="image/png", headers=_image_headers())
        return Response(rendered, media_type="image/jpeg", headers=_image_headers())

    async def reveal(self, request: Request, item_id: str) -> Response:
        session = await self.session(request)
        if session is None:
            return self.ended(request)
        t = texts_for(session.language)
        fields = await self.form(request, session)
        if fields is None:
            return self.notice(t, t.forbidden, 403, session)
        item = await self.item(session, item_id)
        if item is None:
            return self.notice(t, t.not_found, 404, session)
        try:
            images = await self.review.preview(item_id, self.reviewer(session))  # audited: who, when
        except (QuarantineError, ReviewError):
            return self.notice(t, t.already_handled, 409, session)
        await asyncio.to_thread(self.auth.mark_revealed, session.id_hash, item_id)
        log.info("item %s revealed in the console", item_id)
        return self.page(
            "reveal.html",
            t,
            session=session,
            chat=str(item.chat),
            row=self.row(item, t),
            count=len(images),
            reasons=REJECT_REASONS,
        )

    async def original(self, request: Request, item_id: str, n: int) -> Response:
        session = await self.session(request)
        if session is None:
            return Response(status_code=401, headers=_image_headers())
        revealed_at = session.revealed_at
        if (
            session.revealed_item != item_id
            or revealed_at is None
            or self.clock() - revealed_at > REVEAL_WINDOW
            or await self.item(session, item_id) is None
        ):
            return Response(status_code=404, headers=_image_headers())
        try:
            images = await asyncio.to_thread(self.quarantine.images, item_id)
        except QuarantineError:
            return Response(status_code=404, headers=_image_headers())
        if not 0 <= n < len(images):
            return Response(status_code=404, headers=_image_headers())
        data = images[n][1]
        return Response(data, media_type=_image_type(data), headers=_image_headers())

    async def decide(self, session: ConsoleSession, item_id: str, action: str, reason: str) -> str:
        """Approve or reject one item: ``done``, ``missing`` (404) or ``handled`` (409)."""
        item = await self.item(session, item_id)
        if item is None:
            return "missing"
        reviewer = self.reviewer(session)
        try:
            if action == "approve":
                # Approving purges the held copy: never approve what cannot be reposted now.
                if self.reposter is None or not self.reposter.serves(item.chat):
                    return "handled"
                approved = await self.review.approve(item_id, reviewer)
                await self.reposter.repost(approved, reviewer)
            else:
                await self.review.reject(item_id, reviewer, reason)
        except (QuarantineError, ReviewError) as exc:
            log.info("console action on %s failed: %s", item_id, type(exc).__name__)
            return "handled"
        return "done"

    def refuse_decision(
        self, t: ConsoleTexts, session: ConsoleSession, action: str, reason: str
    ) -> Response | None:
        """Why an approve or reject cannot be taken at all (no reposter, no reason); None when it can."""
        if action == "approve" and self.reposter is None:
            return self.notice(t, t.approve_unavailable, 409, session)
        if action == "reject" and reason not in REJECT_REASONS:
            return self.notice(t, t.choose_reason, 400, session)
        return None

    async def act(self, request: Request, item_id: str, action: str) -> Response:
        session = await self.session(request)
        if session is None:
            return self.ended(request)
        t = texts_for(session.language)
        fields = await self.form(request, session)
        if fields is None:
            return self.notice(t, t.forbidden, 403, session)
        reason = (fields.get("reason") or [""])[0]
        refused = self.refuse_decision(t, session, action, reason)
        if refused is not None:
            return refused
        item = await self.item(session, item_id)
        if item is None:
            return self.notice(t, t.not_found, 404, session)
        outcome = await self.decide(session, item_id, action, reason)
        if outcome == "handled":
            return self.notice(t, t.already_handled, 409, session)
        done = "approved" if action == "approve" else "rejected"
        return RedirectResponse(f"/groups/{quote(str(item.chat), safe=':')}?done={done}", status_code=303)

    async def approve(self, request: Request, item_id: str) -> Response:
        return await self.act(request, item_id, "approve")

    async def reject(self, request: Request, item_id: str) -> Response:
        return await self.act(request, item_id, "reject")

    async def bulk(self, request: Request) -> Response:
        session = await self.session(request)
        if session is None:
            return self.ended(request)
        t = texts_for(session.language)
        fields = await self.form(request, session)
        if fields is None:
            return self.notice(t, t.forbidden, 403, session)
        action = (fields.get("action") or [""])[0]
        reason = (fields.get("reason") or [""])[0]
        chat = (fields.get("chat") or [""])[0]
        if action not in ("approve", "reject"):
            return self.notice(t, t.not_found, 400, session)
        refused = self.refuse_decision(t, session, action, reason)
        if refused is not None:
            return refused
        for item_id in fields.get("item", []):
            await self.decide(session, item_id, action, reason)
        done = "approved" if action == "approve" else "rejected"
        try:
            target = f"/groups/{quote(str(ChatRef.parse(chat)), safe=':')}?done={done}"
        except ValueError:
            target = "/"
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
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


def _span(delta: timedelta, t: ConsoleTexts) -> str:
    hours = max(0, int(delta.total_seconds() // 3600))
    if hours < 48:
        return f"{hours} {t.hours}"
    return f"{hours // 24} {t.days}"


def create_console_app(
    *,
    review: ReviewService,
    quarantine: Quarantine,
    auth: SqlConsoleAuth,
    settings: ConsoleSettings,
    moderator_check: ModeratorCheck,
    previewer: Previewer,
    reposter: Reposter | None = None,
    clock: Clock = utc_now,
) -> FastAPI:
    """The console as an ASGI app over the bot's review service, quarantine and login store.

    Args:
        review: authorises and audits every reveal, approval and rejection.
        quarantine: the pending items (the queue of every group, images for previews).
        auth: one-time links and sessions.
        settings: the console's settings (public URL, idle timeout).
        moderator_check: asked again at every request of a moderator's session.
        previewer: de-identified renderings (None from it: a neutral placeholder).
        reposter: reposts approved items; None (the standalone console): approving is refused.
        clock: the time (idle timeout, reveal window, ages).

    """
    console = _Console(
        review=review,
        quarantine=quarantine,
        auth=auth,
        moderator_check=moderator_check,
        previewer=previewer,
        reposter=reposter,
        settings=settings,
        clock=clock,
    )
    app = FastAPI(title="consentguard console", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_api_route("/login/{secret}", console.login, methods=["GET"])
    app.add_api_route("/", console.home, methods=["GET"])
    app.add_api_route("/groups/{chat}", console.group, methods=["GET"])
    app.add_api_route("/items/{item_id}/preview/{n}", console.preview, methods=["GET"])
    app.add_api_route("/items/{item_id}/original/{n}", console.original, methods=["GET"])
    app.add_api_route("/items/{item_id}/reveal", console.reveal, methods=["POST"])
    app.add_api_route("/items/{item_id}/approve", console.approve, methods=["POST"])
    app.add_api_route("/items/{item_id}/reject", console.reject, methods=["POST"])
    app.add_api_route("/bulk", console.bulk, methods=["POST"])
    app.add_api_route("/logout", console.logout, methods=["POST"])
    return app
