"""A group's settings page: mode, action on identifying posts, retention, language, review chat, moderators.

Changes go through :meth:`bot.core.review.ReviewService.update_policy`: checked by the policy file's schema,
stored, audited and in force at once in the bot that serves the console; a bot running apart (the standalone
``consentguard console``) picks them up from the database within its settings poll
(:class:`bot.core.settings_follower.GroupSettingsFollower`).
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from bot.consent.model import ChatRef
from bot.console.settings_texts import settings_texts_for
from bot.console.web import ConsoleWeb, Visit
from bot.core.policy import GroupPolicySchema
from bot.core.review import ReviewService
from bot.errors import PolicyError, ReviewError

log = logging.getLogger("consentguard.console")

#: The settings this page edits (the policy file's keys); the others keep their values.
EDITABLE = ("mode", "identifying_action", "retention_days", "language", "review_chat", "moderators")


class SettingsPages:
    """GET and POST ``/groups/{chat}/settings``."""

    def __init__(self, web: ConsoleWeb, *, review: ReviewService) -> None:
        self.web = web
        self.review = review

    def register(self, app: FastAPI) -> None:
        """Add the settings routes to ``app``."""
        app.add_api_route("/groups/{chat}/settings", self.show, methods=["GET"])
        app.add_api_route("/groups/{chat}/settings", self.save, methods=["POST"])

    def _values(self, ref: ChatRef) -> dict[str, Any]:
        policy = self.review.policy(ref)
        return GroupPolicySchema.of(policy, source=f"group settings of {ref}").model_dump(mode="json")

    def _render(
        self,
        visit: Visit,
        ref: ChatRef,
        values: dict[str, Any],
        *,
        message: str = "",
        error: str = "",
        code: int = 200,
    ) -> Response:
        return self.web.page(
            "settings.html",
            visit.t,
            code,
            session=visit.session,
            chat=str(ref),
            here=f"/groups/{ref}/settings",
            s=settings_texts_for(visit.t.html_lang),
            values=values,
            message=message,
            error=error,
        )

    async def show(self, request: Request, chat: str) -> Response:
        """The group's settings as in force now."""
        found = await self.web.group_visit(request, chat)
        if isinstance(found, Response):
            return found
        visit, ref = found
        s = settings_texts_for(visit.t.html_lang)
        done = request.query_params.get("done", "")
        message = {"saved": s.saved, "unchanged": s.unchanged}.get(done, "")
        return self._render(visit, ref, self._values(ref), message=message)

    async def save(self, request: Request, chat: str) -> Response:
        """Store the form's settings (checked, audited, in force at once), or show why they were refused."""
        found = await self.web.group_visit(request, chat, post=True)
        if isinstance(found, Response):
            return found
        visit, ref = found
        changes: dict[str, Any] = {key: visit.field(key).strip() for key in EDITABLE if key in visit.fields}
        if "moderators" in changes:
            lines = changes["moderators"].splitlines()
            changes["moderators"] = [line.strip() for line in lines if line.strip()]
        if "retention_days" in changes:
            text = changes["retention_days"]
            changes["retention_days"] = int(text) if text.isdigit() else text  # a non-number: refused below
        try:
            _, changed = await self.review.update_policy(ref, changes, self.web.reviewer(visit.session))
        except PolicyError as exc:
            values = {**self._values(ref), **changes}
            return self._render(visit, ref, values, error=_plain(str(exc)), code=400)
        except ReviewError:
            return self.web.notice(visit.t, visit.t.not_found, 404, visit.session)
        log.info("group settings changed in the console (%d key(s))", len(changed))
        done = "saved" if changed else "unchanged"
        return RedirectResponse(f"/groups/{quote(str(ref), safe=':')}/settings?done={done}", status_code=303)


def _plain(message: str) -> str:
    # The schema names the source first ("group settings of telegram:-100…: key 'x': …"): keep the key part.
    return message.split(": ", 1)[1] if ": " in message else message
