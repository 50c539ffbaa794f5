"""The consent API over HTTP: lookups, uses, issue, revoke, revocations, roles and the rate limit."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import httpx
import pytest

from bot.consent.token import new_token, parse_token
from tests.fakes.clock import MovableClock
from tests.registry.conftest import Keys, registry_app, serve

SHA_A = "a" * 64
SHA_B = "b" * 64
SHA_C = "c" * 64


async def issue(
    client: httpx.AsyncClient, keys: Keys, role: str = "admin", **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient_ref": "PAT-0001",
        "groups": ["telegram:-100123"],
        "clinicians": ["telegram:42"],
        "purposes": ["advice"],
        "days": 30,
        "max_images": 2,
    }
    body.update(overrides)
    response = await client.post("/v1/consents", json=body, headers=keys.header(role))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def use(client: httpx.AsyncClient, keys: Keys, token: str, **overrides: Any) -> Any:
    body: dict[str, Any] = {
        "platform": "telegram",
        "chat_id": "-100123",
        "message_id": "7",
        "image_sha256": SHA_A,
        "poster": "telegram:42",
        "purpose": "advice",
    }
    body.update(overrides)
    return await client.post(f"/v1/consents/{token}/uses", json=body, headers=keys.header("bot"))


async def lookup(client: httpx.AsyncClient, keys: Keys, token: str) -> Any:
    return await client.get(f"/v1/consents/{token}", headers=keys.header("bot"))


async def test_healthz_needs_no_key(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_issued_consent_is_granted_in_canonical_and_compact_form(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    issued = await issue(client, keys, groups=["telegram:-100123", "*"])
    token = parse_token(issued["token"])
    assert issued["token"] == token.value
    scope = {
        "status": "granted",
        "purposes": ["advice"],
        "groups": ["telegram:-100123", "*"],
        "clinicians": ["telegram:42"],
        "valid_until": "2025-03-31T12:00:00Z",
        "max_images": 2,
        "images_used": 0,
    }
    for form in (token.value, token.compact, token.compact.lower()):
        response = await lookup(client, keys, form)
        assert response.status_code == 200
        assert response.json() == scope  # the bot's key never receives the patient reference
    as_admin = await client.get(f"/v1/consents/{token.compact}", headers=keys.header("admin"))
    assert as_admin.json() == scope | {"patient_ref": "PAT-0001"}


async def test_unknown_token_is_200_unknown_with_empty_fields(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await lookup(client, keys, new_token().compact)
    assert response.status_code == 200
    assert response.json() == {
        "status": "unknown",
        "purposes": [],
        "groups": [],
        "clinicians": [],
        "valid_until": None,
        "max_images": None,
        "images_used": 0,
    }


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("CG-1234", "consent_token.wrong_length"),
        ("CG-ABCD-EFGH-JKMN-PQRS-U", "consent_token.bad_character"),
        ("not-a-token", "consent_token.wrong_length"),
    ],
)
async def test_malformed_token_is_422(client: httpx.AsyncClient, keys: Keys, text: str, kind: str) -> None:
    response = await lookup(client, keys, text)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == kind


async def test_mistyped_check_character_is_422(client: httpx.AsyncClient, keys: Keys) -> None:
    compact = parse_token((await issue(client, keys))["token"]).compact
    wrong_check = compact[:-1] + ("0" if compact[-1] != "0" else "1")
    response = await lookup(client, keys, wrong_check)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "consent_token.bad_check"


async def test_past_valid_until_reads_expired(
    client: httpx.AsyncClient, keys: Keys, clock: MovableClock
) -> None:
    token = (await issue(client, keys, days=1))["token"]
    clock.advance(hours=23)
    assert (await lookup(client, keys, token)).json()["status"] == "granted"
    clock.advance(hours=1)
    assert (await lookup(client, keys, token)).json()["status"] == "expired"
    refused = await use(client, keys, token)
    assert refused.status_code == 409
    assert refused.json() == {"problem": "expired"}


async def test_revoked_consent_reads_revoked_and_is_published(
    client: httpx.AsyncClient, keys: Keys, clock: MovableClock
) -> None:
    first = (await issue(client, keys))["token"]
    second = (await issue(client, keys))["token"]
    response = await client.post(f"/v1/consents/{first}/revoke", headers=keys.header("admin"))
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert (await lookup(client, keys, first)).json()["status"] == "revoked"
    clock.advance(minutes=5)
    await client.post(f"/v1/consents/{second}/revoke", headers=keys.header("admin"))

    feed = await client.get("/v1/revocations", headers=keys.header("bot"))
    assert feed.status_code == 200
    fingerprints = [hashlib.sha256(parse_token(t).compact.encode()).hexdigest() for t in (first, second)]
    assert [r["token_fingerprint"] for r in feed.json()["revocations"]] == fingerprints
    assert feed.json()["revocations"][0]["revoked_at"] == "2025-03-01T12:00:00Z"

    later = await client.get(
        "/v1/revocations", params={"since": "2025-03-01T12:01:00+00:00"}, headers=keys.header("bot")
    )
    assert [r["token_fingerprint"] for r in later.json()["revocations"]] == fingerprints[1:]
    paged = await client.get("/v1/revocations", params={"limit": 1}, headers=keys.header("bot"))
    assert len(paged.json()["revocations"]) == 1


async def test_revoking_twice_keeps_the_first_time(
    client: httpx.AsyncClient, keys: Keys, clock: MovableClock
) -> None:
    token = (await issue(client, keys))["token"]
    await client.post(f"/v1/consents/{token}/revoke", headers=keys.header("admin"))
    clock.advance(days=1)
    again = await client.post(f"/v1/consents/{token}/revoke", headers=keys.header("admin"))
    assert again.status_code == 200
    feed = (await client.get("/v1/revocations", headers=keys.header("admin"))).json()["revocations"]
    assert [r["revoked_at"] for r in feed] == ["2025-03-01T12:00:00Z"]


async def test_revoking_an_unknown_token_is_404(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await client.post(f"/v1/consents/{new_token().value}/revoke", headers=keys.header("admin"))
    assert response.status_code == 404


async def test_clinician_revokes_only_what_it_issued(client: httpx.AsyncClient, keys: Keys) -> None:
    token = (await issue(client, keys, role="clinician"))["token"]
    other = await client.post(f"/v1/consents/{token}/revoke", headers=keys.header("other_clinician"))
    assert other.status_code == 403
    own = await client.post(f"/v1/consents/{token}/revoke", headers=keys.header("clinician"))
    assert own.status_code == 200
    admins = (await issue(client, keys, role="admin"))["token"]
    assert (
        await client.post(f"/v1/consents/{admins}/revoke", headers=keys.header("clinician"))
    ).status_code == 403


async def test_use_is_idempotent_per_message_and_image(client: httpx.AsyncClient, keys: Keys) -> None:
    token = (await issue(client, keys))["token"]
    first = await use(client, keys, token)
    assert first.status_code == 201
    assert first.json()["images_used"] == 1
    again = await use(client, keys, token)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert (await lookup(client, keys, token)).json()["images_used"] == 1
    # Telegram sends numbers: the same ids as integers are the same use.
    as_ints = await use(client, keys, token, chat_id=-100123, message_id=7, image_sha256=SHA_A.upper())
    assert as_ints.status_code == 200


async def test_distinct_images_count_until_used_up(client: httpx.AsyncClient, keys: Keys) -> None:
    token = (await issue(client, keys, max_images=2))["token"]
    assert (await use(client, keys, token, image_sha256=SHA_A)).status_code == 201
    second = await use(client, keys, token, image_sha256=SHA_B, message_id="8")
    assert second.status_code == 201
    assert second.json()["images_used"] == 2
    third = await use(client, keys, token, image_sha256=SHA_C, message_id="9")
    assert third.status_code == 409
    assert third.json() == {"problem": "used_up"}
    # A replay of a recorded image is still answered as recorded.
    assert (await use(client, keys, token, image_sha256=SHA_B, message_id="8")).status_code == 200
    assert (await lookup(client, keys, token)).json()["images_used"] == 2


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"chat_id": "-100999"}, "wrong_group"),
        ({"platform": "discord"}, "wrong_group"),
        ({"poster": "telegram:43"}, "wrong_poster"),
        ({"purpose": "teaching"}, "wrong_purpose"),
    ],
)
async def test_use_outside_the_scope_is_409(
    client: httpx.AsyncClient, keys: Keys, overrides: dict[str, str], problem: str
) -> None:
    token = (await issue(client, keys))["token"]
    response = await use(client, keys, token, **overrides)
    assert response.status_code == 409
    assert response.json() == {"problem": problem}
    assert (await lookup(client, keys, token)).json()["images_used"] == 0


async def test_wildcards_cover_any_chat_and_any_poster_of_a_platform(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    token = (await issue(client, keys, groups=["*"], clinicians=["discord:*"]))["token"]
    response = await use(client, keys, token, platform="Discord", chat_id="555", poster="discord:9")
    assert response.status_code == 201
    assert response.json()["platform"] == "discord"
    other_platform = await use(
        client, keys, token, platform="discord", chat_id="555", message_id="8", poster="telegram:9"
    )
    assert other_platform.json() == {"problem": "wrong_poster"}


async def test_use_of_unknown_or_revoked_token_is_409(client: httpx.AsyncClient, keys: Keys) -> None:
    assert (await use(client, keys, new_token().value)).json() == {"problem": "unknown"}
    token = (await issue(client, keys))["token"]
    await client.post(f"/v1/consents/{token}/revoke", headers=keys.header("admin"))
    assert (await use(client, keys, token)).json() == {"problem": "revoked"}


@pytest.mark.parametrize(
    "overrides",
    [
        {"groups": []},
        {"groups": ["telegram"]},
        {"clinicians": ["42"]},
        {"clinicians": []},
        {"purposes": ["gossip"]},
        {"days": 0},
        {"days": 366},
        {"max_images": 0},
        {"max_images": 101},
        {"max_images": None},
        {"patient_ref": "   "},
        {"patient_ref": "PAT\x00"},
    ],
)
async def test_issue_rejects_bad_bodies_without_echoing_them(
    client: httpx.AsyncClient, keys: Keys, overrides: dict[str, Any]
) -> None:
    body = {
        "patient_ref": "SECRET-REF",
        "groups": ["*"],
        "clinicians": ["telegram:1"],
        "purposes": ["advice"],
        "days": 1,
    } | overrides
    response = await client.post("/v1/consents", json=body, headers=keys.header("admin"))
    assert response.status_code == 422
    assert "SECRET-REF" not in response.text
    assert "input" not in response.json()["detail"][0]


ROUTES = [
    ("GET", "/v1/consents/{token}", None),
    ("POST", "/v1/consents/{token}/uses", "use"),
    ("POST", "/v1/consents", "issue"),
    ("POST", "/v1/consents/{token}/revoke", None),
    ("GET", "/v1/revocations", None),
]
ALLOWED = {
    "/v1/consents/{token}": {"bot", "admin"},
    "/v1/consents/{token}/uses": {"bot", "admin"},
    "/v1/consents": {"clinician", "admin"},
    # A bot key revokes only with {"on_behalf_of": ...} (tests/registry/test_withdrawal.py): 403 without it.
    "/v1/consents/{token}/revoke": {"clinician", "admin"},
    "/v1/revocations": {"bot", "admin"},
}


@pytest.mark.parametrize(("method", "template", "body_kind"), ROUTES)
@pytest.mark.parametrize("who", ["none", "garbage", "forged", "revoked", "bot", "clinician", "admin"])
async def test_roles(
    client: httpx.AsyncClient,
    keys: Keys,
    db_url: str,
    method: str,
    template: str,
    body_kind: str | None,
    who: str,
) -> None:
    from bot.registry.commands import new_key, revoke_key

    token = (await issue(client, keys, role="clinician", clinicians=["telegram:1"]))["token"]
    bodies = {
        "use": {
            "platform": "telegram",
            "chat_id": "-100123",
            "message_id": "1",
            "image_sha256": SHA_A,
            "poster": "telegram:1",
            "purpose": "advice",
        },
        "issue": {
            "patient_ref": "P",
            "groups": ["telegram:-100123"],
            "clinicians": ["telegram:1"],
            "purposes": ["advice"],
            "days": 1,
        },
    }
    revoked = new_key(db_url, "admin", None)
    revoke_key(db_url, revoked.split("_", 2)[2][:8])
    unauthenticated = {
        "none": {},
        "garbage": {"Authorization": "Bearer nonsense"},
        # The right shape and id, the wrong secret.
        "forged": {"Authorization": f"Bearer {keys.admin[:-4]}AAAA"},
        "revoked": {"Authorization": f"Bearer {revoked}"},
    }
    headers = unauthenticated[who] if who in unauthenticated else keys.header(who)
    response = await client.request(
        method,
        template.format(token=token),
        json=bodies.get(body_kind) if body_kind else None,
        headers=headers,
    )
    if who in ("none", "garbage", "forged", "revoked"):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    elif who in ALLOWED[template]:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 403


async def test_lookups_are_rate_limited_per_key(db_url: str, keys: Keys) -> None:
    async with serve(
        registry_app(db_url, lookups_per_minute=3, staff_lookups_per_minute=3, monotonic=lambda: 0.0)
    ) as client:
        token = new_token().value
        for _ in range(3):
            assert (await lookup(client, keys, token)).status_code == 200
        limited = await lookup(client, keys, token)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 20
        # Malformed tokens and uses spend the same allowance: both can probe for tokens.
        assert (await client.get("/v1/consents/xyz", headers=keys.header("bot"))).status_code == 429
        assert (await use(client, keys, token)).status_code == 429
        # Another key has its own bucket.
        other = await client.get(f"/v1/consents/{token}", headers=keys.header("admin"))
        assert other.status_code == 200


async def test_the_bot_key_has_a_budget_for_real_traffic(db_url: str, keys: Keys) -> None:
    # Defaults: 600 a minute per bot key (it looks up every captioned post of every group; each poster is
    # limited by the bot), 60 for keys used by hand.
    async with serve(registry_app(db_url, monotonic=lambda: 0.0)) as client:  # no refill during the test
        token = new_token().value
        assert {(await lookup(client, keys, token)).status_code for _ in range(100)} == {200}
        by_hand = [
            (await client.get(f"/v1/consents/{token}", headers=keys.header("admin"))).status_code
            for _ in range(61)
        ]
        assert by_hand == [200] * 60 + [429]


async def test_logs_name_routes_and_keys_never_tokens_or_patients(
    client: httpx.AsyncClient, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    # httpx logs every URL it requests at INFO (tokens included): the client side must keep its logger quiet;
    # this test is about what the registry itself writes.
    caplog.set_level(logging.DEBUG, logger="consentguard.registry")
    issued = await issue(client, keys, patient_ref="PATIENT-SECRET")
    token = parse_token(issued["token"])
    await lookup(client, keys, token.value)
    await use(client, keys, token.compact)
    await client.post(f"/v1/consents/{token.value}/revoke", headers=keys.header("admin"))
    await lookup(client, keys, "CG-BAD")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("consentguard"))
    assert "GET /v1/consents/{token} -> 200 key=" in text
    for secret in (token.value, token.compact, "PATIENT-SECRET", keys.bot, keys.admin):
        assert secret not in text
