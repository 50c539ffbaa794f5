"""HttpxCaptureLinks: the CaptureLinks port (bot.consent.capture) over the registry's API, with httpx.

Same base URL and bot key as the lookup client. ``POST /v1/capture-links`` (201; 429 with ``Retry-After``
when the clinician asks too often), ``GET /v1/capture-links/{id}`` and ``POST /v1/consents/{token}/revoke``
with ``{"on_behalf_of": "platform:user"}`` (403: not this clinician's consent; 404: unknown). One shared
``httpx.AsyncClient`` with explicit timeouts and no proxy from the environment; nothing is retried here (the
front end asks again at its next poll, or the clinician asks again). Never logs a URL or a token.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, TypeVar

import httpx
from pydantic import AwareDatetime, BaseModel, ValidationError

from bot.consent.capture import (
    CaptureLink,
    CaptureLinkError,
    CaptureRateLimitedError,
    LinkState,
    LinkStatus,
    WithdrawOutcome,
)
from bot.consent.httpx_lookup import retry_after
from bot.consent.model import ChatRef, UserRef
from bot.consent.token import ConsentToken, parse_token
from bot.errors import InvalidTokenError

log = logging.getLogger(__name__)
_Body = TypeVar("_Body", bound=BaseModel)


class _LinkBody(BaseModel):
    link_id: str
    url: str
    expires_at: AwareDatetime


class _StatusBody(BaseModel):
    status: Literal["pending", "signed", "expired", "collected"]
    token: str | None = None


class HttpxCaptureLinks:
    """CaptureLinks over HTTP with httpx."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": "consentguard"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
            transport=transport,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"HttpxCaptureLinks({str(self._client.base_url)!r})"

    async def __aenter__(self) -> HttpxCaptureLinks:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the shared client."""
        await self._client.aclose()

    async def create(
        self, *, clinician: UserRef, chat: ChatRef, language: str, chat_title: str | None
    ) -> CaptureLink:
        """``POST /v1/capture-links``; raises CaptureRateLimitedError on 429."""
        body: dict[str, Any] = {"clinician": str(clinician), "chat": str(chat), "language": language}
        title = " ".join((chat_title or "").split())[:128]
        if title:
            body["chat_title"] = title
        response = await self._send("POST", "/v1/capture-links", json=body)
        if response.status_code == 429:
            raise CaptureRateLimitedError("too many capture links", retry_after(response))
        if response.status_code != 201:
            raise CaptureLinkError(f"opening a capture link answered HTTP {response.status_code}")
        link = _parse(response, _LinkBody)
        return CaptureLink(link.link_id, link.url, link.expires_at)

    async def status(self, link_id: str) -> LinkState:
        """``GET /v1/capture-links/{id}``; a 404 reads as an expired link (nothing more will come)."""
        response = await self._send("GET", f"/v1/capture-links/{link_id}")
        if response.status_code == 404:
            return LinkState(LinkStatus.EXPIRED)
        if response.status_code != 200:
            raise CaptureLinkError(f"a capture link's status answered HTTP {response.status_code}")
        body = _parse(response, _StatusBody)
        token = None
        if body.token is not None:
            try:
                token = parse_token(body.token)
            except InvalidTokenError as exc:
                raise CaptureLinkError("the registry sent a malformed token") from exc
        return LinkState(LinkStatus(body.status), token)

    async def withdraw(self, token: ConsentToken, *, on_behalf_of: UserRef) -> WithdrawOutcome:
        """``POST /v1/consents/{token}/revoke`` on behalf of the clinician."""
        response = await self._send(
            "POST", f"/v1/consents/{token.compact}/revoke", json={"on_behalf_of": str(on_behalf_of)}
        )
        if response.status_code == 200:
            return WithdrawOutcome.REVOKED
        if response.status_code == 403:
            return WithdrawOutcome.NOT_YOURS
        if response.status_code == 404:
            return WithdrawOutcome.UNKNOWN
        if response.status_code == 429:
            raise CaptureRateLimitedError("withdrawal rate-limited", retry_after(response))
        raise CaptureLinkError(f"a withdrawal answered HTTP {response.status_code}")

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise CaptureLinkError("consent registry timed out") from exc
        except httpx.TransportError as exc:
            raise CaptureLinkError(f"consent registry unreachable: {type(exc).__name__}") from exc
        if response.status_code == 401:
            raise CaptureLinkError("consent registry refused our key (HTTP 401)")
        if response.status_code >= 500:
            raise CaptureLinkError(f"consent registry failed with HTTP {response.status_code}")
        return response


def _parse(response: httpx.Response, model: type[_Body]) -> _Body:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise CaptureLinkError(
            f"consent registry answer does not match the contract ({model.__name__})"
        ) from exc
