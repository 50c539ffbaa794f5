"""The capture flow over HTTP: the bot's JSON API (``/v1/capture-links``) and the consent form's pages.

Secrets travel in URL paths here too (``/consent/{secret}``): the registry's access log names the route
template only, and every page sends ``Referrer-Policy: no-referrer``.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time, and they
# name a dependency given to capture_router().
import base64
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from bot.consent.model import ChatRef, Purpose, UserRef
from bot.errors import InvalidRequestError, NotAllowedError
from bot.registry.capture.flow import (
    CaptureFlow,
    CaptureLink,
    CaptureRateLimitedError,
    LinkExpiredError,
    LinkUsedError,
    Receipt,
    UnknownLinkError,
)
from bot.registry.capture.form import (
    FormInput,
    FormProblem,
    SignatureKind,
    default_days,
    durations_up_to,
    read_form,
)
from bot.registry.capture.pages import Pages, read_fields
from bot.registry.capture.texts import Language, Texts, texts_for
from bot.registry.keys import Principal
from bot.registry.service import IssuingRateLimitedError
from bot.registry.withdrawal import withdrawal_router

logger = logging.getLogger("consentguard.registry.capture")

#: Largest form body read (a drawn signature is most of it).
MAX_FORM_BYTES = 512 * 1024
RECEIPT_COOKIE = "cg_receipt"
RECEIPT_PATH = "/consent/receipt"

# Printable ASCII without space or "*": one platform, one chat, one person (as the consent API's patterns).
_REF = r"^[A-Za-z][A-Za-z0-9_.-]{0,31}:[!-)+-~]{1,64}$"
# One line of text; blank means none (the form then shows the reference).
_LINE = r"^[^\x00-\x1f\x7f]*$"


class CaptureLinkIn(BaseModel):
    """A consent form to open for a clinician and a group."""

    clinician: str = Field(pattern=_REF, description='"platform:user_id" of the clinician who asks')
    chat: str = Field(pattern=_REF, description='"platform:chat_id" of the group the images go to')
    language: Literal["fr", "en"] = Field(default="fr", description="the form's language at first")
    chat_title: str | None = Field(
        default=None, max_length=128, pattern=_LINE, description="the group's name as the form shows it"
    )
    clinician_name: str | None = Field(
        default=None, max_length=128, pattern=_LINE, description="the clinician's name as the form shows it"
    )

    @field_validator("chat_title", "clinician_name", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        # A group without a title, a person without a display name: the form then shows the reference.
        return None if isinstance(value, str) and not value.strip() else value


class CaptureLinkOut(BaseModel):
    """A one-time link to the consent form."""

    link_id: str = Field(description="the link's id, to ask for its status")
    url: str = Field(description="the form's address: a secret, for the clinician's private chat only")
    expires_at: datetime


class CaptureLinkStatusOut(BaseModel):
    """Where a link stands; the token is given once, with the first "signed"."""

    status: Literal["pending", "signed", "expired", "collected"]
    token: str | None = Field(description="the new consent's token, this once; then null")


class _ErrorOut(BaseModel):
    detail: str


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": _ErrorOut, "description": "missing, malformed, unknown or revoked key"},
    403: {"model": _ErrorOut, "description": "only a bot key may do this"},
}


def capture_router(
    flow: CaptureFlow,
    *,
    bot: Callable[..., Principal],
    public_url: str | None,
    withdrawals_per_minute: int,
    monotonic: Callable[[], float] = time.monotonic,
) -> APIRouter:
    """The API and pages of the capture flow, and the withdrawal pages.

    Args:
        flow: the capture flow over the registry's database.
        bot: the dependency that admits bot keys only.
        public_url: the registry's address as browsers reach it (None: the address the request came to).
        withdrawals_per_minute: withdrawal attempts allowed per client address and minute.
        monotonic: the clock of the rate limits.

    """
    router = APIRouter()
    pages = Pages()
    rules = flow.registry.rules
    bot_key = Depends(bot)

    def base_url(request: Request) -> str:
        return (public_url or str(request.base_url)).rstrip("/")

    def secure(request: Request) -> bool:
        # Behind a proxy that ends TLS, the request itself is plain HTTP: the public address tells.
        return base_url(request).startswith("https:")

    # -- the bot's API ------------------------------------------------------------------------------------

    @router.post(
        "/v1/capture-links",
        tags=["capture"],
        status_code=status.HTTP_201_CREATED,
        responses={
            **_AUTH_ERRORS,
            400: {"model": _ErrorOut, "description": "the body could not be read as JSON"},
            429: {
                "model": _ErrorOut,
                "description": "too many links for this clinician",
                "headers": _RETRY_AFTER,
            },
        },
    )
    def create_link(
        body: CaptureLinkIn, who: Annotated[Principal, bot_key], request: Request
    ) -> CaptureLinkOut:
        """Open a one-time consent form for a clinician and a group; the URL goes to the clinician only."""
        try:
            new = flow.create_link(
                owner_key=who.key_id,
                clinician=UserRef.parse(body.clinician),
                chat=ChatRef.parse(body.chat),
                language=Language(body.language),
                chat_title=body.chat_title,
                clinician_name=body.clinician_name,
            )
        except CaptureRateLimitedError as limited:
            raise HTTPException(
                429,
                "too many capture links for this clinician",
                headers={"Retry-After": str(limited.retry_after)},
            ) from limited
        return CaptureLinkOut(
            link_id=new.link_id, url=f"{base_url(request)}/consent/{new.secret}", expires_at=new.expires_at
        )

    @router.get(
        "/v1/capture-links/{link_id}",
        tags=["capture"],
        responses={**_AUTH_ERRORS, 404: {"model": _ErrorOut, "description": "no such link for this key"}},
    )
    def link_status(link_id: str, who: Annotated[Principal, bot_key]) -> CaptureLinkStatusOut:
        """Where the link stands; the first answer after signing carries the token, and only that one."""
        found = flow.collect(link_id, who.key_id)
        if found is None:
            raise HTTPException(404, "no such capture link for this key")
        state, token = found
        return CaptureLinkStatusOut(status=state.value, token=token.value if token is not None else None)

    # -- the form -----------------------------------------------------------------------------------------

    def form_page(
        request: Request,
        link: CaptureLink,
        texts: Texts,
        language: Language,
        raw: FormInput,
        problems: list[str],
        status_code: int = 200,
    ) -> Response:
        return pages.render(
            "form.html",
            texts=texts,
            language=language,
            status_code=status_code,
            link=link,
            raw=raw,
            problems=problems,
            csrf=flow.csrf_token(link),
            purposes=list(Purpose),
            durations=durations_up_to(rules.max_days),
            max_images=rules.max_images,
            withdraw_url=f"{base_url(request)}/withdraw",
        )

    def link_refused(request: Request, refusal: Exception, texts: Texts, language: Language) -> Response:
        if isinstance(refusal, LinkUsedError):
            receipt_url = None
            response_cookie = None
            if refusal.receipt_id is not None and flow.receipt_available(refusal.receipt_id):
                # Whoever holds the link may see the receipt again while its window is open.
                receipt_url = f"{RECEIPT_PATH}/{refusal.receipt_id}"
                response_cookie = flow.receipt_cookie(refusal.receipt_id)
            response = pages.notice(
                texts=texts,
                language=language,
                heading=texts.link_used_heading,
                text=texts.link_used,
                status_code=410,
                receipt_url=receipt_url,
            )
            if response_cookie is not None:
                _set_receipt_cookie(response, response_cookie, secure=secure(request))
            return response
        if isinstance(refusal, LinkExpiredError):
            heading, text = texts.link_expired_heading, texts.link_expired
            return pages.notice(texts=texts, language=language, heading=heading, text=text, status_code=410)
        heading, text = texts.link_unknown_heading, texts.link_unknown
        return pages.notice(texts=texts, language=language, heading=heading, text=text, status_code=404)

    @router.get("/consent/{secret}", include_in_schema=False)
    async def show_form(secret: str, request: Request, lang: str | None = None) -> Response:
        try:
            link = await run_in_threadpool(flow.open_link, secret)
        except (UnknownLinkError, LinkExpiredError, LinkUsedError) as refusal:
            language, texts = texts_for(lang)
            return await run_in_threadpool(link_refused, request, refusal, texts, language)
        language, texts = texts_for(lang, link.language)
        raw = FormInput(
            purposes=frozenset(),
            days=str(default_days(rules.max_days)),
            max_images=str(rules.default_images),
            signer="patient",
            patient_name="",
            guardian_name="",
            typed_signature="",
            signature_png="",
        )
        return form_page(request, link, texts, language, raw, [])

    @router.post("/consent/{secret}", include_in_schema=False)
    async def sign_form(secret: str, request: Request) -> Response:
        fields = await read_fields(request, MAX_FORM_BYTES)
        chosen = (fields or {}).get("lang", [""])[0]
        try:
            link = await run_in_threadpool(flow.open_link, secret)
        except (UnknownLinkError, LinkExpiredError, LinkUsedError) as refusal:
            language, texts = texts_for(chosen)
            return await run_in_threadpool(link_refused, request, refusal, texts, language)
        language, texts = texts_for(chosen, link.language)
        if fields is None:
            return pages.notice(
                texts=texts,
                language=language,
                heading=texts.errors_heading,
                text=texts.error_too_large,
                status_code=413,
            )
        raw, form, problems = read_form(fields, max_days=rules.max_days, max_images=rules.max_images)
        if not flow.check_csrf(link, fields.get("csrf", [""])[0]):
            problems = [FormProblem.CSRF, *problems]
            form = None
        if form is None:
            messages = [_problem_text(texts, problem, rules.max_images) for problem in problems]
            code = 403 if FormProblem.CSRF in problems else 422
            return form_page(request, link, texts, language, raw, messages, code)
        try:
            signed = await run_in_threadpool(flow.sign, secret, form, language)
        except (UnknownLinkError, LinkExpiredError, LinkUsedError) as refusal:
            return await run_in_threadpool(link_refused, request, refusal, texts, language)
        except IssuingRateLimitedError as limited:
            return pages.notice(
                texts=texts,
                language=language,
                heading=texts.errors_heading,
                text=texts.error_rate_limited,
                status_code=429,
                headers={"Retry-After": str(limited.retry_after)},
            )
        except (InvalidRequestError, NotAllowedError) as refused:
            message = texts.error_refused.format(reason=str(refused))
            return form_page(request, link, texts, language, raw, [message], 422)
        response = RedirectResponse(
            f"{RECEIPT_PATH}/{signed.receipt_id}?lang={language.value}", status_code=303
        )
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        _set_receipt_cookie(response, signed.receipt_cookie, secure=secure(request))
        return response

    @router.get(RECEIPT_PATH + "/{receipt_id}", include_in_schema=False)
    async def show_receipt(receipt_id: str, request: Request, lang: str | None = None) -> Response:
        receipt: Receipt | None = await run_in_threadpool(
            flow.receipt, receipt_id, request.cookies.get(RECEIPT_COOKIE)
        )
        if receipt is None:
            language, texts = texts_for(lang)
            return pages.notice(
                texts=texts,
                language=language,
                heading=texts.receipt_gone_heading,
                text=texts.receipt_gone,
                status_code=404,
            )
        language, texts = texts_for(lang, receipt.language)
        drawn = receipt.signature_kind is SignatureKind.DRAWN
        return pages.render(
            "receipt.html",
            texts=texts,
            language=language,
            receipt=receipt,
            signature_data_url=(
                "data:image/png;base64," + base64.b64encode(receipt.signature).decode() if drawn else None
            ),
            typed_signature=None if drawn else receipt.signature.decode(),
            withdraw_url=f"{base_url(request)}/withdraw",
        )

    router.include_router(
        withdrawal_router(flow, pages, per_minute=withdrawals_per_minute, monotonic=monotonic)
    )
    return router


def _set_receipt_cookie(response: Response, value: str, *, secure: bool) -> None:
    # A session cookie (no expiry): this browser only, until it closes; the server's window applies too.
    response.set_cookie(
        RECEIPT_COOKIE, value, path=RECEIPT_PATH, httponly=True, samesite="strict", secure=secure
    )


def _problem_text(texts: Texts, problem: FormProblem, max_images: int) -> str:
    return {
        FormProblem.CSRF: texts.error_csrf,
        FormProblem.PURPOSE: texts.error_purpose,
        FormProblem.DAYS: texts.error_days,
        FormProblem.IMAGES: texts.error_images.format(max=max_images),
        FormProblem.PATIENT_NAME: texts.error_patient_name,
        FormProblem.GUARDIAN_NAME: texts.error_guardian_name,
        FormProblem.SIGNATURE: texts.error_signature,
        FormProblem.SIGNATURE_IMAGE: texts.error_signature_image,
        FormProblem.AGREE: texts.error_agree,
    }[problem]
