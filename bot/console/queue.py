"""The queue pages: each group's pending items, de-identified previews, reveal, approve and reject.

An item of a group out of the session's reach answers 404, as an unknown one does. Reveals, approvals and
rejections go through the :class:`~bot.core.review.ReviewService`: authorised and audited there.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
import asyncio
import functools
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from bot.consent.model import ChatRef
from bot.console.ports import Previewer, Reposter
from bot.console.preview import placeholder_png
from bot.console.texts import ConsoleTexts
from bot.console.web import ConsoleWeb, Visit, image_headers
from bot.core.ports import Quarantine
from bot.core.review import NOTE_CHARS, REJECT_REASONS, ReviewService
from bot.domain import QuarantinedPost, QuarantineStatus
from bot.errors import QuarantineError, QuarantineItemNotFoundError, ReviewError
from bot.storage.console_sessions import ConsoleSession

log = logging.getLogger("consentguard.console")

#: How long after a reveal its originals may be fetched by the same session.
REVEAL_WINDOW = timedelta(minutes=5)
_ITEM_ID = re.compile(r"^[0-9a-f]{32}$")


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


class QueuePages:
    """The groups page and each group's queue, over the review service and the quarantine."""

    def __init__(
        self,
        web: ConsoleWeb,
        *,
        review: ReviewService,
        quarantine: Quarantine,
        previewer: Previewer,
        reposter: Reposter | None,
    ) -> None:
        self.web = web
        self.review = review
        self.quarantine = quarantine
        self.previewer = previewer
        self.reposter = reposter
        self.placeholder = placeholder_png()

    def register(self, app: FastAPI) -> None:
        """Add the queue's routes to ``app``."""
        app.add_api_route("/", self.home, methods=["GET"])
        app.add_api_route("/groups/{chat}", self.group, methods=["GET"])
        app.add_api_route("/items/{item_id}/preview/{n}", self.preview, methods=["GET"])
        app.add_api_route("/items/{item_id}/original/{n}", self.original, methods=["GET"])
        app.add_api_route("/items/{item_id}/reveal", self.reveal, methods=["POST"])
        app.add_api_route("/items/{item_id}/approve", self.approve, methods=["POST"])
        app.add_api_route("/items/{item_id}/reject", self.reject, methods=["POST"])
        app.add_api_route("/bulk", self.bulk, methods=["POST"])

    async def item(self, session: ConsoleSession, item_id: str) -> QuarantinedPost | None:
        """A pending item the session may review; None when unknown, settled or out of its reach."""
        if not _ITEM_ID.match(item_id):
            return None
        try:
            item = await self.review.item(item_id)
        except QuarantineItemNotFoundError:
            return None
        if item.status is not QuarantineStatus.PENDING or not await self.web.may_review(session, item.chat):
            return None
        return item

    async def groups(self, session: ConsoleSession) -> list[tuple[ChatRef, int]]:
        """The groups the session may review, with how many items each has pending."""
        pending = await asyncio.to_thread(self.quarantine.pending)
        counts: dict[ChatRef, int] = {}
        for item in pending:
            counts[item.chat] = counts.get(item.chat, 0) + 1
        chats = list(counts) if session.scope.operator else list(session.scope.groups)
        visible = [chat for chat in chats if await self.web.may_review(session, chat)]
        return [(chat, counts.get(chat, 0)) for chat in sorted(visible, key=str)]

    def row(self, item: QuarantinedPost, t: ConsoleTexts) -> QueueRow:
        """How the queue shows ``item``."""
        now = self.web.clock()
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

    async def home(self, request: Request) -> Response:
        """The groups page."""
        visit = await self.web.visit(request)
        if not isinstance(visit, Visit):
            return visit
        session, t = visit.session, visit.t
        return self.web.page("groups.html", t, session=session, groups=await self.groups(session))

    async def group(self, request: Request, chat: str) -> Response:
        """One group's queue, newest first."""
        found = await self.web.group_visit(request, chat)
        if isinstance(found, Response):
            return found
        visit, ref = found
        session, t = visit.session, visit.t
        try:
            items = await self.review.queue(ref, self.web.reviewer(session))
        except ReviewError:
            return self.web.notice(t, t.not_found, 404, session)
        rows = [self.row(item, t) for item in items]
        return self.web.page(
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
        """A de-identified rendering of an item's image ``n`` (a placeholder when none can be made)."""
        session = await self.web.session(request)
        if session is None:
            return Response(status_code=401, headers=image_headers())
        item = await self.item(session, item_id)
        if item is None or not 0 <= n < item.image_count:
            return Response(status_code=404, headers=image_headers())
        try:
            images = await asyncio.to_thread(self.quarantine.images, item_id)
        except QuarantineError:
            return Response(status_code=404, headers=image_headers())
        image_id, data = images[n]
        rendered = await self.previewer.preview(data, image_id)
        if rendered is None:
            return Response(self.placeholder, media_type="image/png", headers=image_headers())
        return Response(rendered, media_type="image/jpeg", headers=image_headers())

    async def reveal(self, request: Request, item_id: str) -> Response:
        """The originals of an item, for this session and a few minutes; audited."""
        visit = await self.web.visit(request, post=True)
        if not isinstance(visit, Visit):
            return visit
        session, t = visit.session, visit.t
        item = await self.item(session, item_id)
        if item is None:
            return self.web.notice(t, t.not_found, 404, session)
        try:
            images = await self.review.preview(item_id, self.web.reviewer(session))  # audited: who, when
        except (QuarantineError, ReviewError):
            return self.web.notice(t, t.already_handled, 409, session)
        await asyncio.to_thread(self.web.auth.mark_revealed, session.id_hash, item_id)
        log.info("item %s revealed in the console", item_id)
        return self.web.page(
            "reveal.html",
            t,
            session=session,
            chat=str(item.chat),
            row=self.row(item, t),
            count=len(images),
            reasons=REJECT_REASONS,
        )

    async def original(self, request: Request, item_id: str, n: int) -> Response:
        """An original image, to the session that revealed its item a moment ago."""
        session = await self.web.session(request)
        if session is None:
            return Response(status_code=401, headers=image_headers())
        revealed_at = session.revealed_at
        if (
            session.revealed_item != item_id
            or revealed_at is None
            or self.web.clock() - revealed_at > REVEAL_WINDOW
            or await self.item(session, item_id) is None
        ):
            return Response(status_code=404, headers=image_headers())
        try:
            images = await asyncio.to_thread(self.quarantine.images, item_id)
        except QuarantineError:
            return Response(status_code=404, headers=image_headers())
        if not 0 <= n < len(images):
            return Response(status_code=404, headers=image_headers())
        data = images[n][1]
        return Response(data, media_type=_image_type(data), headers=image_headers())

    async def decide(
        self, session: ConsoleSession, item_id: str, action: str, reason: str, note: str = ""
    ) -> str:
        """Approve or reject one item: ``done``, ``missing`` (404), ``handled`` (409) or ``failed`` (502)."""
        item = await self.item(session, item_id)
        if item is None:
            return "missing"
        reviewer = self.web.reviewer(session)
        try:
            if action == "approve":
                # Approving purges the held copy: never approve what cannot be reposted now.
                if self.reposter is None or not self.reposter.serves(item.chat):
                    return "handled"
                repost = functools.partial(self.reposter.repost, reviewer=reviewer)
                await self.review.approve(item_id, reviewer, repost)
            else:
                await self.review.reject(item_id, reviewer, reason, note)
        except (QuarantineError, ReviewError) as exc:
            log.info("console action on %s failed: %s", item_id, type(exc).__name__)
            return "handled"
        except Exception as exc:  # the platform refused the repost: the item is still held (reposted first)
            log.warning("repost of item %s failed (%s); it stays held", item_id, type(exc).__name__)
            return "failed"
        return "done"

    def refuse_decision(
        self, t: ConsoleTexts, session: ConsoleSession, action: str, reason: str, note: str
    ) -> Response | None:
        """Why an approve or reject cannot be taken at all (no reposter, no reason, a note too long)."""
        if action == "approve" and self.reposter is None:
            return self.web.notice(t, t.approve_unavailable, 409, session)
        if action == "reject" and reason not in REJECT_REASONS:
            return self.web.notice(t, t.choose_reason, 400, session)
        if len(note) > NOTE_CHARS:
            return self.web.notice(t, t.note_too_long, 400, session)
        return None

    async def act(self, request: Request, item_id: str, action: str) -> Response:
        """Approve or reject one item."""
        visit = await self.web.visit(request, post=True)
        if not isinstance(visit, Visit):
            return visit
        session, t = visit.session, visit.t
        reason, note = visit.field("reason"), visit.field("note").strip()
        refused = self.refuse_decision(t, session, action, reason, note)
        if refused is not None:
            return refused
        item = await self.item(session, item_id)
        if item is None:
            return self.web.notice(t, t.not_found, 404, session)
        outcome = await self.decide(session, item_id, action, reason, note)
        if outcome == "handled":
            return self.web.notice(t, t.already_handled, 409, session)
        if outcome == "failed":
            return self.web.notice(t, t.repost_failed, 502, session)
        done = "approved" if action == "approve" else "rejected"
        return RedirectResponse(f"/groups/{quote(str(item.chat), safe=':')}?done={done}", status_code=303)

    async def approve(self, request: Request, item_id: str) -> Response:
        """Approve one item (repost through the running bot)."""
        return await self.act(request, item_id, "approve")

    async def reject(self, request: Request, item_id: str) -> Response:
        """Reject one item with a reason."""
        return await self.act(request, item_id, "reject")

    async def bulk(self, request: Request) -> Response:
        """Approve or reject several items of one group."""
        visit = await self.web.visit(request, post=True)
        if not isinstance(visit, Visit):
            return visit
        session, t = visit.session, visit.t
        action, chat = visit.field("action"), visit.field("chat")
        reason, note = visit.field("reason"), visit.field("note").strip()
        if action not in ("approve", "reject"):
            return self.web.notice(t, t.not_found, 400, session)
        refused = self.refuse_decision(t, session, action, reason, note)
        if refused is not None:
            return refused
        for item_id in visit.fields.get("item", []):
            await self.decide(session, item_id, action, reason, note)
        done = "approved" if action == "approve" else "rejected"
        try:
            target = f"/groups/{quote(str(ChatRef.parse(chat)), safe=':')}?done={done}"
        except ValueError:
            target = "/"
        return RedirectResponse(target, status_code=303)


def _span(delta: timedelta, t: ConsoleTexts) -> str:
    hours = max(0, int(delta.total_seconds() // 3600))
    if hours < 48:
        return f"{hours} {t.hours}"
    return f"{hours // 24} {t.days}"
