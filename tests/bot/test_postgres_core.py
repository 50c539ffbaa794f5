"""The whole core on PostgreSQL: the bot database and the in-process reference registry in one real
PostgreSQL database (``CONSENTGUARD_STORAGE__DATABASE_URL`` and the registry's own URL), across a restart."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import create_engine, inspect

from bot.bootstrap import Core, Overrides, open_core
from bot.domain import Post, PostImage, Verdict
from bot.registry.commands import new_consent
from config.settings import Settings
from tests.bot.test_pipeline import ALICE, GROUP
from tests.fakes.clock import MovableClock
from tests.fakes.platform import RecordingPlatform, StubScanner
from tests.fakes.settings import make_settings


def _settings(tmp_path: Path, url: str) -> Settings:
    return make_settings(
        data_dir=tmp_path / "data",
        storage={"database_url": url},
        consent={"registry_database_url": url},
    )


@contextlib.asynccontextmanager
async def _core(settings: Settings, clock: MovableClock) -> AsyncIterator[tuple[Core, RecordingPlatform]]:
    platform = RecordingPlatform({"face": b"FACE-1", "slide": b"SLIDE-1"})
    overrides = Overrides(clock=clock, scanner=StubScanner(), revocation_poll_s=3600)
    async with open_core(settings, platforms={"telegram": platform}, overrides=overrides) as core:
        yield core, platform


def _post(
    platform: RecordingPlatform, clock: MovableClock, message_id: str, image: str, caption: str = ""
) -> Post:
    return Post(
        chat=GROUP,
        message_id=message_id,
        author=ALICE,
        author_name="Dr Alice",
        caption=caption,
        images=(PostImage(image, platform.fetcher(GROUP, image)),),
        sent_at=clock(),
    )


def _audit(core: Core) -> list[dict[str, object]]:
    out = io.StringIO()
    core.storage.audit.export(core.storage.clock().replace(year=2000), "jsonl", out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_the_core_judges_holds_and_remembers_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    settings = _settings(tmp_path, postgres_url)
    clock = MovableClock()
    async with _core(settings, clock) as (core, platform):
        held = await core.moderator.handle(_post(platform, clock, "1", "slide"))  # strict: held
        removed = await core.moderator.handle(_post(platform, clock, "2", "face"))  # identifying: deleted
        assert held is not None
        assert removed is not None
        assert held.decision.verdict is Verdict.QUARANTINE
        assert removed.decision.verdict is Verdict.DELETE
        item = held.quarantine_item
        assert item is not None
    # Both databases live in PostgreSQL: the bot's tables and the registry's, side by side.
    engine = create_engine(postgres_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"quarantine_items", "audit_events", "consentguard_bot_alembic_version"} <= tables
    assert {"consents", "api_keys", "alembic_version"} <= tables

    token = new_consent(
        postgres_url,
        patient_ref="PAT-PG-1",
        groups=[str(GROUP)],
        clinicians=[str(ALICE)],
        purposes=["advice"],
        days=30,
        max_images=2,
    )["token"]
    async with _core(settings, clock) as (core, platform):  # a restart: everything read back
        assert [pending.item_id for pending in core.storage.quarantine.pending(GROUP)] == [item]
        assert core.storage.quarantine.images(item) == [("slide", b"SLIDE-1")]
        allowed = await core.moderator.handle(
            _post(platform, clock, "3", "face", caption=f"#consent {token}")
        )
        assert allowed is not None
        assert allowed.decision.verdict is Verdict.ALLOW  # the registry on PostgreSQL answered
        verdicts = [(event["message_id"], event["verdict"]) for event in _audit(core)]
        assert verdicts == [("1", "quarantine"), ("2", "delete"), ("3", "allow")]
        assert all(event["posted_at"] for event in _audit(core))
