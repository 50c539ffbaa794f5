"""Withdrawal from chat (the bot revokes on behalf of a clinician) and what a bot key may read."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.consent.model import ChatRef, Purpose, UserRef
from bot.consent.token import new_token
from bot.registry.db import create_registry_engine, create_session_factory
from bot.registry.migrations import upgrade
from bot.registry.service import ConsentRegistry
from tests.fakes.clock import MovableClock
from tests.registry.conftest import Keys, registry_app, serve

#: Run on SQLite and on PostgreSQL (tests/registry/conftest.py).
pytestmark = pytest.mark.postgresql

SHA = "d" * 64


async def issue(client: httpx.AsyncClient, keys: Keys, role: str, **overrides: Any) -> str:
    body = {
        "patient_ref": "PAT-WITHDRAW",
        "groups": ["telegram:-100123"],
        "clinicians": ["telegram:42", "telegram:43"],
        "purposes": ["advice"],
        "days": 30,
    } | overrides
    response = await client.post("/v1/consents", json=body, headers=keys.header(role))
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


async def withdraw(client: httpx.AsyncClient, keys: Keys, token: str, body: Any, role: str = "bot") -> Any:
    return await client.post(f"/v1/consents/{token}/revoke", json=body, headers=keys.header(role))


async def status(client: httpx.AsyncClient, keys: Keys, token: str) -> str:
    return str((await client.get(f"/v1/consents/{token}", headers=keys.header("bot"))).json()["status"])


@pytest.mark.parametrize("clinician", ["telegram:42", "telegram:43", "Telegram:43"])
async def test_the_bot_revokes_for_a_clinician_the_consent_names(
    client: httpx.AsyncClient, keys: Keys, clinician: str
) -> None:
    token = await issue(client, keys, "clinician")
    response = await withdraw(client, keys, token, {"on_behalf_of": clinician})
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert "patient_ref" not in response.json()
    assert await status(client, keys, token) == "revoked"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (None, 403),  # a bot key says for whom it acts
        ({"on_behalf_of": "telegram:44"}, 403),  # not named, not the issuer
        ({"on_behalf_of": "discord:42"}, 403),  # the same id on another platform is someone else
        ({"on_behalf_of": "telegram:*"}, 422),  # one person, never a wildcard
        ({"on_behalf_of": "42"}, 422),
        ({"on_behalf_of": "telegram:42", "reason": "x"}, 422),
    ],
)
async def test_the_bot_may_not_revoke_otherwise(
    client: httpx.AsyncClient, keys: Keys, body: Any, code: int
) -> None:
    token = await issue(client, keys, "clinician")
    response = await withdraw(client, keys, token, body)
    assert response.status_code == code
    assert await status(client, keys, token) == "granted"


async def test_a_wildcard_does_not_name_whoever_asks(client: httpx.AsyncClient, keys: Keys) -> None:
    token = await issue(client, keys, "admin", clinicians=["telegram:*"])
    refused = await withdraw(client, keys, token, {"on_behalf_of": "telegram:42"})
    assert refused.status_code == 403
    assert "neither issued this consent nor is named in it" in refused.json()["detail"]


async def test_an_unknown_token_is_404(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await withdraw(client, keys, new_token().value, {"on_behalf_of": "telegram:42"})
    assert response.status_code == 404


async def test_only_the_bot_key_acts_on_behalf_of_someone(client: httpx.AsyncClient, keys: Keys) -> None:
    token = await issue(client, keys, "clinician")
    for role in ("clinician", "admin"):
        response = await withdraw(client, keys, token, {"on_behalf_of": "telegram:42"}, role=role)
        assert response.status_code == 403
    assert await status(client, keys, token) == "granted"


async def test_the_bot_revokes_what_it_issued_for_the_clinician(
    db_url: str, keys: Keys, clock: MovableClock
) -> None:
    engine = create_registry_engine(db_url)
    try:
        upgrade(engine)
        captured = ConsentRegistry(create_session_factory(engine), clock).issue_on_behalf_of(
            UserRef("telegram", "123"),
            patient_ref="PAT-CAPTURED",
            groups=[ChatRef("telegram", "-100123")],
            clinicians=[UserRef("telegram", "42")],  # the capturing clinician need not be named
            purposes={Purpose.ADVICE},
            days=30,
            max_images=None,
        )
    finally:
        engine.dispose()
    token = captured.token.value
    async with serve(registry_app(db_url, clock=clock)) as client:
        assert (await withdraw(client, keys, token, {"on_behalf_of": "telegram:124"})).status_code == 403
        response = await withdraw(client, keys, token, {"on_behalf_of": "telegram:123"})
        assert response.status_code == 200
        assert response.json()["status"] == "revoked"


async def test_a_bot_key_never_reads_the_patient_reference(client: httpx.AsyncClient, keys: Keys) -> None:
    token = await issue(client, keys, "clinician")
    use = {
        "platform": "telegram",
        "chat_id": "-100123",
        "message_id": "1",
        "image_sha256": SHA,
        "poster": "telegram:42",
        "purpose": "advice",
    }
    answers = [
        await client.get(f"/v1/consents/{token}", headers=keys.header("bot")),
        await client.post(f"/v1/consents/{token}/uses", json=use, headers=keys.header("bot")),
        await withdraw(client, keys, token, {"on_behalf_of": "telegram:42"}),
    ]
    assert [answer.status_code for answer in answers] == [200, 201, 200]
    for answer in answers:
        assert "PAT-WITHDRAW" not in answer.text
        assert "patient_ref" not in answer.json()
    # Admins and the issuing clinician still see it.
    as_admin = await client.get(f"/v1/consents/{token}", headers=keys.header("admin"))
    assert as_admin.json()["patient_ref"] == "PAT-WITHDRAW"
    by_issuer = await withdraw(client, keys, token, None, role="clinician")
    assert by_issuer.json()["patient_ref"] == "PAT-WITHDRAW"


async def test_the_openapi_document_shows_both_answers(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert "patient_ref" not in schemas["ConsentView"]["properties"]
    assert "patient_ref" in schemas["ConsentOut"]["required"]
    assert schemas["RevokeIn"]["required"] == ["on_behalf_of"]
