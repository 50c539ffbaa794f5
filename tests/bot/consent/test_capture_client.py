"""The capture-link client against answers the contract allows, and ones it does not (httpx.MockTransport)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from bot.consent.capture import CaptureLinkError, CaptureRateLimitedError, LinkStatus, WithdrawOutcome
from bot.consent.capture_client import HttpxCaptureLinks
from bot.consent.model import ChatRef, UserRef
from bot.consent.token import new_token

CLINICIAN, CHAT = UserRef("telegram", "123456"), ChatRef("telegram", "-1001234567")


def client(handler: Callable[[httpx.Request], httpx.Response]) -> HttpxCaptureLinks:
    return HttpxCaptureLinks("http://registry.test", "cgk_bot_x", transport=httpx.MockTransport(handler))


async def test_create_sends_the_contracts_body_and_reads_the_link() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"link_id": "L1", "url": "https://r/consent/s3cret", "expires_at": "2026-01-01T10:15:00Z"}
        return httpx.Response(201, json=body)

    async with client(handler) as links:
        link = await links.create(clinician=CLINICIAN, chat=CHAT, language="fr", chat_title="Dermato\navis")
    assert link.link_id == "L1"
    assert "s3cret" not in repr(link)
    (request,) = seen
    assert (request.method, request.url.path) == ("POST", "/v1/capture-links")
    assert request.headers["authorization"] == "Bearer cgk_bot_x"
    assert json.loads(request.content) == {
        "clinician": "telegram:123456",
        "chat": "telegram:-1001234567",
        "language": "fr",
        "chat_title": "Dermato avis",
    }


async def test_429_carries_retry_after() -> None:
    async with client(lambda r: httpx.Response(429, headers={"Retry-After": "30"}, json={})) as links:
        with pytest.raises(CaptureRateLimitedError) as caught:
            await links.create(clinician=CLINICIAN, chat=CHAT, language="en", chat_title=None)
    assert caught.value.retry_after == 30


async def test_status_gives_the_token_once_signed_and_404_reads_as_expired() -> None:
    token = new_token()
    answers = iter(
        [
            httpx.Response(200, json={"status": "signed", "token": token.value}),
            httpx.Response(200, json={"status": "collected", "token": None}),
            httpx.Response(404, json={"detail": "no such link"}),
        ]
    )
    async with client(lambda r: next(answers)) as links:
        signed = await links.status("L1")
        assert (signed.status, signed.token) == (LinkStatus.SIGNED, token)
        assert (await links.status("L1")).status is LinkStatus.COLLECTED
        assert (await links.status("L1")).status is LinkStatus.EXPIRED


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"status": "signed", "token": "CG-NOT-A-TOKEN"}),
        httpx.Response(200, json={"status": "maybe"}),
        httpx.Response(200, content=b"<html>"),
        httpx.Response(503, json={}),
        httpx.Response(401, json={}),
    ],
)
async def test_answers_outside_the_contract_are_errors(response: httpx.Response) -> None:
    async with client(lambda r: response) as links:
        with pytest.raises(CaptureLinkError):
            await links.status("L1")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, WithdrawOutcome.REVOKED), (403, WithdrawOutcome.NOT_YOURS), (404, WithdrawOutcome.UNKNOWN)],
)
async def test_withdraw_on_behalf_of_the_clinician(status: int, outcome: WithdrawOutcome) -> None:
    token = new_token()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={})

    async with client(handler) as links:
        assert await links.withdraw(token, on_behalf_of=CLINICIAN) is outcome
    assert seen[0].url.path == f"/v1/consents/{token.compact}/revoke"
    assert json.loads(seen[0].content) == {"on_behalf_of": "telegram:123456"}


async def test_an_unreachable_registry_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    async with client(handler) as links:
        with pytest.raises(CaptureLinkError, match="unreachable"):
            await links.status("L1")
