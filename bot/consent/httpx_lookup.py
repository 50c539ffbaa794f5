"""HttpxConsentLookup: the ConsentLookup port (bot.consent.port) over the consent API, with httpx.

One shared ``httpx.AsyncClient`` with explicit timeouts; retries with exponential backoff on timeouts,
connection errors, 5xx and 429 (honouring ``Retry-After``); a short cache for *granted* answers only, so a
revocation or a refusal is never served from memory. When the API cannot answer, a typed
:class:`ConsentLookupError` is raised: the pipeline then quarantines (fails closed), it never allows.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import AwareDatetime, BaseModel, ValidationError

from bot.consent.model import (
    ChatRef,
    ConsentRecord,
    ConsentStatus,
    ConsentUse,
    Purpose,
    Revocation,
    ScopeProblem,
    UserRef,
)
from bot.consent.token import ConsentToken
from bot.errors import (
    ConsentApiProtocolError,
    ConsentApiRateLimitedError,
    ConsentApiUnavailableError,
    ConsentLookupError,
    ConsentUseRefusedError,
)

log = logging.getLogger(__name__)
_Body = TypeVar("_Body", bound=BaseModel)


class _RecordBody(BaseModel):
    """The lookup answer as the bot reads it: the scope only.

    The reference registry sends no ``patient_ref`` to a bot key, and the bot would have no use for one: any
    field beyond these (another registry's ``patient_ref`` included) is ignored, never kept or logged.
    """

    status: ConsentStatus
    purposes: list[Purpose] = []
    groups: list[str] = []
    clinicians: list[str] = []
    valid_until: AwareDatetime | None = None  # a naive time is ambiguous: a protocol error
    max_images: int | None = None
    images_used: int = 0

    def to_record(self) -> ConsentRecord:
        return ConsentRecord(
            status=self.status,
            purposes=frozenset(self.purposes),
            groups=tuple(ChatRef.parse(g) for g in self.groups),
            clinicians=tuple(UserRef.parse(c) for c in self.clinicians),
            valid_until=self.valid_until,
            max_images=self.max_images,
            images_used=self.images_used,
        )


class _RevocationBody(BaseModel):
    token_fingerprint: str
    revoked_at: AwareDatetime


class _RevocationsBody(BaseModel):
    revocations: list[_RevocationBody]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try before giving up (and failing closed)."""

    attempts: int = 3
    backoff_s: float = 0.2
    max_retry_after_s: float = 5.0


class HttpxConsentLookup:
    """ConsentLookup over HTTP with httpx."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout_s: float = 3.0,
        retry: RetryPolicy | None = None,
        cache_ttl_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        headers = {"User-Agent": "consentguard"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
            transport=transport,
            # Never send consent lookups through a proxy picked up from the environment.
            trust_env=False,
        )
        self._retry = retry or RetryPolicy()
        self._cache_ttl_s = cache_ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, ConsentRecord]] = {}

    def __repr__(self) -> str:
        return f"HttpxConsentLookup({str(self._client.base_url)!r})"

    async def __aenter__(self) -> HttpxConsentLookup:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared client."""
        await self._client.aclose()

    async def lookup(self, token: ConsentToken) -> ConsentRecord:
        """Fetch the record; granted answers are cached for a short while, refusals never."""
        cached = self._cache.get(token.compact)
        if cached is not None and self._clock() - cached[0] < self._cache_ttl_s:
            return cached[1]
        response = await self._send("GET", f"/v1/consents/{token.compact}")
        if response.status_code != 200:
            raise ConsentApiProtocolError(f"consent lookup answered HTTP {response.status_code}")
        try:
            record = self._parse(response, _RecordBody).to_record()
        except ValueError as exc:  # a group or clinician reference that does not parse
            raise ConsentApiProtocolError("consent API answer has a malformed reference") from exc
        if record.status is ConsentStatus.GRANTED:
            self._cache[token.compact] = (self._clock(), record)
        else:
            self._cache.pop(token.compact, None)
        return record

    async def record_use(self, token: ConsentToken, use: ConsentUse) -> None:
        """Record the use; the cached record is dropped since its count changed."""
        self._cache.pop(token.compact, None)
        body = {
            "platform": use.chat.platform,
            "chat_id": use.chat.chat_id,
            "message_id": use.message_id,
            "image_sha256": use.image_sha256,
            "poster": str(use.poster),
            "purpose": use.purpose.value,
        }
        response = await self._send("POST", f"/v1/consents/{token.compact}/uses", json=body)
        if response.status_code in (200, 201):
            return
        if response.status_code == 409:
            try:
                problem = ScopeProblem(str(self._json(response).get("problem")))
            except ValueError as exc:
                raise ConsentApiProtocolError("consent use refused without a known reason") from exc
            raise ConsentUseRefusedError(problem)
        raise ConsentApiProtocolError(f"recording a consent use answered HTTP {response.status_code}")

    async def revoke_on_behalf_of(self, token: ConsentToken, clinician: UserRef) -> ConsentStatus | None:
        """Withdraw a consent for ``clinician``, who asked in chat; the registry decides whether they may.

        Returns ``REVOKED`` when the consent is now revoked (or was already), ``UNKNOWN`` when no consent
        has the token, and None when the registry refuses (``clinician`` neither issued the consent nor is
        named in it). Raises :class:`ConsentLookupError` when the API cannot answer.
        """
        self._cache.pop(token.compact, None)
        response = await self._send(
            "POST",
            f"/v1/consents/{token.compact}/revoke",
            json={"on_behalf_of": str(clinician)},
            answers=(403, 404),
        )
        if response.status_code == 403:
            return None
        if response.status_code == 404:
            return ConsentStatus.UNKNOWN
        if response.status_code != 200:
            raise ConsentApiProtocolError(f"revoking a consent answered HTTP {response.status_code}")
        return self._parse(response, _RecordBody).status

    async def revocations_since(self, since: datetime) -> list[Revocation]:
        """Revocations the registry recorded since ``since``."""
        response = await self._send("GET", "/v1/revocations", params={"since": since.isoformat()})
        if response.status_code != 200:
            raise ConsentApiProtocolError(f"revocations answered HTTP {response.status_code}")
        body = self._parse(response, _RevocationsBody)
        return [Revocation(r.token_fingerprint, r.revoked_at) for r in body.revocations]

    # -- transport ----------------------------------------------------------------------------------

    async def _send(
        self, method: str, path: str, *, answers: Collection[int] = (), **kwargs: Any
    ) -> httpx.Response:
        """Send with retries; a status in ``answers`` is returned as it is, not treated as a failure."""
        last_error: ConsentLookupError | None = None
        for attempt in range(1, self._retry.attempts + 1):
            try:
                response = await self._client.request(method, path, **kwargs)
            except httpx.TimeoutException:
                last_error = ConsentApiUnavailableError("consent API timed out")
            except httpx.TransportError as exc:
                last_error = ConsentApiUnavailableError(f"consent API unreachable: {type(exc).__name__}")
            else:
                if response.status_code in answers:
                    return response
                if response.status_code == 429:
                    wait = retry_after(response)
                    last_error = ConsentApiRateLimitedError("consent API rate limit", wait)
                    if attempt < self._retry.attempts and wait is not None:
                        if wait > self._retry.max_retry_after_s:
                            break  # waiting that long would hold the post; quarantine instead
                        await asyncio.sleep(wait)
                        continue
                elif response.status_code >= 500:
                    last_error = ConsentApiUnavailableError(
                        f"consent API failed with HTTP {response.status_code}"
                    )
                elif response.status_code in (401, 403):
                    raise ConsentApiProtocolError(
                        f"consent API refused our key (HTTP {response.status_code})"
                    )
                else:
                    return response
            log.warning("consent API attempt %d/%d failed: %s", attempt, self._retry.attempts, last_error)
            if attempt < self._retry.attempts:
                await asyncio.sleep(self._retry.backoff_s * 2 ** (attempt - 1) * (0.5 + random.random()))  # noqa: S311
        assert last_error is not None  # noqa: S101 - the loop always sets it before breaking out
        raise last_error

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise ConsentApiProtocolError("consent API sent malformed JSON") from exc
        if not isinstance(body, dict):
            raise ConsentApiProtocolError("consent API sent JSON that is not an object")
        return body

    def _parse(self, response: httpx.Response, model: type[_Body]) -> _Body:
        try:
            return model.model_validate(self._json(response))
        except ValidationError as exc:
            raise ConsentApiProtocolError(
                f"consent API answer does not match the contract ({model.__name__})"
            ) from exc


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (never negative), or None when absent or not a number."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
