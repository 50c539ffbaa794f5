"""De-identified reposts on Discord, end to end: the real discord.py against the fake Discord server.

An identifying photo in an identifying-only channel is removed, the poster is told and offered a masked copy
by DM; clicking the button posts the masked copy through the channel's webhook under the poster's name
(not the original bytes, without the caption), purges the stored copy and audits the repost.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.bootstrap import Core, Overrides, open_core
from bot.consent.model import ChatRef
from bot.core.deidentified import REPOST_DECISION
from bot.platforms.discord import DiscordFrontend
from bot.sandbox.fake_discord import FakeDiscordServer
from detectors.base import Finding, FindingKind
from detectors.engine import ScanReport
from tests.fakes.discord import QuietFrontend
from tests.fakes.platform import FakeConsentLookup
from tests.fakes.settings import make_settings

TOKEN = "fake-token"  # noqa: S105
BOT, APP = 900, 901
GUILD, CASES = 1, 10
OWNER, ALICE, BOB = 41, 42, 43
CHANNEL = ChatRef("discord", str(CASES))
POLICY = f'[groups."discord:{CASES}"]\nmode = "identifying-only"\n'
CAPTION = "Mme Dupont, plaie J3"


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 80, 80)).save(out, "JPEG")
    return out.getvalue()


ORIGINAL, MASKED = jpeg(210), jpeg(0)


class FaceScanner:
    """Every medium shows a face."""

    async def scan(self, data: bytes, name_hint: str) -> ScanReport:
        report = ScanReport()
        report.findings.append(Finding(FindingKind.FACE, "faces", 0.9, True, "human face"))
        return report

    async def aclose(self) -> None:
        return None


class FixedDeidentifier:
    """Renders every image as MASKED."""

    async def render(self, data: bytes, name_hint: str) -> bytes | None:
        return MASKED


@dataclass
class Running:
    server: FakeDiscordServer
    client: DiscordFrontend
    core: Core
    stack: contextlib.AsyncExitStack
    task: asyncio.Task[None]


@pytest.fixture
async def server() -> AsyncIterator[FakeDiscordServer]:
    async with FakeDiscordServer(bot_user_id=BOT, application_id=APP, token=TOKEN) as fake:
        fake.add_guild(GUILD, "Dermatologie", owner_id=OWNER)
        fake.add_channel(GUILD, CASES, "cas-cliniques")
        fake.add_member(GUILD, OWNER, "owner", display_name="Dr Modération", manage_messages=True)
        fake.add_member(GUILD, ALICE, "alice", display_name="Dr Alice")
        fake.add_member(GUILD, BOB, "bob", display_name="Dr Bob")
        with fake.patch_discord():
            yield fake


@pytest.fixture
async def bot(server: FakeDiscordServer, tmp_path: Path) -> AsyncIterator[Running]:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(POLICY)
    settings = make_settings(data_dir=tmp_path / "data", policy_file=policy_file)
    client = QuietFrontend(guild_ready_timeout=0.1)
    stack = contextlib.AsyncExitStack()
    overrides = Overrides(
        scanner=FaceScanner(), consent=FakeConsentLookup(), deidentifier=FixedDeidentifier()
    )
    core = await stack.enter_async_context(
        open_core(settings, platforms={"discord": client.platform}, overrides=overrides)
    )
    client.attach(core.moderator, core.review, [CHANNEL], offers=core.offers)
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect(reconnect=False))
    async with asyncio.timeout(10):
        await client.wait_until_ready()
    running = Running(server, client, core, stack, task)
    yield running
    await client.idle()
    await client.close()
    await asyncio.wait_for(task, timeout=10)
    await stack.aclose()


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components") or [] for c in row["components"]]


async def offered(bot: Running) -> tuple[int, dict[str, Any], str]:
    """Post the identifying photo; Alice's DM channel, the offer message and its button's custom id."""
    server = bot.server
    message = server.post_message(CASES, ALICE, CAPTION, [("plaie.jpg", ORIGINAL, "image/jpeg")])
    await server.wait_until(lambda: any(custom_ids(m) for m in server.dm_messages(ALICE)))
    assert (CASES, int(message["id"])) in server.deleted
    offer = next(m for m in server.dm_messages(ALICE) if custom_ids(m))
    [custom_id] = custom_ids(offer)
    dm = server.dm_channel_id(ALICE)
    assert dm is not None
    return dm, offer, custom_id


def attachment_bytes(server: FakeDiscordServer, message: dict[str, Any]) -> list[bytes]:
    return [server.state.attachments[int(a["id"])].data for a in message["attachments"]]


async def test_the_poster_is_offered_the_masked_copy_by_dm(bot: Running) -> None:
    _, offer, custom_id = await offered(bot)
    assert custom_id.startswith("cgo:")
    assert "anonymisée" in offer["content"]
    assert attachment_bytes(bot.server, offer) == [MASKED]
    reminder = bot.server.dm_messages(ALICE)[0]
    assert "226-13" in reminder["content"]
    assert bot.server.webhook_messages(CASES) == []


async def test_confirming_reposts_the_masked_copy_by_webhook_under_the_posters_name(bot: Running) -> None:
    dm, offer, custom_id = await offered(bot)
    interaction = bot.server.click_button(dm, int(offer["id"]), ALICE, custom_id)

    await bot.server.wait_until(lambda: bool(bot.server.webhook_messages(CASES)))
    [repost] = bot.server.webhook_messages(CASES)
    assert repost["author"]["username"] == "Dr Alice"
    assert repost["content"] == "Publié par Dr Alice — version anonymisée par consentguard"
    assert "Dupont" not in repost["content"]
    assert attachment_bytes(bot.server, repost) == [MASKED]
    await bot.server.wait_until(lambda: int(interaction["id"]) in bot.server.interaction_responses)
    response = bot.server.interaction_responses[int(interaction["id"])]
    assert response["data"]["content"] == "Version anonymisée publiée."
    assert bot.core.storage.offers.count() == 0
    out = io.StringIO()
    bot.core.storage.audit.export(datetime(2000, 1, 1, tzinfo=UTC), "jsonl", out)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["decision"] for e in events if e["decision"] == REPOST_DECISION] == [REPOST_DECISION]
    await bot.client.idle()
    assert not any((CASES, int(m["id"])) in bot.server.deleted for m in bot.server.webhook_messages(CASES))


async def test_someone_else_clicking_posts_nothing(bot: Running) -> None:
    dm, offer, custom_id = await offered(bot)
    interaction = bot.server.click_button(dm, int(offer["id"]), BOB, custom_id)
    await bot.server.wait_until(lambda: int(interaction["id"]) in bot.server.interaction_responses)
    response = bot.server.interaction_responses[int(interaction["id"])]
    assert response["data"]["flags"] & 64  # ephemeral
    assert bot.server.webhook_messages(CASES) == []
    assert bot.core.storage.offers.count() == 1
