"""The real client against the real reference registry, over HTTP on 127.0.0.1."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.consent.httpx_lookup import HttpxConsentLookup
from bot.consent.model import ChatRef, ConsentStatus, ConsentUse, Purpose, ScopeProblem, UserRef
from bot.consent.token import new_token, parse_token
from bot.errors import ConsentApiProtocolError, ConsentUseRefusedError
from bot.registry.app import create_app
from bot.registry.commands import new_consent, new_key, revoke_consent
from bot.registry.inprocess import serve_in_process

GROUP = ChatRef("telegram", "-1001")
POSTER = UserRef("telegram", "42")


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture
async def client(database: str) -> AsyncIterator[HttpxConsentLookup]:
    key = new_key(database, "bot", None)
    async with (
        serve_in_process(create_app(database)) as url,
        HttpxConsentLookup(url, key, cache_ttl_s=0.0) as lookup,
    ):
        yield lookup


def issue(database: str, **overrides: object) -> str:
    fields: dict[str, object] = {
        "patient_ref": "P-0042",
        "groups": [str(GROUP)],
        "clinicians": [str(POSTER)],
        "purposes": ["advice"],
        "days": 30,
        "max_images": 2,
    }
    fields.update(overrides)
    return str(new_consent(database, **fields)["token"])  # type: ignore[arg-type]


def use(message: str, image: str = "a" * 64) -> ConsentUse:
    return ConsentUse(
        chat=GROUP, message_id=message, image_sha256=image, poster=POSTER, purpose=Purpose.ADVICE
    )


async def test_issued_token_is_granted_with_its_scope(client: HttpxConsentLookup, database: str) -> None:
    token = parse_token(issue(database))
    record = await client.lookup(token)
    assert record.status is ConsentStatus.GRANTED
    assert record.groups == (GROUP,)
    assert record.clinicians == (POSTER,)
    assert record.purposes == frozenset({Purpose.ADVICE})
    assert record.max_images == 2
    assert record.valid_until is not None
    assert record.valid_until - datetime.now(UTC) > timedelta(days=29)
    assert record.patient_ref == ""  # the registry does not send it to the bot's key


async def test_unknown_token(client: HttpxConsentLookup) -> None:
    assert (await client.lookup(new_token())).status is ConsentStatus.UNKNOWN


async def test_revoked_token_and_revocation_feed(client: HttpxConsentLookup, database: str) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    token = parse_token(issue(database))
    assert revoke_consent(database, token.value)
    assert (await client.lookup(token)).status is ConsentStatus.REVOKED
    revocations = await client.revocations_since(before)
    assert len(revocations) == 1
    assert token.compact not in revocations[0].token_fingerprint


async def test_uses_are_counted_once_per_image_and_refused_when_used_up(
    client: HttpxConsentLookup, database: str
) -> None:
    token = parse_token(issue(database, max_images=2))
    await client.record_use(token, use("m1", "a" * 64))
    await client.record_use(token, use("m1", "a" * 64))  # redelivered update: idempotent
    await client.record_use(token, use("m2", "b" * 64))
    assert (await client.lookup(token)).images_used == 2
    with pytest.raises(ConsentUseRefusedError) as refused:
        await client.record_use(token, use("m3", "c" * 64))
    assert refused.value.problem is ScopeProblem.USED_UP


async def test_use_outside_the_scope_is_refused(client: HttpxConsentLookup, database: str) -> None:
    token = parse_token(issue(database))
    wrong_group = ConsentUse(ChatRef("telegram", "-999"), "m1", "a" * 64, POSTER, Purpose.ADVICE)
    with pytest.raises(ConsentUseRefusedError) as refused:
        await client.record_use(token, wrong_group)
    assert refused.value.problem is ScopeProblem.WRONG_GROUP


async def test_a_bad_key_is_a_protocol_error(database: str) -> None:
    async with (
        serve_in_process(create_app(database)) as url,
        HttpxConsentLookup(url, "cgk_bot_not-a-real-key", cache_ttl_s=0.0) as lookup,
    ):
        with pytest.raises(ConsentApiProtocolError, match="401"):
            await lookup.lookup(new_token())


async def test_the_bot_withdraws_a_consent_for_a_clinician_it_names(
    client: HttpxConsentLookup, database: str
) -> None:
    token = parse_token(issue(database))
    assert await client.revoke_on_behalf_of(token, UserRef("telegram", "99")) is None  # not theirs
    assert (await client.lookup(token)).status is ConsentStatus.GRANTED
    assert await client.revoke_on_behalf_of(new_token(), POSTER) is ConsentStatus.UNKNOWN
    assert await client.revoke_on_behalf_of(token, POSTER) is ConsentStatus.REVOKED
    assert (await client.lookup(token)).status is ConsentStatus.REVOKED
    assert await client.revoke_on_behalf_of(token, POSTER) is ConsentStatus.REVOKED  # harmless twice
