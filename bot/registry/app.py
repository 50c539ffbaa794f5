"""The consent API over HTTP (FastAPI): the contract of ``docs/consent-api.md``, served from one database.

Tokens travel in URL paths, so nothing here logs a raw path: the access line names the route template, the
key id and the status code. Run uvicorn with ``access_log=False`` for the same reason.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations at run time, and
# they name dependencies local to create_app().
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Self

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.consent.model import ChatRef, ConsentRecord, ConsentStatus, Purpose, ScopeProblem, UserRef
from bot.consent.token import ConsentToken, parse_token
from bot.errors import (
    InvalidRequestError,
    InvalidTokenError,
    NotAllowedError,
    ScopeRefusedError,
    UnknownConsentError,
)
from bot.registry.capture.flow import DEFAULT_LINK_VALIDITY, open_flow
from bot.registry.capture.router import capture_router
from bot.registry.db import create_registry_engine, create_session_factory
from bot.registry.keys import Principal, Role
from bot.registry.migrations import upgrade
from bot.registry.ratelimit import TokenBucketLimiter
from bot.registry.service import (
    PATIENT_REF_MAX,
    Clock,
    ConsentRegistry,
    InvalidFieldError,
    IssuingRateLimitedError,
    IssuingRules,
    RecordedUse,
    UseRequest,
    utc_now,
)

logger = logging.getLogger("consentguard.registry")

API_VERSION = "1"

# Printable ASCII without space (ids of chats, messages and users on every platform we know), and without
# "*" where a wildcard would make no sense.
_PLATFORM = r"[A-Za-z][A-Za-z0-9_.-]{0,31}"
_ID = r"[!-~]{1,64}"
_ID_NO_STAR = r"[!-)+-~]{1,64}"
_USER_PATTERN = rf"^{_PLATFORM}:{_ID}$"
_GROUP_PATTERN = rf"^(\*|{_PLATFORM}:{_ID})$"
# Opaque, but one line of printable text: no control characters (PostgreSQL refuses NUL) and not blank.
_PATIENT_REF_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"
_INT64 = 2**63
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


# -- JSON bodies (pydantic at the edge only) -----------------------------------------------------------------


class ConsentView(BaseModel):
    """What the registry says of a token, as a bot key sees it: the scope, without the patient reference."""

    # Forbidding extra fields keeps this body and ConsentOut apart when a response is matched to its model.
    model_config = ConfigDict(extra="forbid")

    status: ConsentStatus
    purposes: list[Purpose]
    groups: list[str] = Field(description='"platform:chat_id", "platform:*" or "*"')
    clinicians: list[str] = Field(
        description='"platform:user_id", or "platform:*" for anyone on that platform'
    )
    valid_until: datetime | None
    max_images: int | None = Field(
        description="distinct images covered; null only when unknown (or, from older registries, no limit)"
    )
    images_used: int

    @classmethod
    def from_record(cls, record: ConsentRecord) -> Self:
        """Build the body from a domain record."""
        return cls.model_validate(_scope_fields(record))


class ConsentOut(ConsentView):
    """What the registry says of a token, for an admin key or the clinician who issued the consent."""

    patient_ref: str = Field(description="opaque reference chosen by the issuer; never a name")

    @classmethod
    def from_record(cls, record: ConsentRecord) -> Self:
        """Build the body from a domain record."""
        return cls.model_validate({**_scope_fields(record), "patient_ref": record.patient_ref})


def _scope_fields(record: ConsentRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "purposes": sorted(record.purposes),
        "groups": [str(group) for group in record.groups],
        "clinicians": [str(user) for user in record.clinicians],
        "valid_until": record.valid_until,
        "max_images": record.max_images,
        "images_used": record.images_used,
    }


def consent_body(who: Principal, record: ConsentRecord) -> ConsentOut | ConsentView:
    """The record as ``who`` may see it: a bot key never receives the patient reference (it needs none)."""
    return ConsentView.from_record(record) if who.role is Role.BOT else ConsentOut.from_record(record)


class IssuedOut(ConsentOut):
    """A new consent with its token, shown this once."""

    token: str = Field(description="canonical CG-XXXX-XXXX-XXXX-XXXX-C; the registry keeps only its hash")


class IssueFields(BaseModel):
    """A consent to issue, less ``days`` and ``max_images``, whose bounds each app takes from its rules."""

    patient_ref: str = Field(min_length=1, max_length=PATIENT_REF_MAX, pattern=_PATIENT_REF_PATTERN)
    groups: list[Annotated[str, Field(pattern=_GROUP_PATTERN)]] = Field(
        min_length=1,
        max_length=100,
        description='"platform:chat_id"; wildcards ("*", "platform:*") for admin keys only',
    )
    clinicians: list[Annotated[str, Field(pattern=_USER_PATTERN)]] = Field(
        min_length=1, max_length=100, description='"platform:user_id"; "platform:*" for admin keys only'
    )
    purposes: list[Purpose] = Field(min_length=1)


class RevokeIn(BaseModel):
    """For a bot key: the clinician on whose behalf it revokes (a withdrawal asked in chat)."""

    model_config = ConfigDict(extra="forbid")

    on_behalf_of: str = Field(pattern=rf"^{_PLATFORM}:{_ID_NO_STAR}$", description='"platform:user_id"')


class UseIn(BaseModel):
    """An image posted under a consent."""

    platform: str = Field(pattern=rf"^{_PLATFORM}$")
    chat_id: Annotated[str, Field(pattern=rf"^{_ID_NO_STAR}$")] | Annotated[int, Field(gt=-_INT64, lt=_INT64)]
    message_id: Annotated[str, Field(pattern=rf"^{_ID}$")] | Annotated[int, Field(gt=-_INT64, lt=_INT64)]
    image_sha256: str = Field(pattern=r"^[0-9A-Fa-f]{64}$")
    poster: str = Field(pattern=rf"^{_PLATFORM}:{_ID_NO_STAR}$", description='"platform:user_id"')
    purpose: Purpose

    @field_validator("platform")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class UseOut(BaseModel):
    """A recorded use."""

    platform: str
    chat_id: str
    message_id: str
    image_sha256: str
    poster: str
    purpose: Purpose
    recorded_at: datetime
    images_used: int = Field(description="distinct images recorded under the consent, this one included")

    @classmethod
    def from_use(cls, use: RecordedUse) -> Self:
        """Build the body from a recorded use."""
        return cls(
            platform=use.chat.platform,
            chat_id=use.chat.chat_id,
            message_id=use.message_id,
            image_sha256=use.image_sha256,
            poster=use.poster,
            purpose=use.purpose,
            recorded_at=use.recorded_at,
            images_used=use.images_used,
        )


class ProblemOut(BaseModel):
    """Why a use was refused."""

    problem: ScopeProblem


class RevocationsQuery(BaseModel):
    """The query of ``GET /v1/revocations``; unknown parameters are refused, so a typo is not "everything"."""

    model_config = ConfigDict(extra="forbid")

    since: str | None = Field(
        default=None,
        description="RFC 3339 date-time with an offset (Z or +01:00); inclusive",
        json_schema_extra={"format": "date-time"},
    )
    limit: int = Field(default=1000, ge=1, le=10_000)


class RevocationOut(BaseModel):
    """A revoked consent, named by the hex SHA-256 of its compact token."""

    token_fingerprint: str
    revoked_at: datetime


class RevocationsOut(BaseModel):
    """Revocations, oldest first."""

    revocations: list[RevocationOut]


class ErrorOut(BaseModel):
    """An error with a human-readable reason."""

    detail: str


class HealthOut(BaseModel):
    """Liveness."""

    status: str


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing, malformed, unknown or revoked key"},
    403: {"model": ErrorOut, "description": "the key's role may not do this"},
}
_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "the body could not be read as JSON"},
}
_TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH_ERRORS,
    429: {"model": ErrorOut, "description": "too many lookups for this key", "headers": _RETRY_AFTER},
}
_ISSUE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH_ERRORS,
    403: {"model": ErrorOut, "description": "a bot key, or a clinician key naming a wildcard"},
    429: {
        "model": ErrorOut,
        "description": "this clinician issued too many consents lately",
        "headers": _RETRY_AFTER,
    },
}


# -- the application -----------------------------------------------------------------------------------------


def create_app(
    database_url: str,
    *,
    lookups_per_minute: int = 600,
    staff_lookups_per_minute: int = 60,
    rules: IssuingRules | None = None,
    clock: Clock = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
    public_url: str | None = None,
    capture_link_validity: timedelta = DEFAULT_LINK_VALIDITY,
    capture_key_file: Path | None = None,
    withdrawals_per_minute: int = 5,
) -> FastAPI:
    """Create the registry's app on ``database_url``, migrating the schema first.

    Args:
        database_url: SQLAlchemy URL, e.g. ``sqlite:///data/consent-registry.db`` or a PostgreSQL URL.
        lookups_per_minute: per bot key, allowance of requests that name a token (burst of the same size).
            The bot looks up every captioned post of every group it guards, so this is sized for that
            traffic; limiting each poster is the bot's own job.
        staff_lookups_per_minute: the same allowance for each clinician or admin key (used by hand).
        rules: the issuing rules (longest validity, images, issuing limit); default :class:`IssuingRules`.
        clock: the current UTC time; tests move it to expire consents.
        monotonic: the clock of the rate limits; tests move it to refill them.
        public_url: the registry's address as browsers reach it, for consent form links (None: the address
            each request came to).
        capture_link_validity: how long a consent form link may be signed.
        capture_key_file: the key that seals signed consents (None: next to a SQLite database file).
        withdrawals_per_minute: withdrawal attempts by code allowed per client address and minute.

    """
    limits = rules or IssuingRules()
    engine = create_registry_engine(database_url)
    upgrade(engine)
    registry = ConsentRegistry(create_session_factory(engine), clock, rules=limits, monotonic=monotonic)
    bot_limiter = TokenBucketLimiter(lookups_per_minute, monotonic=monotonic)
    staff_limiter = TokenBucketLimiter(staff_lookups_per_minute, monotonic=monotonic)

    class IssueIn(IssueFields):
        """A consent to issue."""

        # The maxima are checked by the registry, with a message that names them; the schema shows them.
        days: int = Field(ge=1, json_schema_extra={"maximum": limits.max_days})
        max_images: int = Field(
            default=limits.default_images,
            ge=1,
            json_schema_extra={"maximum": limits.max_images},
            description="how many distinct images the consent covers; every consent has a number",
        )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="consentguard consent registry",
        version=API_VERSION,
        summary="Patient consents for images shared in clinicians' group chats.",
        lifespan=lifespan,
    )
    bearer = HTTPBearer(auto_error=False, description="cgk_<role>_<32 characters>")

    def principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        if credentials is None:
            raise HTTPException(401, "missing bearer API key", headers={"WWW-Authenticate": "Bearer"})
        found = registry.authenticate(credentials.credentials)
        if found is None:
            raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
        request.state.key_id = found.key_id
        return found

    def role(*allowed: Role) -> Callable[[Principal], Principal]:
        def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
            if who.role not in allowed:
                raise HTTPException(403, f"a {who.role.value} key may not do this")
            return who

        return check

    def token_request(*allowed: Role) -> Callable[[Principal], Principal]:
        """A role check that also spends one lookup: every request naming a token can probe for one."""
        checked = role(*allowed)

        def spend(who: Annotated[Principal, Depends(checked)]) -> Principal:
            limiter = bot_limiter if who.role is Role.BOT else staff_limiter
            wait = limiter.acquire(who.key_id)
            if wait:
                raise HTTPException(429, "too many lookups", headers={"Retry-After": str(wait)})
            return who

        return spend

    reader = Depends(token_request(Role.BOT, Role.ADMIN))
    issuer = Depends(role(Role.CLINICIAN, Role.ADMIN))
    revoker = Depends(token_request(Role.BOT, Role.CLINICIAN, Role.ADMIN))
    feed = Depends(role(Role.BOT, Role.ADMIN))

    @app.middleware("http")
    async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "-")  # the template: never the token itself
        logger.info(
            "%s %s -> %d key=%s %.1fms",
            request.method,
            route,
            response.status_code,
            getattr(request.state, "key_id", "-"),
            (time.perf_counter() - started) * 1000,
        )
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's default echoes the offending input; a patient_ref or a token must not bounce back into
        # client logs and proxies.
        errors = [{k: v for k, v in error.items() if k in ("loc", "msg", "type")} for error in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})

    @app.get("/healthz", tags=["health"])
    def healthz() -> HealthOut:
        """Liveness, without authentication."""
        return HealthOut(status="ok")

    @app.get("/v1/consents/{token}", tags=["consents"], responses=_TOKEN_ERRORS)
    def get_consent(token: str, who: Annotated[Principal, reader]) -> ConsentOut | ConsentView:
        """What the registry says of a token; 200 with status "unknown" when no consent has it.

        A bot key gets the scope without ``patient_ref``; an admin key gets it too.
        """
        return consent_body(who, registry.lookup(_parse(token)))

    @app.post(
        "/v1/consents/{token}/uses",
        tags=["consents"],
        status_code=status.HTTP_201_CREATED,
        responses={
            **_TOKEN_ERRORS,
            **_BODY_ERRORS,
            200: {"model": UseOut, "description": "this image of this message was already recorded"},
            409: {"model": ProblemOut, "description": "the consent does not cover this use"},
        },
        dependencies=[reader],
        response_model=UseOut,
    )
    def record_use(token: str, body: UseIn, response: Response) -> UseOut | JSONResponse:
        """Record an image posted under the token; idempotent per (platform, chat, message, image)."""
        parsed = _parse(token)
        try:
            use = registry.record_use(parsed, _use_request(body))
        except ScopeRefusedError as refused:
            return JSONResponse(status_code=409, content={"problem": refused.problem.value})
        if not use.created:
            response.status_code = status.HTTP_200_OK
        return UseOut.from_use(use)

    @app.post(
        "/v1/consents",
        tags=["consents"],
        status_code=status.HTTP_201_CREATED,
        responses={**_ISSUE_ERRORS, **_BODY_ERRORS},
    )
    def issue_consent(body: IssueIn, who: Annotated[Principal, issuer]) -> IssuedOut:
        """Issue a consent; the response carries the token, which the registry will never show again.

        Wildcard groups or clinicians are for admin keys only (403 for a clinician key); ``days`` and
        ``max_images`` beyond this registry's maxima are refused (422, never clipped); a clinician key past
        its hourly allowance gets 429 with ``Retry-After``.
        """
        try:
            issued = registry.issue_as(
                who,
                patient_ref=body.patient_ref,
                groups=[ChatRef.parse(text) for text in body.groups],
                clinicians=[UserRef.parse(text) for text in body.clinicians],
                purposes=set(body.purposes),
                days=body.days,
                max_images=body.max_images,
            )
        except NotAllowedError as refused:
            raise HTTPException(403, str(refused)) from refused
        except IssuingRateLimitedError as limited:
            raise HTTPException(
                429, "too many consents issued lately", headers={"Retry-After": str(limited.retry_after)}
            ) from limited
        except InvalidFieldError as invalid:
            raise _invalid(("body", invalid.field), str(invalid)) from invalid
        except (InvalidRequestError, ValueError) as invalid:
            raise _invalid(("body",), str(invalid)) from invalid
        out = ConsentOut.from_record(issued.record)
        logger.info("consent issued by key=%s", who.key_id)
        return IssuedOut(token=issued.token.value, **out.model_dump())

    @app.post(
        "/v1/consents/{token}/revoke",
        tags=["consents"],
        responses={
            **_TOKEN_ERRORS,
            **_BODY_ERRORS,
            403: {"model": ErrorOut, "description": "this key may not revoke this consent"},
            404: {"model": ErrorOut, "description": "no consent has this token"},
        },
    )
    def revoke_consent(
        token: str, who: Annotated[Principal, revoker], body: RevokeIn | None = None
    ) -> ConsentOut | ConsentView:
        """Revoke a consent; revoking twice is harmless.

        An admin key revokes anything, a clinician key what its owner issued. A bot key sends
        ``{"on_behalf_of": "platform:user_id"}``: the clinician who asked in chat, accepted when they issued
        the consent or are named in its clinicians (the answer then carries no ``patient_ref``).
        """
        parsed = _parse(token)
        on_behalf_of = None if body is None else UserRef.parse(body.on_behalf_of)
        try:
            record = registry.revoke(parsed, by=who, on_behalf_of=on_behalf_of)
        except UnknownConsentError as unknown:
            raise HTTPException(404, "no consent has this token") from unknown
        except NotAllowedError as refused:
            raise HTTPException(403, str(refused)) from refused
        logger.info("consent revoked by key=%s", who.key_id)
        return consent_body(who, record)

    @app.get("/v1/revocations", tags=["consents"], responses=_AUTH_ERRORS, dependencies=[feed])
    def revocations(query: Annotated[RevocationsQuery, Query()]) -> RevocationsOut:
        """Revocations at or after ``since``, oldest first; page by passing the last ``revoked_at`` back."""
        since = None if query.since is None else _parse_since(query.since)
        found = registry.revocations(since, query.limit)
        return RevocationsOut(
            revocations=[
                RevocationOut(token_fingerprint=r.token_fingerprint, revoked_at=r.revoked_at) for r in found
            ]
        )

    capture = open_flow(
        engine,
        registry,
        database_url=database_url,
        key_file=capture_key_file,
        clock=clock,
        link_validity=capture_link_validity,
        monotonic=monotonic,
    )
    app.include_router(
        capture_router(
            capture,
            bot=role(Role.BOT),
            public_url=public_url,
            withdrawals_per_minute=withdrawals_per_minute,
            monotonic=monotonic,
        )
    )
    return app


def _parse(token: str) -> ConsentToken:
    try:
        return parse_token(token)
    except InvalidTokenError as invalid:
        raise _invalid(
            ("path", "token"), str(invalid), kind=f"consent_token.{invalid.problem.value}"
        ) from invalid


def _parse_since(text: str) -> datetime:
    # Strict RFC 3339: pydantic would also take "0.5" as a Unix time, and a naive time is ambiguous.
    if not _RFC3339.fullmatch(text):
        raise _invalid(("query", "since"), "expected an RFC 3339 date-time with an offset")
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError as invalid:
        raise _invalid(("query", "since"), "expected an RFC 3339 date-time with an offset") from invalid


def _invalid(loc: tuple[str, ...], message: str, *, kind: str = "value_error") -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": message, "type": kind}])


def _use_request(body: UseIn) -> UseRequest:
    return UseRequest(
        chat=ChatRef(body.platform, str(body.chat_id)),
        message_id=str(body.message_id),
        image_sha256=body.image_sha256.lower(),
        poster=UserRef.parse(body.poster),
        purpose=body.purpose,
    )
