"""Ways around the Discord moderation (issue 10), each closed: real discord.py against the fake server.

Detection is the real scan engine with faces only (text and barcodes off, to stay fast), so that each
test proves the medium was fetched and looked at, not just removed: in strict mode a post without consent
is removed whatever it shows, so where there is a face the decision must also say it saw one
(``no-consent-identifying`` with kind ``face``). Consent is a fake registry; storage is real SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import Core, Overrides, open_core
from bot.consent.model import ChatRef
from bot.core.pipeline import HandledPost
from bot.platforms.discord import DiscordFrontend
from bot.platforms.discord.embeds import on_discord_media
from bot.sandbox.fake_discord import FakeDiscordServer
from bot.scanning import InlineScanner
from tests import mediagen
from tests.bot.platforms.test_discord_e2e import (
    ALICE,
    APP,
    BOB,
    BOT,
    CASES,
    CHANNEL,
    GUILD,
    OWNER,
    POLICY,
    REVIEW,
    TOKEN,
)
from tests.fakes.discord import QuietFrontend
from tests.fakes.platform import FakeConsentLookup
from tests.fakes.settings import make_settings
from tests.imagegen import encode

ELSEWHERE, OTHER_BOT = 14, 77  # the server, channels and members are the end-to-end suite's


@dataclass
class Running:
    server: FakeDiscordServer
    client: DiscordFrontend
    core: Core
    seen: dict[str, HandledPost]

    async def decision(self, message: dict[str, Any], channel: int = CASES) -> HandledPost:
        """What the pipeline did with a message (the handled queue, kept by post key)."""
        key = f"{ChatRef('discord', str(channel))}:{message['id']}"
        async with asyncio.timeout(20):
            while key not in self.seen:
                handled = await self.client.handled.get()
                self.seen[handled.post_key] = handled
        return self.seen[key]


@pytest.fixture
async def bot(tmp_path: Path, scanner: InlineScanner) -> AsyncIterator[Running]:
    async with FakeDiscordServer(bot_user_id=BOT, application_id=APP, token=TOKEN) as server:
        server.add_guild(GUILD, "Dermatologie", owner_id=OWNER)
        server.add_channel(GUILD, CASES, "cas-cliniques")
        server.add_channel(GUILD, REVIEW, "moderation")
        server.add_channel(GUILD, ELSEWHERE, "autre-serveur")
        server.add_member(GUILD, OWNER, "owner", display_name="Dr Modération", manage_messages=True)
        server.add_member(GUILD, ALICE, "alice", display_name="Dr Alice")
        server.add_member(GUILD, BOB, "bob", display_name="Dr Bob")
        server.add_bot(GUILD, OTHER_BOT, "imagebot")
        policy_file = tmp_path / "policy.toml"
        policy_file.write_text(POLICY)
        settings = make_settings(data_dir=tmp_path / "data", policy_file=policy_file)
        with server.patch_discord():
            client = QuietFrontend(guild_ready_timeout=0.1)
            async with open_core(
                settings,
                platforms={"discord": client.platform},
                overrides=Overrides(scanner=scanner, consent=FakeConsentLookup()),
            ) as core:
                client.attach(core.moderator, core.review, [CHANNEL])
                await client.login(TOKEN)
                task = asyncio.create_task(client.connect(reconnect=False))
                try:
                    async with asyncio.timeout(10):
                        await client.wait_until_ready()
                    yield Running(server, client, core, {})
                finally:
                    await client.idle()
                    await client.close()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, timeout=10)


def gone(server: FakeDiscordServer, message: dict[str, Any], channel: int = CASES) -> bool:
    return (channel, int(message["id"])) in server.deleted


def told(server: FakeDiscordServer, poster: int) -> bool:
    """The poster was messaged privately, or (DMs refused: bots, webhooks) mentioned in the channel."""
    if poster in server.state.users and server.dm_messages(poster):
        return True
    return any(
        f"<@{poster}>" in str((call.json or {}).get("content", ""))
        for call in server.calls_of("POST", f"/channels/{CASES}/messages")
    )


async def removed_and_told(bot: Running, message: dict[str, Any], poster: int) -> HandledPost:
    await bot.server.wait_until(lambda: gone(bot.server, message), timeout=20)
    handled = await bot.decision(message)
    await bot.server.wait_until(lambda: told(bot.server, poster))
    return handled


def saw_a_face(handled: HandledPost) -> None:
    assert handled.decision.reason == "no-consent-identifying", handled.decision
    assert "face" in handled.decision.detection.kinds


def jpeg(name: str, data: bytes) -> tuple[str, bytes, str]:
    return (name, data, "image/jpeg")


# -- files the bot used to skip by name or type ------------------------------------------------------------


async def test_video_attachment_with_a_late_face(bot: Running) -> None:
    video = mediagen.late_face_video(kind="mp4")
    message = bot.server.post_message(CASES, ALICE, "", [("consultation.mp4", video, "video/mp4")])
    saw_a_face(await removed_and_told(bot, message, ALICE))


async def test_dicom_without_extension_sent_as_octet_stream(bot: Running) -> None:
    dicom = mediagen.dicom_bytes()
    message = bot.server.post_message(CASES, ALICE, "", [("IM0001", dicom, "application/octet-stream")])
    handled = await removed_and_told(bot, message, ALICE)
    assert handled.decision.reason == "no-consent-identifying"
    assert "dicom_patient_tag" in handled.decision.detection.kinds


async def test_face_jpeg_named_scan_bin(bot: Running) -> None:
    face = mediagen.face_jpeg()
    message = bot.server.post_message(CASES, ALICE, "", [("scan.bin", face, "application/octet-stream")])
    saw_a_face(await removed_and_told(bot, message, ALICE))


async def test_zip_attachment_is_removed_unchecked(bot: Running) -> None:
    archive = b"PK\x03\x04" + bytes(200)
    message = bot.server.post_message(CASES, ALICE, "", [("dossier.zip", archive, "application/zip")])
    handled = await removed_and_told(bot, message, ALICE)
    assert handled.decision.reason == "unchecked-file"


# -- messages the bot used to skip by shape or author -------------------------------------------------------


async def test_forward_whose_image_lives_only_in_message_snapshots(bot: Running) -> None:
    # The original was never seen by the bot (another server, in Discord): only the forward carries it.
    original = bot.server.post_message(
        ELSEWHERE, BOB, "cas de Bob", [jpeg("a.jpg", mediagen.face_jpeg())], dispatch=False
    )
    forward = bot.server.forward_message(CASES, ALICE, ELSEWHERE, int(original["id"]))
    assert forward["attachments"] == []
    handled = await removed_and_told(bot, forward, ALICE)
    saw_a_face(handled)


async def test_webhook_post_with_a_face(bot: Running) -> None:
    webhook = bot.server.add_webhook(CASES, "Pont Matrix", creator_id=OWNER)
    message = bot.server.post_as_webhook(
        int(webhook["id"]), "", [jpeg("a.jpg", mediagen.face_jpeg())], username="Dr Zoé (Matrix)"
    )
    handled = await removed_and_told(bot, message, int(webhook["id"]))
    saw_a_face(handled)


async def test_another_bots_post_with_a_face(bot: Running) -> None:
    message = bot.server.post_message(CASES, OTHER_BOT, "", [jpeg("a.jpg", mediagen.face_jpeg())])
    saw_a_face(await removed_and_told(bot, message, OTHER_BOT))


async def test_uncached_edit_that_adds_a_face_to_a_text_message(bot: Running) -> None:
    # Posted while the bot was away (never in discord.py's cache): only a raw MESSAGE_UPDATE arrives.
    message = bot.server.post_message(CASES, ALICE, "voici le cas", dispatch=False)
    bot.server.edit_message(CASES, int(message["id"]), attachments=[jpeg("a.jpg", mediagen.face_jpeg())])
    saw_a_face(await removed_and_told(bot, message, ALICE))


# -- link previews: fetched through Discord's media proxy, never from the linked site ---------------------


async def test_foreign_image_embed_is_fetched_through_the_media_proxy(bot: Running) -> None:
    message = bot.server.post_message(CASES, ALICE, "voir https://photos.example/patient.jpg")
    embed = bot.server.link_embed("patient.jpg", mediagen.face_jpeg(), "image/jpeg")
    bot.server.add_embeds(CASES, int(message["id"]), [embed])
    saw_a_face(await removed_and_told(bot, message, ALICE))
    assert bot.server.third_party_requests == []  # the original site never heard from the bot


async def test_an_article_preview_showing_a_face_is_removed(bot: Running) -> None:
    message = bot.server.post_message(CASES, ALICE, "cas publié https://blog.example/cas-du-jour")
    embed = bot.server.link_embed("cas.jpg", mediagen.face_jpeg(), "image/jpeg", kind="article")
    bot.server.add_embeds(CASES, int(message["id"]), [embed])
    saw_a_face(await removed_and_told(bot, message, ALICE))


async def test_an_article_preview_showing_nobody_stays_up_even_in_a_strict_channel(bot: Running) -> None:
    # Sharing a journal article is not posting a patient's image: only what its picture shows is judged.
    wound = encode(mediagen.blank_wall(), "JPEG")
    message = bot.server.post_message(CASES, ALICE, "à lire https://journal.example/article")
    embed = bot.server.link_embed("figure.jpg", wound, "image/jpeg", kind="article")
    bot.server.add_embeds(CASES, int(message["id"]), [embed])
    handled = await bot.decision(message)
    assert handled.decision.reason == "no-consent-not-identifying"
    assert not gone(bot.server, message)


async def test_foreign_video_embed_is_judged_on_the_proxied_video(bot: Running) -> None:
    message = bot.server.post_message(CASES, ALICE, "voir https://videos.example/consultation")
    video = mediagen.late_face_video(kind="mp4")
    embed = bot.server.link_embed("consultation.mp4", video, "video/mp4", kind="video")
    bot.server.add_embeds(CASES, int(message["id"]), [embed])
    saw_a_face(await removed_and_told(bot, message, ALICE))
    assert bot.server.third_party_requests == []


@pytest.mark.parametrize(
    ("url", "fetched"),
    [
        ("https://images-ext-1.discordapp.net/external/abc/https/photos.example/a.jpg", True),
        ("https://images-ext-2.discordapp.net/external/abc/a.jpg", True),
        ("https://media.discordapp.net/attachments/1/2/a.jpg", True),
        ("https://cdn.discordapp.com/attachments/1/2/a.jpg", True),
        ("http://media.discordapp.net/attachments/1/2/a.jpg", False),  # not TLS
        ("https://cdn.discordapp.com:8443/a.jpg", False),
        ("https://media.discordapp.net.attacker.example/a.jpg", False),
        ("https://photos.example/a.jpg", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("/relative/a.jpg", False),
        ("", False),
    ],
)
def test_only_discords_media_hosts_are_fetched(url: str, fetched: bool) -> None:
    assert on_discord_media(url) is fetched


async def test_embed_whose_proxy_is_not_discord_is_not_fetched_and_fails_closed(bot: Running) -> None:
    message = bot.server.post_message(CASES, ALICE, "voir https://photos.example/patient.jpg")
    embed = bot.server.link_embed("patient.jpg", mediagen.face_jpeg(), "image/jpeg", proxied=False)
    bot.server.add_embeds(CASES, int(message["id"]), [embed])
    handled = await removed_and_told(bot, message, ALICE)
    # Not fetched, so not seen: the post is held back as unchecked (quarantine), never let through.
    assert handled.decision.verdict.value != "allow"
    assert handled.decision.reason in {"detection-failed", "unchecked-file"}
    assert bot.server.third_party_requests == []


# -- the bot's own reposts ----------------------------------------------------------------------------------


async def approve_a_held_post(bot: Running) -> dict[str, Any]:
    """A face-free photo without consent is held in strict mode; the owner approves; the repost."""
    clean = encode(mediagen.blank_wall(), "JPEG")
    message = bot.server.post_message(CASES, ALICE, "Figure 2", [jpeg("fig.jpg", clean)])
    handled = await bot.decision(message)
    assert handled.decision.reason == "no-consent-strict"
    server = bot.server
    await server.wait_until(lambda: any(m.get("components") for m in server.messages_in(REVIEW)))
    notice = next(m for m in server.messages_in(REVIEW) if m.get("components"))
    approve = next(
        c["custom_id"]
        for row in notice["components"]
        for c in row["components"]
        if c["custom_id"].startswith("cg:a:")
    )
    server.click_button(REVIEW, int(notice["id"]), OWNER, approve)
    await server.wait_until(lambda: bool(server.webhook_messages(CASES)))
    return server.webhook_messages(CASES)[0]


async def test_the_bots_own_repost_after_approval_is_not_moderated_again(bot: Running) -> None:
    repost = await approve_a_held_post(bot)
    assert repost["author"]["username"] == "Dr Alice"
    # Were it judged, a webhook post without consent in strict mode would be removed: give it the time.
    await asyncio.sleep(1.0)
    await bot.client.idle()
    assert not gone(bot.server, repost)
    key = f"{CHANNEL}:{repost['id']}"
    while not bot.client.handled.empty():
        handled = bot.client.handled.get_nowait()
        bot.seen[handled.post_key] = handled
    assert key not in bot.seen


async def test_own_repost_is_recognised_by_the_webhooks_creator_after_a_restart(bot: Running) -> None:
    repost = await approve_a_held_post(bot)
    platform = bot.client.platform
    platform._own_webhooks.clear()  # what a restart forgets: Discord's webhook list must tell
    channel = bot.client.get_channel(CASES)
    assert channel is not None
    message = await channel.fetch_message(int(repost["id"]))  # type: ignore[union-attr]
    assert await platform.is_own_webhook(message)


async def test_a_webhook_named_like_ours_but_made_by_someone_else_is_moderated(bot: Running) -> None:
    impostor = bot.server.add_webhook(CASES, "consentguard", creator_id=BOB)
    message = bot.server.post_as_webhook(
        int(impostor["id"]), "", [jpeg("a.jpg", mediagen.face_jpeg())], username="Dr Alice"
    )
    saw_a_face(await removed_and_told(bot, message, int(impostor["id"])))
