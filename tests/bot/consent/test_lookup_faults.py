"""The client against misbehaving servers over real HTTP on 127.0.0.1: every fault ends in a typed error."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.consent.httpx_lookup import HttpxConsentLookup, RetryPolicy
from bot.consent.model import ConsentStatus
from bot.consent.token import new_token
from bot.errors import (
    ConsentApiProtocolError,
    ConsentApiRateLimitedError,
    ConsentApiUnavailableError,
    ConsentLookupError,
)
from tests.fakes.asgi_server import closed_port, serve

Send = Callable[[dict[str, Any]], Awaitable[None]]
FAST = RetryPolicy(attempts=3, backoff_s=0.01, max_retry_after_s=1.0)
GRANTED = {
    "status": "granted",
    "purposes": ["advice"],
    "groups": ["telegram:-1001"],
    "clinicians": ["telegram:42"],
    "valid_until": None,
    "max_images": None,
    "images_used": 0,
    "patient_ref": "P-1",
}


class ScriptedApp:
    """A raw ASGI app that answers each request with the next scripted response and counts calls."""

    def __init__(self, *responses: tuple[int, dict[str, str], bytes] | float) -> None:
        self.responses = list(responses)
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.calls += 1
        step = self.responses[min(self.calls, len(self.responses)) - 1]
        if isinstance(step, float):
            await asyncio.sleep(step)  # slower than the client's timeout
            step = (200, {}, json.dumps(GRANTED).encode())
        status, headers, body = step
        raw_headers = [(b"content-type", b"application/json")] + [
            (k.encode(), v.encode()) for k, v in headers.items()
        ]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})


def ok(body: dict[str, Any] = GRANTED) -> tuple[int, dict[str, str], bytes]:
    return (200, {}, json.dumps(body).encode())


async def test_registry_down_is_unavailable() -> None:
    async with HttpxConsentLookup(f"http://127.0.0.1:{closed_port()}", "k", retry=FAST) as client:
        with pytest.raises(ConsentApiUnavailableError):
            await client.lookup(new_token())


async def test_slow_registry_times_out() -> None:
    app = ScriptedApp(1.0)
    async with serve(app) as url, HttpxConsentLookup(url, "k", timeout_s=0.2, retry=FAST) as client:
        with pytest.raises(ConsentApiUnavailableError, match="timed out"):
            await client.lookup(new_token())
    assert app.calls == 3


async def test_server_errors_are_retried_then_succeed() -> None:
    app = ScriptedApp((500, {}, b"boom"), (503, {}, b""), ok())
    async with serve(app) as url, HttpxConsentLookup(url, "k", retry=FAST) as client:
        record = await client.lookup(new_token())
    assert record.status is ConsentStatus.GRANTED
    assert record.patient_ref == ""  # a registry that sends one anyway: the bot does not keep it
    assert app.calls == 3


async def test_persistent_server_errors_are_unavailable() -> None:
    app = ScriptedApp((500, {}, b"boom"))
    async with serve(app) as url, HttpxConsentLookup(url, "k", retry=FAST) as client:
        with pytest.raises(ConsentApiUnavailableError, match="500"):
            await client.lookup(new_token())
    assert app.calls == 3


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        json.dumps({"status": "maybe"}).encode(),
        json.dumps({**GRANTED, "groups": ["x"]}).encode(),
        # A time without its zone cannot be compared with ours (it reached the scope check as a TypeError).
        json.dumps({**GRANTED, "valid_until": "2031-01-01T00:00:00"}).encode(),
    ],
    ids=["malformed-json", "not-an-object", "unknown-status", "bad-group-reference", "naive-valid-until"],
)
async def test_answers_outside_the_contract_are_protocol_errors(body: bytes) -> None:
    app = ScriptedApp((200, {}, body))
    async with serve(app) as url, HttpxConsentLookup(url, "k", retry=FAST) as client:
        with pytest.raises(ConsentApiProtocolError):
            await client.lookup(new_token())


async def test_rate_limit_is_honoured_then_retried() -> None:
    app = ScriptedApp((429, {"Retry-After": "0.05"}, b"{}"), ok())
    async with serve(app) as url, HttpxConsentLookup(url, "k", retry=FAST) as client:
        assert (await client.lookup(new_token())).status is ConsentStatus.GRANTED
    assert app.calls == 2


async def test_long_rate_limit_gives_up_at_once() -> None:
    app = ScriptedApp((429, {"Retry-After": "3600"}, b"{}"))
    async with serve(app) as url, HttpxConsentLookup(url, "k", retry=FAST) as client:
        with pytest.raises(ConsentApiRateLimitedError) as raised:
            await client.lookup(new_token())
    assert raised.value.retry_after == 3600
    assert app.calls == 1


async def test_a_refused_key_is_not_retried() -> None:
    app = ScriptedApp((401, {}, b"{}"))
    async with serve(app) as url, HttpxConsentLookup(url, "wrong", retry=FAST) as client:
        with pytest.raises(ConsentApiProtocolError, match="401"):
            await client.lookup(new_token())
    assert app.calls == 1


async def test_granted_answers_are_cached_refusals_are_not() -> None:
    now = [0.0]
    app = ScriptedApp(ok(), ok({**GRANTED, "status": "revoked"}), ok({**GRANTED, "status": "revoked"}))
    token = new_token()
    async with (
        serve(app) as url,
        HttpxConsentLookup(url, "k", retry=FAST, cache_ttl_s=30, clock=lambda: now[0]) as c,
    ):
        assert (await c.lookup(token)).status is ConsentStatus.GRANTED
        assert (await c.lookup(token)).status is ConsentStatus.GRANTED  # from cache
        assert app.calls == 1
        now[0] = 31.0
        assert (await c.lookup(token)).status is ConsentStatus.REVOKED
        assert (await c.lookup(token)).status is ConsentStatus.REVOKED  # not cached
    assert app.calls == 3


async def test_every_error_is_a_consent_lookup_error() -> None:
    for error in (ConsentApiUnavailableError, ConsentApiProtocolError, ConsentApiRateLimitedError):
        assert issubclass(error, ConsentLookupError)


def test_repr_does_not_show_the_key() -> None:
    client = HttpxConsentLookup("http://127.0.0.1:1", "cgk_bot_secret")
    assert "secret" not in repr(client)
    asyncio.run(client.aclose())
