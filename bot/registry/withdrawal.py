"""Withdrawal without an account: the receipt's code, typed on ``/withdraw``, revokes the consent.

The revocation goes through the registry's service, so it appears in ``GET /v1/revocations`` and the bot
takes the posts down. Attempts are limited per client address (a code has 55 random bits: the limit only
keeps guessing pointless). Behind a reverse proxy every client shares the proxy's address, so the limit
then applies to all of them together: size it, or have the proxy limit by the real address.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time.
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from bot.registry.capture.flow import CaptureFlow, MistypedCodeError, UnknownCodeError
from bot.registry.capture.pages import Pages, read_fields
from bot.registry.capture.texts import Language, Texts, texts_for
from bot.registry.ratelimit import TokenBucketLimiter

#: Largest withdrawal form read.
MAX_WITHDRAW_BYTES = 4096
#: Longest code kept to show back in the form.
_CODE_MAX = 40


def withdrawal_router(
    flow: CaptureFlow, pages: Pages, *, per_minute: int, monotonic: Callable[[], float] = time.monotonic
) -> APIRouter:
    """``GET /withdraw`` (the form) and ``POST /withdraw`` (the withdrawal), in French and English."""
    router = APIRouter()
    limiter = TokenBucketLimiter(per_minute, monotonic=monotonic)

    def form(
        texts: Texts,
        language: Language,
        *,
        code: str = "",
        problem: str = "",
        status_code: int = 200,
        retry_after: int | None = None,
    ) -> Response:
        return pages.render(
            "withdraw.html",
            texts=texts,
            language=language,
            status_code=status_code,
            headers={"Retry-After": str(retry_after)} if retry_after else None,
            code=code,
            problem=problem,
        )

    @router.get("/withdraw", include_in_schema=False)
    def withdraw_form(request: Request, lang: str | None = None) -> Response:
        language, texts = texts_for(lang, _preferred(request))
        return form(texts, language)

    @router.post("/withdraw", include_in_schema=False)
    async def withdraw(request: Request) -> Response:
        fields = await read_fields(request, MAX_WITHDRAW_BYTES) or {}
        language, texts = texts_for(fields.get("lang", [""])[0], _preferred(request))
        code = fields.get("code", [""])[0][:_CODE_MAX]
        wait = limiter.acquire(f"ip:{request.client.host if request.client else '-'}")
        if wait:
            message = texts.withdraw_rate_limited.format(seconds=wait)
            return form(texts, language, code=code, problem=message, status_code=429, retry_after=wait)
        try:
            withdrawal = await run_in_threadpool(flow.withdraw, code)
        except MistypedCodeError:
            return form(texts, language, code=code, problem=texts.withdraw_mistyped, status_code=422)
        except UnknownCodeError:
            return form(texts, language, code=code, problem=texts.withdraw_unknown, status_code=404)
        return pages.render("withdrawn.html", texts=texts, language=language, withdrawal=withdrawal)

    return router


def _preferred(request: Request) -> Language:
    """English when the browser prefers it over French; French otherwise (the registry's default)."""
    accepted = request.headers.get("accept-language", "").lower()
    english, french = accepted.find("en"), accepted.find("fr")
    return Language.EN if english != -1 and (french == -1 or english < french) else Language.FR
