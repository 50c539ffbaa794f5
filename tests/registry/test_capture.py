"""Consent capture over HTTP: the bot's link API, the form's checks, the signed record, the receipt."""

from __future__ import annotations

import base64
import logging
import re
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.consent.token import parse_token
from bot.registry.commands import new_key
from bot.registry.db import SignedConsentRow, create_registry_engine
from bot.registry.service import IssuingRules, token_fingerprint
from tests.fakes.clock import MovableClock
from tests.fakes.database import stored_bytes
from tests.registry.capture_helpers import (
    CHAT,
    CLINICIAN,
    PATIENT_NAME,
    csrf_of,
    drawn_signature,
    fields,
    form_path,
    link,
    new_link,
    sign,
    status,
    withdrawal_code,
)
from tests.registry.conftest import Keys, registry_app, serve


class Ticks:
    """The monotonic clock of the rate limits, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def client(db_url: str, keys: Keys, clock: MovableClock, ticks: Ticks) -> Any:
    async with serve(registry_app(db_url, lookups_per_minute=1000, clock=clock, monotonic=ticks)) as http:
        yield http


async def test_link_contract(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await new_link(client, keys)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"link_id", "url", "expires_at"}
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", body["link_id"])
    secret = body["url"].removeprefix("http://registry.test/consent/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", secret)  # 256 bits, url-safe
    assert body["expires_at"] == "2025-03-01T12:30:00Z"  # the injected clock + 30 minutes
    assert (await status(client, keys, body["link_id"])).json() == {"status": "pending", "token": None}


async def test_link_uses_the_public_url_and_validity(db_url: str, keys: Keys, clock: MovableClock) -> None:
    from datetime import timedelta

    app = registry_app(
        db_url,
        clock=clock,
        public_url="https://consent.example.org/",
        capture_link_validity=timedelta(minutes=5),
    )
    async with serve(app) as client:
        body = await link(client, keys)
    assert body["url"].startswith("https://consent.example.org/consent/")
    assert body["expires_at"] == "2025-03-01T12:05:00Z"


@pytest.mark.parametrize("role", ["admin", "clinician"])
async def test_only_a_bot_key_asks_for_links(client: httpx.AsyncClient, keys: Keys, role: str) -> None:
    assert (await new_link(client, keys, role=role)).status_code == 403
    created = await link(client, keys)
    assert (await status(client, keys, created["link_id"], role=role)).status_code == 403
    assert (await client.post("/v1/capture-links", json={})).status_code == 401


async def test_only_the_key_that_asked_sees_the_link(
    client: httpx.AsyncClient, keys: Keys, db_url: str
) -> None:
    created = await link(client, keys)
    other = {"Authorization": f"Bearer {new_key(db_url, 'bot', None)}"}
    assert (await client.get(f"/v1/capture-links/{created['link_id']}", headers=other)).status_code == 404
    assert (await status(client, keys, "no-such-link")).status_code == 404


@pytest.mark.parametrize(
    "overrides",
    [
        {"clinician": "telegram:*"},
        {"chat": "*"},
        {"chat": "telegram"},
        {"language": "de"},
        {"chat_title": "line\nbreak"},
        {"chat_title": "x" * 129},
    ],
)
async def test_malformed_link_requests_are_422(
    client: httpx.AsyncClient, keys: Keys, overrides: dict[str, Any]
) -> None:
    assert (await new_link(client, keys, **overrides)).status_code == 422


async def test_links_are_rate_limited_per_clinician(
    client: httpx.AsyncClient, keys: Keys, ticks: Ticks
) -> None:
    for _ in range(6):
        await link(client, keys)
    refused = await new_link(client, keys)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    await link(client, keys, clinician="telegram:777")  # another clinician is not held back
    ticks.now += 10
    await link(client, keys)


async def test_signed_form_issues_the_consent_and_the_token_comes_once(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    created = await link(client, keys)
    signed = await sign(client, created)
    assert signed.status_code == 303
    assert signed.headers["location"].startswith("/consent/receipt/")
    first = (await status(client, keys, created["link_id"])).json()
    assert first["status"] == "signed"
    token = parse_token(first["token"])
    assert (await status(client, keys, created["link_id"])).json() == {"status": "collected", "token": None}
    consent = (await client.get(f"/v1/consents/{token.value}", headers=keys.header("admin"))).json()
    assert consent["status"] == "granted"
    assert consent["groups"] == [CHAT]
    assert consent["clinicians"] == [CLINICIAN]
    assert consent["purposes"] == ["advice", "teaching"]
    assert consent["max_images"] == 5
    assert consent["valid_until"] == "2025-03-31T12:00:00Z"
    assert re.fullmatch(r"CAP-[0-9A-Z]{10}", consent["patient_ref"])  # opaque: never the name


async def test_a_link_is_used_once(client: httpx.AsyncClient, keys: Keys) -> None:
    created = await link(client, keys)
    page = await client.get(form_path(created))
    csrf = csrf_of(page.text)
    assert (await client.post(form_path(created), data=fields(csrf))).status_code == 303
    again = await client.post(form_path(created), data=fields(csrf))
    assert again.status_code == 410
    assert "déjà été signé" in again.text
    visit = await httpx.AsyncClient(transport=client._transport, base_url=client.base_url).get(
        form_path(created)
    )
    assert visit.status_code == 410
    assert "Lien déjà utilisé" in visit.text


async def test_expired_link(client: httpx.AsyncClient, keys: Keys, clock: MovableClock) -> None:
    created = await link(client, keys)
    page = await client.get(form_path(created))
    clock.advance(minutes=30)
    assert (await status(client, keys, created["link_id"])).json() == {"status": "expired", "token": None}
    visit = await client.get(form_path(created))
    assert visit.status_code == 410
    assert "expiré" in visit.text
    late = await client.post(form_path(created), data=fields(csrf_of(page.text)))
    assert late.status_code == 410
    assert (await status(client, keys, created["link_id"])).json()["status"] == "expired"


async def test_unknown_link(client: httpx.AsyncClient) -> None:
    response = await client.get("/consent/" + "A" * 43)
    assert response.status_code == 404
    assert "Lien inconnu" in response.text


async def test_a_forged_form_is_refused(client: httpx.AsyncClient, keys: Keys) -> None:
    created = await link(client, keys)
    other = await link(client, keys)
    other_csrf = csrf_of((await client.get(form_path(other))).text)
    for csrf in ("", "0" * 64, other_csrf):
        refused = await client.post(form_path(created), data=fields(csrf))
        assert refused.status_code == 403
        assert "rechargez la page" in refused.text
    assert (await status(client, keys, created["link_id"])).json()["status"] == "pending"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"agree": None}, "Cochez la case"),
        ({"agree": "on"}, "Cochez la case"),
        ({"typed_signature": "", "signature_png": ""}, "Signez dans le cadre"),
        ({"typed_signature": "", "signature_png": "data:image/png;base64,AAAA"}, "signature dessinée"),
        ({"purposes": None}, "au moins un usage"),
        ({"purposes": ["advice", "gossip"]}, "au moins un usage"),
        ({"days": "3650"}, "une durée dans la liste"),
        ({"max_images": "101"}, "entre 1 et 100"),
        ({"max_images": "0"}, "entre 1 et 100"),
        ({"patient_name": "  "}, "nom et le prénom du patient"),
        ({"signer": "guardian", "guardian_name": ""}, "représentant légal"),
    ],
)
async def test_an_incomplete_form_is_refused_and_the_link_stays_usable(
    client: httpx.AsyncClient, keys: Keys, overrides: dict[str, Any], message: str
) -> None:
    created = await link(client, keys)
    refused = await sign(client, created, **overrides)
    assert refused.status_code == 422
    assert message in refused.text
    assert (await status(client, keys, created["link_id"])).json()["status"] == "pending"
    assert (await sign(client, created)).status_code == 303


async def test_the_form_says_what_is_shared_in_french_and_english(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    created = await link(client, keys, clinician_name="Dr Martin")
    french = (await client.get(form_path(created))).text
    assert '<html lang="fr">' in french
    for text in (
        "Dermato CHU",
        "Dr Martin",
        "Avis",
        "Enseignement",
        "Publication",
        "90 jours",
        "groupe fermé",
    ):
        assert text in french
    assert "http://registry.test/withdraw" in french
    english = (await client.get(form_path(created), params={"lang": "en"})).text
    assert '<html lang="en">' in english
    for text in (
        "Consent to share photos",
        "Advice",
        "Teaching",
        "90 days",
        "closed group",
        "withdrawal code",
    ):
        assert text in english
    untitled = await link(client, keys, chat_title=None, language="en")
    assert CHAT in (await client.get(form_path(untitled))).text
    assert "Consent to share photos" in (await client.get(form_path(untitled))).text


async def test_pages_load_nothing_from_elsewhere(client: httpx.AsyncClient, keys: Keys) -> None:
    created = await link(client, keys)
    page = await client.get(form_path(created))
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert '<meta name="viewport"' in page.text
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?:", page.text)


async def test_names_signature_token_and_code_are_not_stored_in_clear(
    client: httpx.AsyncClient, keys: Keys, db_url: str, db_path: Path
) -> None:
    created = await link(client, keys)
    drawing = drawn_signature()
    signed = await sign(
        client,
        created,
        signer="guardian",
        guardian_name="Anselme Vortigern",
        typed_signature="",
        signature_png=drawing,
    )
    receipt = await client.get(signed.headers["location"])
    code = withdrawal_code(receipt.text)
    assert PATIENT_NAME in receipt.text
    assert "Anselme Vortigern" in receipt.text
    token = parse_token((await status(client, keys, created["link_id"])).json()["token"])
    stored = stored_bytes(db_url, db_path)
    assert token_fingerprint(token).encode() in stored  # the check reads the right files
    png = base64.b64decode(drawing.split(",", 1)[1])
    for secret in (PATIENT_NAME, "Anselme Vortigern", "Quarteron", token.compact, token.value, code):
        assert secret.encode() not in stored
        assert secret.encode("utf-16-le") not in stored
    assert png[16:64] not in stored
    if db_url.startswith("sqlite"):  # on a server database the operator names the key file
        key_file = db_path.parent / "registry-capture.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_the_receipt_shows_once_to_the_signing_browser(
    client: httpx.AsyncClient, keys: Keys, clock: MovableClock, db_url: str
) -> None:
    created = await link(client, keys, clinician_name="Dr Martin")
    signed = await sign(client, created, purposes=["publication"], days="7", max_images="3")
    receipt = await client.get(signed.headers["location"])
    assert receipt.status_code == 200
    for text in (
        "Reçu de consentement",
        "Dermato CHU",
        "Dr Martin",
        "Publication",
        "7 jours",
        "3",
        "1 mars 2025",
    ):
        assert text in receipt.text
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", withdrawal_code(receipt.text))
    assert "http://registry.test/withdraw" in receipt.text
    assert "@media print" in receipt.text
    stranger = httpx.AsyncClient(transport=client._transport, base_url=client.base_url)
    assert (await stranger.get(signed.headers["location"])).status_code == 404
    # Whoever holds the link may see it again for a short while...
    again = await stranger.get(form_path(created))
    assert again.status_code == 410
    assert (await stranger.get(signed.headers["location"])).status_code == 200
    # ...and nobody after that: the code in clear is wiped.
    clock.advance(minutes=30)
    assert (await client.get(signed.headers["location"])).status_code == 404
    assert "show-receipt" not in (await client.get(form_path(created))).text
    engine = create_registry_engine(db_url)
    try:
        with engine.connect() as connection:
            kept = connection.execute(select(SignedConsentRow.sealed_receipt_code)).scalars().all()
    finally:
        engine.dispose()
    assert kept == [None]


async def test_the_registry_issuing_limit_keeps_the_link(
    db_url: str, keys: Keys, clock: MovableClock, ticks: Ticks
) -> None:
    """The service's per-clinician issuing limit shows as a 429 page; the link can be signed later."""
    app = registry_app(db_url, clock=clock, rules=IssuingRules(issues_per_hour=2), monotonic=ticks)
    async with serve(app) as client:
        for _ in range(2):
            assert (await sign(client, await link(client, keys))).status_code == 303
        held = await link(client, keys)
        response = await sign(client, held)
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert "Trop de consentements" in response.text
        assert (await status(client, keys, held["link_id"])).json()["status"] == "pending"
        ticks.now += 1800
        assert (await sign(client, held)).status_code == 303


async def test_nothing_secret_reaches_the_logs(
    client: httpx.AsyncClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # On the "consentguard" logger itself too: the demo's tests leave it at WARNING.
    caplog.set_level(logging.DEBUG, logger="consentguard")
    created = await link(client, keys)
    signed = await sign(client, created)
    code = withdrawal_code((await client.get(signed.headers["location"])).text)
    token = (await status(client, keys, created["link_id"])).json()["token"]
    await client.post("/withdraw", data={"code": code})
    secret = form_path(created).rsplit("/", 1)[1]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("consentguard"))
    assert "capture link" in ours  # the check reads the registry's lines (httpx's own lines show URLs)
    for value in (PATIENT_NAME, token, parse_token(token).compact, code, secret):
        assert value not in ours
