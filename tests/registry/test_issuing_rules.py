"""Who may issue what: wildcards for admins only, the longest validity, the images, the issuing limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from bot.consent.model import ChatRef, Purpose, UserRef
from bot.errors import ConfigurationError, InvalidRequestError, NotAllowedError
from bot.registry.commands import new_key
from bot.registry.db import create_registry_engine, create_session_factory
from bot.registry.keys import Principal, Role
from bot.registry.migrations import upgrade
from bot.registry.service import ConsentRegistry, IssuingRateLimitedError, IssuingRules
from tests.fakes.clock import MovableClock
from tests.registry.conftest import Keys, registry_app, serve

#: Run on SQLite and on PostgreSQL (tests/registry/conftest.py).
pytestmark = pytest.mark.postgresql

BODY: dict[str, Any] = {
    "patient_ref": "PAT-RULES",
    "groups": ["telegram:-100123"],
    "clinicians": ["telegram:42"],
    "purposes": ["advice"],
    "days": 30,
}


class Ticks:
    """The monotonic clock of the rate limits, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def post(client: httpx.AsyncClient, keys: Keys, role: str, **overrides: Any) -> httpx.Response:
    return await client.post("/v1/consents", json=BODY | overrides, headers=keys.header(role))


@pytest.mark.parametrize(
    "overrides",
    [
        {"groups": ["*"]},
        {"groups": ["telegram:*"]},
        {"groups": ["telegram:-100123", "discord:*"]},
        {"clinicians": ["telegram:*"]},
        {"clinicians": ["telegram:42", "Discord:*"]},
    ],
)
async def test_wildcards_are_for_admin_keys_only(
    client: httpx.AsyncClient, keys: Keys, overrides: dict[str, Any]
) -> None:
    refused = await post(client, keys, "clinician", **overrides)
    assert refused.status_code == 403
    assert "only an admin" in refused.json()["detail"]
    assert (await post(client, keys, "admin", **overrides)).status_code == 201


async def test_a_clinician_key_issues_a_named_scope(client: httpx.AsyncClient, keys: Keys) -> None:
    issued = await post(client, keys, "clinician", groups=["telegram:-100123", "discord:555"])
    assert issued.status_code == 201
    assert issued.json()["patient_ref"] == "PAT-RULES"  # the issuing clinician sees what they issued


async def test_validity_is_capped_and_refused_beyond_never_clipped(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    assert (await post(client, keys, "clinician", days=365)).json()["valid_until"] == "2026-03-01T12:00:00Z"
    for role in ("clinician", "admin"):
        refused = await post(client, keys, role, days=3650)
        assert refused.status_code == 422
        [error] = refused.json()["detail"]
        assert error["loc"] == ["body", "days"]
        assert "between 1 and 365" in error["msg"]


async def test_every_consent_has_a_number_of_images_within_the_maximum(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    assert (await post(client, keys, "clinician")).json()["max_images"] == 10
    assert (await post(client, keys, "clinician", max_images=100)).json()["max_images"] == 100
    too_many = await post(client, keys, "admin", max_images=10_000)
    assert too_many.status_code == 422
    [error] = too_many.json()["detail"]
    assert error["loc"] == ["body", "max_images"]
    assert "between 1 and 100" in error["msg"]
    assert "leave it out for 10" in error["msg"]
    unlimited = await post(client, keys, "admin", max_images=None)
    assert unlimited.status_code == 422
    assert unlimited.json()["detail"][0]["loc"] == ["body", "max_images"]


async def test_the_rules_are_configurable_and_published(db_url: str, keys: Keys, clock: MovableClock) -> None:
    rules = IssuingRules(max_days=7, default_images=3, max_images=5, issues_per_hour=50)
    async with serve(registry_app(db_url, rules=rules, clock=clock)) as client:
        assert (await post(client, keys, "clinician", days=8)).status_code == 422
        issued = (await post(client, keys, "clinician", days=7)).json()
        assert (issued["valid_until"], issued["max_images"]) == ("2025-03-08T12:00:00Z", 3)
        assert (await post(client, keys, "clinician", max_images=6)).status_code == 422
        schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["IssueIn"]["properties"]
        assert (schema["days"]["maximum"], schema["max_images"]["maximum"]) == (7, 5)
        assert schema["max_images"]["default"] == 3


@pytest.mark.parametrize(
    "fields",
    [
        {"max_days": 0},
        {"max_days": 3651},
        {"max_images": 10_001},
        {"default_images": 11, "max_images": 10},
        {"issues_per_hour": 0},
    ],
)
def test_unworkable_rules_are_refused_at_start_up(fields: dict[str, int]) -> None:
    with pytest.raises(ConfigurationError, match="registry_"):
        IssuingRules(**fields)


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def limited(db_url: str, keys: Keys, ticks: Ticks) -> AsyncIterator[httpx.AsyncClient]:
    rules = IssuingRules(issues_per_hour=3)
    async with serve(registry_app(db_url, rules=rules, monotonic=ticks)) as client:
        yield client


async def test_issuing_is_limited_per_clinician_key(
    limited: httpx.AsyncClient, keys: Keys, ticks: Ticks
) -> None:
    assert [(await post(limited, keys, "clinician")).status_code for _ in range(3)] == [201, 201, 201]
    refused = await post(limited, keys, "clinician")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1200"  # 3 an hour: one more every 20 minutes
    assert "too many consents" in refused.json()["detail"]
    # Another clinician, and an admin, are not held back.
    assert (await post(limited, keys, "other_clinician")).status_code == 201
    assert [(await post(limited, keys, "admin")).status_code for _ in range(5)] == [201] * 5
    ticks.now += 1200
    assert (await post(limited, keys, "clinician")).status_code == 201
    assert (await post(limited, keys, "clinician")).status_code == 429


async def test_issuing_is_limited_per_clinician_whatever_the_key(
    limited: httpx.AsyncClient, db_url: str, keys: Keys
) -> None:
    second_key = {"Authorization": f"Bearer {new_key(db_url, 'clinician', 'dr-a')}"}  # dr-a's second key
    for _ in range(3):
        assert (await post(limited, keys, "clinician")).status_code == 201
    assert (await limited.post("/v1/consents", json=BODY, headers=second_key)).status_code == 429


async def test_refused_requests_spend_no_allowance(limited: httpx.AsyncClient, keys: Keys) -> None:
    for _ in range(5):
        assert (await post(limited, keys, "clinician", groups=["*"])).status_code == 403
        assert (await post(limited, keys, "clinician", days=999)).status_code == 422
    assert [(await post(limited, keys, "clinician")).status_code for _ in range(3)] == [201, 201, 201]


async def test_a_bot_key_does_not_issue_over_http(client: httpx.AsyncClient, keys: Keys) -> None:
    assert (await post(client, keys, "bot")).status_code == 403


# -- issuing on behalf of a clinician (the capture flow, in the registry's own process) ---------------------


@pytest.fixture
def registry(db_url: str, ticks: Ticks, clock: MovableClock) -> Iterator[ConsentRegistry]:
    engine = create_registry_engine(db_url)
    try:
        upgrade(engine)
        rules = IssuingRules(issues_per_hour=2)
        yield ConsentRegistry(create_session_factory(engine), clock, rules=rules, monotonic=ticks)
    finally:
        engine.dispose()


def on_behalf(registry: ConsentRegistry, clinician: str = "telegram:123", **overrides: Any) -> Any:
    return registry.issue_on_behalf_of(UserRef.parse(clinician), **(ISSUED | overrides))


def test_issuing_on_behalf_of_a_clinician_applies_the_clinician_rules(
    registry: ConsentRegistry, ticks: Ticks
) -> None:
    issued = on_behalf(registry)
    assert issued.record.max_images == 10
    with pytest.raises(NotAllowedError, match="only an admin"):
        on_behalf(registry, groups=[ChatRef.parse("*")])
    with pytest.raises(NotAllowedError, match="only an admin"):
        on_behalf(registry, clinicians=[UserRef.parse("telegram:*")])
    with pytest.raises(InvalidRequestError, match="365"):
        on_behalf(registry, days=366)
    with pytest.raises(InvalidRequestError, match="wildcard"):
        on_behalf(registry, clinician="telegram:*")
    on_behalf(registry)
    with pytest.raises(IssuingRateLimitedError) as limited:
        on_behalf(registry)
    assert limited.value.retry_after == 1800
    on_behalf(registry, clinician="telegram:124")  # each clinician has their own allowance
    # A key the same clinician owns draws on the same allowance.
    own_key = Principal(key_id="AbCdEfGh", role=Role.CLINICIAN, owner="telegram:123")
    with pytest.raises(IssuingRateLimitedError):
        registry.issue_as(own_key, **{k: v for k, v in ISSUED.items() if k != "clinician"})
    ticks.now += 1800
    assert on_behalf(registry).record.max_images == 10


ISSUED: dict[str, Any] = {
    "patient_ref": "PAT-CAPTURED",
    "groups": [ChatRef("telegram", "-100123")],
    "clinicians": [UserRef("telegram", "123")],
    "purposes": {Purpose.ADVICE},
    "days": 30,
    "max_images": None,
}
