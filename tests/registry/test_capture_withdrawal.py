"""Withdrawing a captured consent: by the receipt's code (no account), by the clinician, by operators."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.consent.token import parse_token
from bot.registry.capture.codes import CodeProblem, new_code, parse_code
from bot.registry.commands import revoke_consent
from bot.registry.service import token_fingerprint
from tests.fakes.clock import MovableClock
from tests.registry.capture_helpers import CLINICIAN, link, sign, status, withdrawal_code
from tests.registry.conftest import Keys, registry_app, serve
from tests.registry.test_capture import Ticks


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def client(db_url: str, keys: Keys, clock: MovableClock, ticks: Ticks) -> Any:
    async with serve(registry_app(db_url, lookups_per_minute=1000, clock=clock, monotonic=ticks)) as http:
        yield http


async def signed_consent(client: httpx.AsyncClient, keys: Keys) -> tuple[str, str]:
    """A consent signed through the form: its token (collected as the bot does) and its withdrawal code."""
    created = await link(client, keys)
    signed = await sign(client, created)
    code = withdrawal_code((await client.get(signed.headers["location"])).text)
    token = (await status(client, keys, created["link_id"])).json()["token"]
    return token, code


async def consent_status(client: httpx.AsyncClient, keys: Keys, token: str) -> str:
    response = await client.get(f"/v1/consents/{token}", headers=keys.header("bot"))
    return str(response.json()["status"])


async def test_the_code_withdraws_without_an_account(
    client: httpx.AsyncClient, keys: Keys, clock: MovableClock
) -> None:
    token, code = await signed_consent(client, keys)
    clock.advance(days=3)
    page = await client.get("/withdraw")
    assert page.status_code == 200
    assert "Retirer un consentement" in page.text
    done = await client.post("/withdraw", data={"code": code})
    assert done.status_code == 200
    assert "Consentement retiré" in done.text
    assert "1 mars 2025" in done.text
    assert "Dermato CHU" in done.text
    assert "déjà été retiré" not in done.text
    assert await consent_status(client, keys, token) == "revoked"
    feed = (await client.get("/v1/revocations", headers=keys.header("bot"))).json()["revocations"]
    assert feed == [
        {"token_fingerprint": token_fingerprint(parse_token(token)), "revoked_at": "2025-03-04T12:00:00Z"}
    ]
    # A second withdrawal says so, and the first time stays.
    clock.advance(days=1)
    again = await client.post("/withdraw", data={"code": code.lower().replace("-", " "), "lang": "en"})
    assert again.status_code == 200
    assert "had already been withdrawn" in again.text
    feed = (await client.get("/v1/revocations", headers=keys.header("bot"))).json()["revocations"]
    assert [r["revoked_at"] for r in feed] == ["2025-03-04T12:00:00Z"]


async def test_a_withdrawn_consent_covers_no_more_images(client: httpx.AsyncClient, keys: Keys) -> None:
    token, code = await signed_consent(client, keys)
    await client.post("/withdraw", data={"code": code})
    use = {
        "platform": "telegram",
        "chat_id": "-1001234567",
        "message_id": "9",
        "image_sha256": "a" * 64,
        "poster": CLINICIAN,
        "purpose": "advice",
    }
    refused = await client.post(f"/v1/consents/{token}/uses", json=use, headers=keys.header("bot"))
    assert refused.status_code == 409
    assert refused.json() == {"problem": "revoked"}


async def test_wrong_and_mistyped_codes_are_refused(client: httpx.AsyncClient, keys: Keys) -> None:
    token, code = await signed_consent(client, keys)
    unknown = await client.post("/withdraw", data={"code": new_code()})
    assert unknown.status_code == 404
    assert "ne correspond à aucun consentement" in unknown.text
    typo = code[:-1] + ("0" if code[-1] != "0" else "1")
    mistyped = await client.post("/withdraw", data={"code": typo, "lang": "en"})
    assert mistyped.status_code == 422
    assert "mistyped" in mistyped.text
    assert (await client.post("/withdraw", data={})).status_code == 422
    assert await consent_status(client, keys, token) == "granted"


async def test_guessing_is_rate_limited_per_address(
    client: httpx.AsyncClient, keys: Keys, ticks: Ticks
) -> None:
    token, code = await signed_consent(client, keys)
    for _ in range(5):
        assert (await client.post("/withdraw", data={"code": new_code()})).status_code == 404
    limited = await client.post("/withdraw", data={"code": code})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert await consent_status(client, keys, token) == "granted"
    ticks.now += 12
    assert (await client.post("/withdraw", data={"code": code})).status_code == 200


async def test_the_withdrawal_page_speaks_the_browser_language(client: httpx.AsyncClient) -> None:
    assert '<html lang="fr">' in (await client.get("/withdraw")).text
    english = await client.get("/withdraw", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert '<html lang="en">' in english.text
    assert "Withdraw a consent" in english.text
    assert (
        '<html lang="fr">'
        in (await client.get("/withdraw", params={"lang": "fr"}, headers={"Accept-Language": "en"})).text
    )


async def test_the_clinician_withdraws_through_the_bot(client: httpx.AsyncClient, keys: Keys) -> None:
    """The consent was issued on the clinician's behalf: the bot may revoke it for them, for nobody else."""
    token, _code = await signed_consent(client, keys)
    stranger = await client.post(
        f"/v1/consents/{token}/revoke", json={"on_behalf_of": "telegram:999"}, headers=keys.header("bot")
    )
    assert stranger.status_code == 403
    revoked = await client.post(
        f"/v1/consents/{token}/revoke", json={"on_behalf_of": CLINICIAN}, headers=keys.header("bot")
    )
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"


async def test_operators_withdraw_with_an_admin_key_or_the_cli(
    client: httpx.AsyncClient, keys: Keys, db_url: str
) -> None:
    first, _ = await signed_consent(client, keys)
    second, _ = await signed_consent(client, keys)
    assert (
        await client.post(f"/v1/consents/{first}/revoke", headers=keys.header("admin"))
    ).status_code == 200
    assert revoke_consent(db_url, second) is True
    assert await consent_status(client, keys, first) == "revoked"
    assert await consent_status(client, keys, second) == "revoked"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abcd-efgh-jkm", CodeProblem.WRONG_LENGTH),
        ("ABCD-EFGH-JKM!", CodeProblem.BAD_CHARACTER),
        ("ABCD-EFGH-JKMU", CodeProblem.BAD_CHARACTER),
    ],
)
def test_code_grammar(text: str, expected: CodeProblem) -> None:
    assert parse_code(text) == expected


def test_codes_read_back_as_people_type_them() -> None:
    code = new_code()
    assert parse_code(code) == code
    assert parse_code(code.lower().replace("-", "")) == code
    assert parse_code(" ".join(code.replace("0", "o").replace("1", "l").split("-"))) == code
    wrong = {
        parse_code(code[:i] + other + code[i + 1 :])
        for i in range(0, 14, 5)
        for other in "0123"
        if other != code[i]
    }
    assert wrong == {CodeProblem.BAD_CHECK}
