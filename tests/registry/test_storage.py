"""Storage, migrations, keys and the operator commands, without HTTP."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bot.consent.model import ChatRef, Purpose, UserRef
from bot.consent.token import InvalidTokenError, new_token, parse_token
from bot.registry.commands import new_consent, new_key, revoke_consent, revoke_key, show_consent
from bot.registry.db import Base, ConsentRow, create_registry_engine, create_session_factory
from bot.registry.keys import Role, generate_key, key_id_of
from bot.registry.migrations import SCRIPT_LOCATION, upgrade
from bot.registry.ratelimit import TokenBucketLimiter
from bot.registry.service import ConsentRegistry, InvalidRequestError, token_fingerprint
from tests.fakes.database import stored_bytes
from tests.registry.conftest import Keys, registry_app, serve

#: Run on SQLite and on PostgreSQL (tests/registry/conftest.py).
pytestmark = pytest.mark.postgresql

CONSENT = {
    "patient_ref": "PAT-STORE-7",
    "groups": ["telegram:-100123"],
    "clinicians": ["telegram:42"],
    "purposes": ["advice", "teaching"],
    "days": 10,
    "max_images": None,
}


def test_migrations_create_the_schema_on_an_empty_database(db_url: str, db_path: Path) -> None:
    engine = create_registry_engine(db_url)
    try:
        upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"consents", "consent_uses", "api_keys", "alembic_version"} <= tables
        with engine.connect() as connection:
            head = ScriptDirectory(str(SCRIPT_LOCATION)).get_current_head()
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
            if db_url.startswith("sqlite"):
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            # The hand-written migration and the models agree.
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()
    assert db_path.exists() == db_url.startswith("sqlite")


async def test_migrations_are_idempotent_on_restart(db_url: str, keys: Keys) -> None:
    token = new_consent(db_url, **CONSENT)["token"]  # type: ignore[arg-type]
    for _restart in range(2):
        async with serve(registry_app(db_url)) as client:
            response = await client.get(f"/v1/consents/{token}", headers=keys.header("bot"))
            assert response.json()["status"] == "granted"
    engine = create_registry_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()


async def test_keys_and_tokens_are_stored_hashed(db_url: str, db_path: Path, keys: Keys) -> None:
    async with serve(registry_app(db_url)) as client:
        issued = await client.post(
            "/v1/consents", json=CONSENT | {"max_images": 3}, headers=keys.header("clinician")
        )
        assert issued.status_code == 201
        token = parse_token(issued.json()["token"])
    stored = stored_bytes(db_url, db_path)
    assert b"PAT-STORE-7" in stored  # the check below reads the right files
    for key in (keys.admin, keys.bot, keys.clinician):
        assert key.encode() not in stored
        assert key.split("_", 2)[2].encode() not in stored
        assert hashlib.sha256(key.encode()).hexdigest().encode() in stored
    for form in (token.value, token.compact, token.value.replace("-", "")):
        assert form.encode() not in stored
        assert form.lower().encode() not in stored
    assert token_fingerprint(token).encode() in stored


async def test_commands_share_the_database_with_a_running_app(db_url: str, keys: Keys) -> None:
    async with serve(registry_app(db_url)) as client:  # holds the database open, as a running server does
        assert (await client.get("/healthz")).status_code == 200
        issued = new_consent(db_url, **CONSENT)  # type: ignore[arg-type]
        assert re.fullmatch(r"CG(-[0-9A-Z]{4}){4}-[0-9A-Z]", issued["token"])
        assert issued["status"] == "granted"
        assert issued["purposes"] == ["advice", "teaching"]
        assert issued["valid_until"].endswith("Z")
        served = await client.get(f"/v1/consents/{issued['token']}", headers=keys.header("admin"))
        shown = show_consent(db_url, parse_token(issued["token"]).compact)
        assert shown == served.json() == {key: value for key, value in issued.items() if key != "token"}
        assert shown["max_images"] == 10  # the operator named none: the rules' default
        assert revoke_consent(db_url, issued["token"]) is True
        assert revoke_consent(db_url, issued["token"]) is True
        served = await client.get(f"/v1/consents/{issued['token']}", headers=keys.header("bot"))
        assert served.json()["status"] == show_consent(db_url, issued["token"])["status"] == "revoked"


def test_commands_on_unknown_and_malformed_tokens(db_url: str) -> None:
    assert show_consent(db_url, new_token().value)["status"] == "unknown"
    assert revoke_consent(db_url, new_token().value) is False
    with pytest.raises(InvalidTokenError):
        show_consent(db_url, "CG-NOPE")
    with pytest.raises(InvalidTokenError):
        revoke_consent(db_url, "CG-NOPE")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"purposes": ["gossip"]}, "purposes must be among"),
        ({"groups": ["nocolon"]}, "PLATFORM:ID"),
        ({"groups": []}, "at least one group"),
        ({"clinicians": []}, "at least one clinician"),
        ({"days": 0}, "days"),
        ({"days": 366}, "between 1 and 365"),
        ({"max_images": 0}, "max_images"),
        ({"max_images": 101}, "between 1 and 100"),
        ({"patient_ref": " "}, "patient_ref"),
    ],
)
def test_new_consent_refuses_bad_values(db_url: str, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        new_consent(db_url, **(CONSENT | overrides))  # type: ignore[arg-type]


def test_new_key_format_and_roles(db_url: str) -> None:
    for role in ("bot", "clinician", "admin"):
        key = new_key(db_url, role, None)
        assert re.fullmatch(rf"cgk_{role}_[A-Za-z0-9_-]{{32}}", key)
        assert key_id_of(key) == key.split("_", 2)[2][:8]
    with pytest.raises(ValueError, match="unknown role"):
        new_key(db_url, "root", None)


def test_revoked_key_no_longer_authenticates(db_url: str) -> None:
    key = new_key(db_url, "bot", "bot-1")
    key_id = key_id_of(key)
    assert key_id is not None
    engine = create_registry_engine(db_url)
    try:
        registry = ConsentRegistry(create_session_factory(engine))
        principal = registry.authenticate(key)
        assert principal is not None
        assert (principal.role, principal.owner, principal.identity) == (Role.BOT, "bot-1", "bot-1")
        assert revoke_key(db_url, key_id) is True
        assert registry.authenticate(key) is None
        assert revoke_key(db_url, "nosuchid") is False
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "secret",
    ["", "Bearer", "cgk_bot_short", "cgk_root_" + "A" * 32, "cgk_bot_" + "A" * 33, "xyz_bot_" + "A" * 32],
)
def test_malformed_keys_have_no_id(secret: str) -> None:
    assert key_id_of(secret) is None


def test_generated_key_repr_hides_the_secret() -> None:
    new = generate_key(Role.ADMIN)
    assert new.secret not in repr(new)
    assert new.key_id in repr(new)


def test_naive_datetimes_are_refused(db_url: str) -> None:
    engine = create_registry_engine(db_url)
    try:
        upgrade(engine)
        sessions = create_session_factory(engine)
        with pytest.raises(Exception, match="naive datetime"), sessions.begin() as session:
            session.add(
                ConsentRow(
                    token_hash="0" * 64,
                    patient_ref="p",
                    purposes="[]",
                    groups="[]",
                    clinicians="[]",
                    issued_by="t",
                    created_at=datetime(2025, 1, 1),
                )
            )
    finally:
        engine.dispose()


def test_datetimes_come_back_utc_aware(db_url: str) -> None:
    engine = create_registry_engine(db_url)
    try:
        upgrade(engine)
        registry = ConsentRegistry(
            create_session_factory(engine), clock=lambda: datetime(2025, 5, 1, tzinfo=UTC)
        )
        issued = registry.issue(
            patient_ref="p",
            groups=[ChatRef.parse("*")],
            clinicians=[UserRef.parse("telegram:1")],
            purposes={Purpose.ADVICE},
            days=2,
            max_images=None,
            issued_by="t",
        )
        record = registry.lookup(issued.token)
        assert record.valid_until == datetime(2025, 5, 3, tzinfo=UTC)
        assert record.valid_until is not None
        assert record.valid_until.tzinfo is UTC
        assert issued.token.value not in repr(issued)
        with pytest.raises(InvalidRequestError):
            registry.issue(
                patient_ref="p",
                groups=[],
                clinicians=[UserRef.parse("telegram:1")],
                purposes={Purpose.ADVICE},
                days=2,
                max_images=None,
                issued_by="t",
            )
    finally:
        engine.dispose()


def test_in_memory_database_works_for_experiments() -> None:
    engine = create_registry_engine("sqlite://")
    try:
        upgrade(engine)
        assert "consents" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_token_bucket_refills_continuously() -> None:
    now = [0.0]
    limiter = TokenBucketLimiter(60, monotonic=lambda: now[0])
    assert all(limiter.acquire("k") == 0 for _ in range(60))
    assert limiter.acquire("k") == 1
    assert limiter.acquire("other") == 0
    now[0] += 0.5
    assert limiter.acquire("k") == 1  # half a token so far
    now[0] += 0.5
    assert limiter.acquire("k") == 0
    now[0] += 3600
    assert sum(limiter.acquire("k") == 0 for _ in range(100)) == 60  # the burst never exceeds capacity
    slow = TokenBucketLimiter(2, monotonic=lambda: now[0])
    slow.acquire("k")
    slow.acquire("k")
    assert slow.acquire("k") == 30
    with pytest.raises(ValueError, match="at least 1"):
        TokenBucketLimiter(0)


def test_token_bucket_per_hour_takes_from_every_bucket_or_none() -> None:
    now = [0.0]
    limiter = TokenBucketLimiter(3, period_s=3600, monotonic=lambda: now[0])
    assert [limiter.acquire_all(["key:a", "who:x"]) for _ in range(3)] == [0, 0, 0]
    # "who:x" is spent, so another key of the same person waits, and its own bucket is not touched.
    assert limiter.acquire_all(["key:b", "who:x"]) == 1200
    assert limiter.acquire_all(["key:b"]) == 0
    now[0] += 1200
    assert limiter.acquire_all(["key:b", "who:x"]) == 0


def test_concurrent_uses_never_exceed_max_images(db_url: str) -> None:
    """Writers racing for the last images: BEGIN IMMEDIATE serialises the check and the insert."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.registry.service import ScopeRefusedError, UseRequest

    engine = create_registry_engine(db_url)
    try:
        upgrade(engine)
        registry = ConsentRegistry(create_session_factory(engine))
        token = registry.issue(
            patient_ref="p",
            groups=[ChatRef.parse("telegram:-1")],
            clinicians=[UserRef.parse("telegram:1")],
            purposes={Purpose.ADVICE},
            days=1,
            max_images=3,
            issued_by="t",
        ).token

        def record(index: int) -> str:
            use = UseRequest(
                chat=ChatRef("telegram", "-1"),
                message_id=str(index % 6),  # every image is posted twice: replays must not count
                image_sha256=f"{index % 6:064x}",
                poster=UserRef("telegram", "1"),
                purpose=Purpose.ADVICE,
            )
            try:
                return "created" if registry.record_use(token, use).created else "replayed"
            except ScopeRefusedError as refused:
                return refused.problem.value

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(record, range(12)))
        assert outcomes.count("created") == 3
        assert registry.lookup(token).images_used == 3
        assert set(outcomes) <= {"created", "replayed", "used_up"}
    finally:
        engine.dispose()
