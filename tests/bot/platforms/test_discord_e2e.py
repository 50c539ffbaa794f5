"""The Discord adapter end to end: the real discord.py (gateway + REST) against the fake Discord server.

Detection is stubbed (image bytes say what they show), consent is a fake registry; storage is real SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import Core, Overrides, open_core
from bot.consent.model import ChatRef, ConsentRecord, ConsentStatus, Purpose, UserRef
from bot.consent.token import new_token
from bot.platforms.discord import DiscordFrontend
from bot.sandbox.fake_discord import FakeDiscordServer
from tests.fakes.discord import QuietFrontend
from tests.fakes.platform import FakeConsentLookup, StubScanner
from tests.fakes.settings import make_settings

TOKEN = "fake-token"  # noqa: S105
BOT, APP = 900, 901
GUILD, CASES, REVIEW, THREAD = 1, 10, 13, 12
OWNER, ALICE, BOB = 41, 42, 43  # the owner moderates (Manage Messages); Alice and Bob post
CHANNEL = ChatRef("discord", str(CASES))
POLICY = f'[groups."discord:{CASES}"]\nreview_chat = "discord:{REVIEW}"\nnotice_ttl_s = 5\n'


@dataclass
class Running:
    server: FakeDiscordServer
    client: DiscordFrontend
    consent: FakeConsentLookup
    core: Core
    stack: contextlib.AsyncExitStack
    task: asyncio.Task[None]

    def granted_token(self) -> str:
        token = new_token()
        self.consent.records[token.compact] = ConsentRecord(
            status=ConsentStatus.GRANTED,
            purposes=frozenset({Purpose.ADVICE}),
            groups=(CHANNEL,),
            clinicians=(UserRef("discord", str(ALICE)),),
            max_images=10,
        )
        return token.value


async def start_client(
    server: FakeDiscordServer, data_dir: Path, consent: FakeConsentLookup | None = None
) -> Running:
    policy_file = data_dir.parent / f"{data_dir.name}-policy.toml"
    policy_file.write_text(POLICY)
    settings = make_settings(data_dir=data_dir, policy_file=policy_file)
    client = QuietFrontend(guild_ready_timeout=0.1)
    consent = consent or FakeConsentLookup()
    stack = contextlib.AsyncExitStack()
    core = await stack.enter_async_context(
        open_core(
            settings,
            platforms={"discord": client.platform},
            overrides=Overrides(scanner=StubScanner(), consent=consent),
        )
    )
    client.attach(core.moderator, core.review, [CHANNEL])
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect(reconnect=False))
    async with asyncio.timeout(10):
        await client.wait_until_ready()
    return Running(server, client, consent, core, stack, task)


async def stop_client(running: Running) -> None:
    await running.client.idle()
    await running.client.close()
    await asyncio.wait_for(running.task, timeout=10)
    await running.stack.aclose()


@pytest.fixture
async def server() -> AsyncIterator[FakeDiscordServer]:
    async with FakeDiscordServer(bot_user_id=BOT, application_id=APP, token=TOKEN) as fake:
        fake.add_guild(GUILD, "Dermatologie", owner_id=OWNER)
        fake.add_channel(GUILD, CASES, "cas-cliniques")
        fake.add_channel(GUILD, REVIEW, "moderation")
        fake.add_channel(GUILD, THREAD, "cas-12", kind="thread", parent_id=CASES)
        fake.add_member(GUILD, OWNER, "owner", display_name="Dr Modération", manage_messages=True)
        fake.add_member(GUILD, ALICE, "alice", display_name="Dr Alice")
        fake.add_member(GUILD, BOB, "bob", display_name="Dr Bob")
        with fake.patch_discord():
            yield fake


@pytest.fixture
async def bot(server: FakeDiscordServer, tmp_path: Path) -> AsyncIterator[Running]:
    running = await start_client(server, tmp_path / "data")
    yield running
    await stop_client(running)


def image(name: str, data: bytes) -> tuple[str, bytes, str]:
    return (name, data, "image/jpeg")


def gone(server: FakeDiscordServer, message: dict[str, Any], channel: int = CASES) -> bool:
    return (channel, int(message["id"])) in server.deleted


async def review_notice(server: FakeDiscordServer) -> dict[str, Any]:
    await server.wait_until(lambda: any(m.get("components") for m in server.messages_in(REVIEW)))
    return next(m for m in server.messages_in(REVIEW) if m.get("components"))


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


# -- the policy table -------------------------------------------------------------------------------------


async def test_face_without_consent_is_deleted_and_the_author_messaged(bot: Running) -> None:
    message = bot.server.post_message(CASES, ALICE, "avis ?", [image("selfie.jpg", b"FACE-1")])
    await bot.server.wait_until(lambda: gone(bot.server, message))
    await bot.server.wait_until(lambda: bool(bot.server.dm_messages(ALICE)))
    text = "\n".join(m["content"] for m in bot.server.dm_messages(ALICE))
    assert "226-13" in text
    assert "visage" in text


async def test_valid_consent_keeps_the_message(bot: Running) -> None:
    message = bot.server.post_message(
        CASES,
        ALICE,
        f"#consent {bot.granted_token()}",
        [image("a.jpg", b"FACE-1"), image("b.jpg", b"CLEAN-2")],
    )
    handled = await asyncio.wait_for(bot.client.handled.get(), timeout=10)
    assert handled.decision.verdict.value == "allow"
    assert len(bot.consent.uses) == 2
    assert not gone(bot.server, message)


async def test_several_attachments_are_all_scanned(bot: Running) -> None:
    message = bot.server.post_message(
        CASES, ALICE, "", [image("a.jpg", b"CLEAN-1"), image("b.jpg", b"NAME-2")]
    )
    await bot.server.wait_until(lambda: gone(bot.server, message))


async def test_editing_the_token_out_removes_the_message(bot: Running) -> None:
    message = bot.server.post_message(
        CASES, ALICE, f"#consent {bot.granted_token()}", [image("a.jpg", b"FACE-1")]
    )
    await asyncio.wait_for(bot.client.handled.get(), timeout=10)
    assert len(bot.consent.uses) == 1
    bot.server.edit_message(CASES, int(message["id"]), content="sans jeton")
    await bot.server.wait_until(lambda: gone(bot.server, message))


async def test_closed_dms_fall_back_to_a_channel_notice_that_goes_away(bot: Running) -> None:
    bot.server.open_dms(BOB, False)
    message = bot.server.post_message(CASES, BOB, "", [image("a.jpg", b"FACE-1")])
    await bot.server.wait_until(lambda: gone(bot.server, message))
    await bot.server.wait_until(
        lambda: any(f"<@{BOB}>" in m.get("content", "") for m in bot.server.messages_in(CASES))
    )
    notice = next(m for m in bot.server.messages_in(CASES) if f"<@{BOB}>" in m.get("content", ""))
    assert "226-13" not in notice["content"]
    await bot.server.wait_until(lambda: gone(bot.server, notice), timeout=15)


async def test_message_in_a_thread_is_moderated_under_its_channel(bot: Running) -> None:
    message = bot.server.post_message(THREAD, ALICE, "", [image("a.jpg", b"FACE-1")])
    await bot.server.wait_until(lambda: gone(bot.server, message, THREAD))


# -- review -----------------------------------------------------------------------------------------------


async def test_review_buttons_refuse_members_without_manage_messages(bot: Running) -> None:
    bot.server.post_message(CASES, ALICE, "Figure 2", [image("fig.png", b"SLIDE-2")])
    notice = await review_notice(bot.server)
    approve = next(c for c in custom_ids(notice) if c.startswith("cg:a:"))
    interaction = bot.server.click_button(REVIEW, int(notice["id"]), BOB, approve)
    await bot.server.wait_until(lambda: int(interaction["id"]) in bot.server.interaction_responses)
    response = bot.server.interaction_responses[int(interaction["id"])]
    assert response["data"]["flags"] & 64  # ephemeral refusal
    assert bot.server.webhook_messages(CASES) == []


async def test_approve_reposts_through_a_webhook_under_the_posters_name(bot: Running) -> None:
    bot.server.post_message(CASES, ALICE, "Figure 2", [image("fig.png", b"SLIDE-2")])
    notice = await review_notice(bot.server)
    approve = next(c for c in custom_ids(notice) if c.startswith("cg:a:"))
    bot.server.click_button(REVIEW, int(notice["id"]), OWNER, approve)
    await bot.server.wait_until(lambda: bool(bot.server.webhook_messages(CASES)))
    repost = bot.server.webhook_messages(CASES)[0]
    assert repost["author"]["username"] == "Dr Alice"
    assert "Dr Modération" in repost["content"]
    # Reposted first, purged after: the copy goes once the repost is up.
    await bot.server.wait_until(lambda: bot.core.storage.quarantine.pending(CHANNEL) == [])


async def test_a_repost_that_fails_leaves_the_item_held(bot: Running) -> None:
    bot.server.post_message(CASES, ALICE, "Figure 2", [image("fig.png", b"SLIDE-2")])
    notice = await review_notice(bot.server)
    approve = next(c for c in custom_ids(notice) if c.startswith("cg:a:"))
    bot.server.fail_next("POST", r"/webhooks/\d+/[^/]+", 403, code=50013, message="Missing Permissions")
    interaction = bot.server.click_button(REVIEW, int(notice["id"]), OWNER, approve)
    await bot.server.wait_until(lambda: int(interaction["id"]) in bot.server.interaction_responses)
    response = bot.server.interaction_responses[int(interaction["id"])]
    assert response["data"]["flags"] & 64  # told privately that it failed
    assert "republication a échoué" in response["data"]["content"]
    assert bot.server.webhook_messages(CASES) == []
    [held] = bot.core.storage.quarantine.pending(CHANNEL)  # nothing lost: approve again, or reject
    assert bot.core.storage.quarantine.images(held.item_id)[0][1] == b"SLIDE-2"


async def test_show_is_ephemeral_with_a_spoiler_and_reject_purges(bot: Running) -> None:
    bot.server.post_message(CASES, ALICE, "Figure 2", [image("fig.png", b"SLIDE-2")])
    notice = await review_notice(bot.server)
    show = next(c for c in custom_ids(notice) if c.startswith("cg:s:"))
    interaction = bot.server.click_button(REVIEW, int(notice["id"]), OWNER, show)
    await bot.server.wait_until(lambda: int(interaction["id"]) in bot.server.interaction_responses)
    response = bot.server.interaction_responses[int(interaction["id"])]
    assert response["data"]["flags"] & 64
    assert any(str(name).startswith("SPOILER_") for name in response.get("files", []))
    reject = next(c for c in custom_ids(notice) if c.startswith("cg:r:"))
    rejection = bot.server.click_button(REVIEW, int(notice["id"]), OWNER, reject)
    await bot.server.wait_until(lambda: int(rejection["id"]) in bot.server.interaction_responses)
    assert bot.core.storage.quarantine.pending(CHANNEL) == []


async def test_review_buttons_still_work_after_a_restart(server: FakeDiscordServer, tmp_path: Path) -> None:
    first = await start_client(server, tmp_path / "data")
    server.post_message(CASES, ALICE, "Figure 2", [image("fig.png", b"SLIDE-2")])
    notice = await review_notice(server)
    await stop_client(first)
    second = await start_client(server, tmp_path / "data")
    try:
        approve = next(c for c in custom_ids(notice) if c.startswith("cg:a:"))
        server.click_button(REVIEW, int(notice["id"]), OWNER, approve)
        await server.wait_until(lambda: bool(server.webhook_messages(CASES)))
    finally:
        await stop_client(second)


# -- commands, permissions, rate limits ------------------------------------------------------------------


async def test_slash_command_status(bot: Running) -> None:
    interaction = bot.server.slash_command(GUILD, CASES, ALICE, "consentguard", "status")
    await bot.server.wait_until(lambda: int(interaction["id"]) in bot.server.interaction_responses)
    assert "strict" in bot.server.interaction_responses[int(interaction["id"])]["data"]["content"]


async def test_missing_manage_messages_is_reported_at_start_up(
    server: FakeDiscordServer, tmp_path: Path
) -> None:
    server.set_bot_permissions(GUILD, manage_messages=False)
    running = await start_client(server, tmp_path / "data")
    try:
        await server.wait_until(
            lambda: any("Manage Messages" in m.get("content", "") for m in server.messages_in(CASES))
        )
    finally:
        await stop_client(running)


async def test_rate_limited_delete_is_retried(bot: Running) -> None:
    bot.server.fail_next("DELETE", rf"/channels/{CASES}/messages/\d+", status=429, retry_after=0.3)
    message = bot.server.post_message(CASES, ALICE, "", [image("a.jpg", b"FACE-1")])
    await bot.server.wait_until(lambda: gone(bot.server, message), timeout=15)


async def test_consent_registry_down_quarantines_never_allows(bot: Running) -> None:
    token = bot.granted_token()
    bot.consent.down = True
    message = bot.server.post_message(CASES, ALICE, f"#consent {token}", [image("a.jpg", b"FACE-1")])
    handled = await asyncio.wait_for(bot.client.handled.get(), timeout=10)
    assert handled.decision.verdict.value == "quarantine"
    assert gone(bot.server, message)
    await review_notice(bot.server)


async def test_detector_failure_quarantines(bot: Running) -> None:
    message = bot.server.post_message(CASES, ALICE, "", [image("a.jpg", b"FAIL-timeout")])
    handled = await asyncio.wait_for(bot.client.handled.get(), timeout=10)
    assert handled.decision.reason == "detection-failed"
    assert gone(bot.server, message)


async def test_image_embed_of_an_uploaded_file_is_judged(bot: Running) -> None:
    message = bot.server.post_message(
        CASES, ALICE, "voir https://cdn.discordapp.com/attachments/1/2/selfie.jpg"
    )
    bot.server.unfurl_image(CASES, int(message["id"]), "selfie.jpg", b"FACE-embed", "image/jpeg")
    await bot.server.wait_until(lambda: gone(bot.server, message))
    handled = await asyncio.wait_for(bot.client.handled.get(), timeout=10)
    assert "face" in handled.decision.detection.kinds


async def test_a_post_that_cannot_be_persisted_is_still_judged(
    bot: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bot.client.moderator is not None

    async def locked(post: Any) -> bool:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(bot.client.moderator, "accept", locked)
    message = bot.server.post_message(CASES, ALICE, "avis ?", [image("selfie.jpg", b"FACE-1")])
    await bot.server.wait_until(lambda: gone(bot.server, message))
