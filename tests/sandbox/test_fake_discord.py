"""The fake Discord server, exercised through the real discord.py (REST + gateway) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import time
import warnings
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.fakes.discord import FakeDiscordServer

with warnings.catch_warnings():
    # discord.py's voice player imports audioop, deprecated since Python 3.11: nothing to fix on our side.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    from discord import app_commands

TOKEN = "fake-token"  # noqa: S105 - the fake server's fake token
BOT, APP = 900, 901
GUILD, GENERAL, FORUM, THREAD = 1, 10, 11, 12
ALICE, BOB = 42, 43  # Alice owns the guild and moderates; Bob is a plain member
JPEG = b"\xff\xd8\xff\xe0fake-jpeg-bytes\xff\xd9"


class RecordingClient(discord.Client):
    """A discord.py client that queues what it sees, as the production adapter would handle it."""

    def __init__(self, *, message_content: bool = True, members: bool = False) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        intents.members = members
        super().__init__(intents=intents, guild_ready_timeout=0.1)
        self.seen: asyncio.Queue[discord.Message] = asyncio.Queue()
        self.edits: asyncio.Queue[tuple[discord.Message, discord.Message]] = asyncio.Queue()
        self.raw_edits: asyncio.Queue[discord.RawMessageUpdateEvent] = asyncio.Queue()
        self.joined: asyncio.Queue[discord.Member] = asyncio.Queue()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before re-identifying (Discord's identify limit); the fake has none.
        return None

    async def on_member_join(self, member: discord.Member) -> None:
        await self.joined.put(member)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.id != BOT:
            await self.seen.put(message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        await self.edits.put((before, after))

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self.raw_edits.put(payload)


@pytest.fixture
async def server() -> AsyncIterator[FakeDiscordServer]:
    async with FakeDiscordServer(bot_user_id=BOT, application_id=APP, token=TOKEN) as running:
        running.add_guild(GUILD, "Dermatologie", owner_id=ALICE)
        running.add_channel(GUILD, GENERAL, "cas-cliniques")
        running.add_channel(GUILD, FORUM, "forum", kind="forum")
        running.add_channel(GUILD, THREAD, "cas-12", kind="thread", parent_id=GENERAL)
        running.add_member(GUILD, ALICE, "alice", display_name="Dr Alice", manage_messages=True)
        running.add_member(GUILD, BOB, "bob")
        yield running


async def start(server: FakeDiscordServer, client: RecordingClient) -> asyncio.Task[None]:
    await client.login(TOKEN)
    task = asyncio.create_task(client.connect(reconnect=False))
    async with asyncio.timeout(5):
        await client.wait_until_ready()
    return task


async def stop(client: RecordingClient, task: asyncio.Task[None]) -> None:
    await client.close()
    async with asyncio.timeout(2):
        await task


@pytest.fixture
async def client(server: FakeDiscordServer) -> AsyncIterator[RecordingClient]:
    with server.patch_discord():
        bot = RecordingClient()
        task = await start(server, bot)
        try:
            yield bot
        finally:
            await stop(bot, task)


def general(client: discord.Client) -> discord.TextChannel:
    channel = client.get_channel(GENERAL)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def next_seen(client: RecordingClient) -> discord.Message:
    async with asyncio.timeout(5):
        return await client.seen.get()


# -- connection ------------------------------------------------------------------------------------------


async def test_login_identify_ready_and_guild_cache(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    assert client.user is not None
    assert client.user.id == BOT
    assert client.application_id == APP
    assert [call.path for call in server.calls[:2]] == ["/users/@me", "/oauth2/applications/@me"]
    identify = next(p for p in server.gateway_payloads if p["op"] == 2)
    assert identify["d"]["intents"] & (1 << 15)  # message content asked for
    assert server.connected == 1

    guild = client.get_guild(GUILD)
    assert guild is not None
    assert guild.owner_id == ALICE
    assert isinstance(guild.get_channel(FORUM), discord.ForumChannel)
    thread = guild.get_thread(THREAD)
    assert thread is not None
    assert thread.parent_id == GENERAL
    # Without the members intent only the bot's own member is cached, as on Discord.
    assert guild.get_member(BOB) is None
    alice, bob, me = await guild.fetch_member(ALICE), await guild.fetch_member(BOB), guild.me
    assert me is not None
    assert alice.display_name == "Dr Alice"
    channel = general(client)
    assert channel.permissions_for(alice).manage_messages
    assert not channel.permissions_for(bob).manage_messages
    assert channel.permissions_for(me).manage_messages
    assert channel.permissions_for(me).manage_webhooks


async def test_gateway_and_json_answers_are_what_discord_py_expects(server: FakeDiscordServer) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bot {TOKEN}"}
        async with session.get(f"{server.api_base}/gateway/bot", headers=headers) as response:
            assert response.headers["Content-Type"] == "application/json"
            assert (await response.json())["url"] == server.gateway_url
        async with session.get(f"{server.api_base}/users/@me") as response:
            assert response.status == 401
        async with session.get(f"{server.api_base}/nope", headers=headers) as response:
            assert response.status == 404


async def test_wrong_token_is_refused(server: FakeDiscordServer) -> None:
    with server.patch_discord():
        bot = RecordingClient()
        with pytest.raises(discord.LoginFailure):
            await bot.login("wrong")
        await bot.close()


async def test_close_ends_the_connection_quickly(server: FakeDiscordServer) -> None:
    with server.patch_discord():
        bot = RecordingClient()
        task = await start(server, bot)
        started = time.monotonic()
        await stop(bot, task)
    assert time.monotonic() - started < 2
    await server.wait_until(lambda: server.connected == 0, timeout=2)


# -- messages --------------------------------------------------------------------------------------------


async def test_posted_message_reaches_on_message_with_readable_attachment(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    posted = server.post_message(GENERAL, BOB, "regardez", attachments=[("lesion.jpg", JPEG, "image/jpeg")])
    message = await next_seen(client)
    assert message.id == int(posted["id"])
    assert message.content == "regardez"
    assert isinstance(message.author, discord.Member)
    assert message.author.id == BOB
    [attachment] = message.attachments
    assert attachment.filename == "lesion.jpg"
    assert attachment.content_type == "image/jpeg"
    assert await attachment.read() == JPEG


async def test_message_in_a_thread_and_in_dms(server: FakeDiscordServer, client: RecordingClient) -> None:
    server.post_message(THREAD, ALICE, "dans le fil")
    in_thread = await next_seen(client)
    assert isinstance(in_thread.channel, discord.Thread)
    assert in_thread.channel.parent_id == GENERAL
    server.post_dm(BOB, "en privé")
    private = await next_seen(client)
    assert isinstance(private.channel, discord.DMChannel)
    assert private.guild is None


async def test_without_message_content_intent_content_is_blank(server: FakeDiscordServer) -> None:
    with server.patch_discord():
        bot = RecordingClient(message_content=False)
        task = await start(server, bot)
        try:
            server.post_message(GENERAL, BOB, "secret", attachments=[("a.jpg", JPEG, "image/jpeg")])
            message = await next_seen(bot)
            assert message.content == ""
            assert message.attachments == []
        finally:
            await stop(bot, task)


async def test_delete_then_unknown_message(server: FakeDiscordServer, client: RecordingClient) -> None:
    server.post_message(GENERAL, BOB, "photo")
    message = await next_seen(client)
    await message.delete()
    assert (GENERAL, message.id) in server.deleted
    assert server.messages_in(GENERAL) == []
    with pytest.raises(discord.NotFound) as caught:
        await message.delete()
    assert caught.value.code == 10008


async def test_delete_without_manage_messages_is_forbidden(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    updated = asyncio.ensure_future(client.wait_for("guild_role_update"))
    server.set_bot_permissions(GUILD, manage_messages=False)
    async with asyncio.timeout(5):
        await updated
    channel = general(client)
    assert channel.guild.me is not None
    assert not channel.permissions_for(channel.guild.me).manage_messages

    server.post_message(GENERAL, BOB, "photo")
    message = await next_seen(client)
    with pytest.raises(discord.Forbidden) as caught:
        await message.delete()
    assert caught.value.code == 50013
    assert server.message(GENERAL, message.id) is not None


async def test_send_edit_history_and_fetch(server: FakeDiscordServer, client: RecordingClient) -> None:
    channel = general(client)
    sent = await channel.send("bonjour", file=discord.File(io.BytesIO(JPEG), filename="a.jpg"))
    assert sent.attachments[0].filename == "a.jpg"
    assert await sent.attachments[0].read() == JPEG
    edited = await sent.edit(content="bonsoir")
    assert edited.content == "bonsoir"
    fetched = await channel.fetch_message(sent.id)
    assert fetched.content == "bonsoir"
    assert [m.id async for m in channel.history(limit=5)] == [sent.id]
    [stored] = server.messages_in(GENERAL)
    assert stored["author"]["id"] == str(BOT)
    assert stored["edited_timestamp"] is not None
    call = await server.wait_for("POST", rf"/channels/{GENERAL}/messages")
    assert call.json["content"] == "bonjour"
    assert call.files[0].data == JPEG


async def test_closed_dms_are_forbidden_with_code_50007(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    server.open_dms(BOB, False)
    bob = await client.fetch_user(BOB)
    with pytest.raises(discord.Forbidden) as caught:
        await bob.send("votre photo a été retirée")
    assert caught.value.code == 50007
    server.open_dms(BOB, True)
    await bob.send("votre photo a été retirée")
    assert [m["content"] for m in server.dm_messages(BOB)] == ["votre photo a été retirée"]


async def test_edit_by_the_author_reaches_on_message_edit(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    posted = server.post_message(GENERAL, BOB, "avant")
    await next_seen(client)
    server.edit_message(
        GENERAL, int(posted["id"]), content="après", attachments=[("b.png", b"png", "image/png")]
    )
    async with asyncio.timeout(5):
        raw = await client.raw_edits.get()
        before, after = await client.edits.get()
    assert raw.message_id == int(posted["id"])
    assert before.content == "avant"
    assert after.content == "après"
    assert [a.filename for a in after.attachments] == ["b.png"]


# -- components, interactions, slash commands ------------------------------------------------------------


class Review(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.clicked_by: list[int] = []

    @discord.ui.button(label="Approuver", custom_id="review:approve:1")
    async def approve(self, interaction: discord.Interaction, button: discord.ui.Button[Review]) -> None:
        self.clicked_by.append(interaction.user.id)
        await interaction.response.send_message("Approuvé", ephemeral=True)

    @discord.ui.button(label="Rejeter", custom_id="review:reject:1")
    async def reject(self, interaction: discord.Interaction, button: discord.ui.Button[Review]) -> None:
        await interaction.response.edit_message(content="Rejeté", view=None)


async def test_button_click_runs_the_view_and_answers_ephemeral(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    view = Review()
    sent = await general(client).send("Photo en quarantaine", view=view)
    interaction = server.click_button(GENERAL, sent.id, ALICE, "review:approve:1")
    await server.wait_for("POST", rf"/interactions/{interaction['id']}/.+/callback")
    assert view.clicked_by == [ALICE]
    response = server.interaction_responses[int(interaction["id"])]
    assert response["type"] == 4
    assert response["data"]["flags"] & 64
    assert response["data"]["content"] == "Approuvé"
    assert [m["content"] for m in server.messages_in(GENERAL)] == ["Photo en quarantaine"]
    with pytest.raises(ValueError, match="no component"):
        server.click_button(GENERAL, sent.id, ALICE, "not-there")


async def test_update_message_interaction_edits_the_component_message(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    sent = await general(client).send("Photo en quarantaine", view=Review())
    interaction = server.click_button(GENERAL, sent.id, ALICE, "review:reject:1")
    await server.wait_for("POST", rf"/interactions/{interaction['id']}/.+/callback")
    stored = server.message(GENERAL, sent.id)
    assert stored is not None
    assert stored["content"] == "Rejeté"
    assert stored["components"] == []


async def test_slash_command_sync_and_invocation(server: FakeDiscordServer, client: RecordingClient) -> None:
    tree = app_commands.CommandTree(client)
    group = app_commands.Group(name="consentguard", description="Modération")
    ran: list[tuple[int, int]] = []

    @group.command(name="queue", description="File de revue")
    async def queue(interaction: discord.Interaction, limit: int = 5) -> None:
        ran.append((interaction.user.id, limit))
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"{limit} éléments", ephemeral=True)

    tree.add_command(group)
    synced = await tree.sync()
    assert [command.name for command in synced] == ["consentguard"]
    assert server.commands()[0]["options"][0]["name"] == "queue"

    interaction = server.slash_command(GUILD, GENERAL, ALICE, "consentguard", "queue", {"limit": 3})
    await server.wait_for("POST", rf"/webhooks/{APP}/.+")
    assert ran == [(ALICE, 3)]
    assert server.interaction_responses[int(interaction["id"])]["type"] == 5
    messages = server.interaction_messages(int(interaction["id"]))
    assert messages[-1]["content"] == "3 éléments"


# -- webhooks and rate limits ----------------------------------------------------------------------------


async def test_webhook_create_and_execute_with_username_and_files(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    channel = general(client)
    webhook = await channel.create_webhook(name="consentguard-repost")
    assert [w.id for w in await channel.webhooks()] == [webhook.id]
    sent = await webhook.send(
        "republié",
        username="Dr Alice",
        files=[discord.File(io.BytesIO(JPEG), filename="image-0.jpg")],
        wait=True,
    )
    assert sent.author.name == "Dr Alice"
    [stored] = server.webhook_messages(GENERAL)
    assert stored["author"]["username"] == "Dr Alice"
    assert stored["attachments"][0]["filename"] == "image-0.jpg"
    await webhook.send("dans le fil", username="Bob", thread=discord.Object(THREAD))
    assert [m["content"] for m in server.webhook_messages(THREAD)] == ["dans le fil"]


async def test_webhooks_need_manage_webhooks(server: FakeDiscordServer, client: RecordingClient) -> None:
    updated = asyncio.ensure_future(client.wait_for("guild_role_update"))
    server.set_bot_permissions(GUILD, manage_messages=True, manage_webhooks=False)
    async with asyncio.timeout(5):
        await updated
    with pytest.raises(discord.Forbidden):
        await general(client).create_webhook(name="x")


async def test_429_makes_discord_py_wait_and_retry(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    server.fail_next("POST", rf"/channels/{GENERAL}/messages", retry_after=0.3)
    sent = await general(client).send("après la limite")
    attempts = server.calls_of("POST", f"/channels/{GENERAL}/messages")
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= 0.3
    assert server.message(GENERAL, sent.id) is not None


async def test_injected_refusal_becomes_a_discord_exception(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    server.fail_next("GET", rf"/channels/{GENERAL}/messages/\d+", 403, code=50001, message="Missing Access")
    with pytest.raises(discord.Forbidden) as caught:
        await general(client).fetch_message(1)
    assert caught.value.code == 50001


async def test_wait_for_times_out_listing_what_came(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    with pytest.raises(TimeoutError, match="users/@me"):
        await server.wait_for("DELETE", r"/channels/.*", timeout=0.05)


# -- gateway details -------------------------------------------------------------------------------------


async def test_members_intent_caches_members_and_chunks(server: FakeDiscordServer) -> None:
    with server.patch_discord():
        bot = RecordingClient(members=True)
        task = await start(server, bot)
        try:
            guild = bot.get_guild(GUILD)
            assert guild is not None
            assert guild.chunked
            member = guild.get_member(BOB)
            assert member is not None
            assert member.name == "bob"
            server.add_member(GUILD, 44, "carol")
            async with asyncio.timeout(5):
                assert (await bot.joined.get()).id == 44
        finally:
            await stop(bot, task)


async def test_dropped_gateway_reconnects_by_identifying_again(server: FakeDiscordServer) -> None:
    with server.patch_discord():
        bot = RecordingClient()
        await bot.login(TOKEN)
        task = asyncio.create_task(bot.connect(reconnect=True))
        try:
            async with asyncio.timeout(5):
                await bot.wait_until_ready()
            await server.kick_gateway(4000)
            # discord.py tries RESUME; the fake invalidates the session and the client identifies afresh.
            await server.wait_until(
                lambda: server.gateway.identifies == 2 and server.connected == 1, timeout=10
            )
            assert any(p["op"] == 6 for p in server.gateway_payloads)
            server.post_message(GENERAL, BOB, "toujours là")
            assert (await next_seen(bot)).content == "toujours là"
        finally:
            await stop(bot, task)


# -- shapes the moderation must not miss: any file, forwards, webhooks, bots, uncached edits, previews -----

MP4 = b"\x00\x00\x00\x18ftypmp42fake-video"


async def test_attachments_of_any_name_and_content_type(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    files = [("clip.mp4", MP4, "video/mp4"), ("IM0001", b"DICM", "application/octet-stream")]
    server.post_message(GENERAL, BOB, "", attachments=files)
    message = await next_seen(client)
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("clip.mp4", "video/mp4"),
        ("IM0001", "application/octet-stream"),
    ]
    assert [await a.read() for a in message.attachments] == [MP4, b"DICM"]


async def test_forward_carries_the_original_in_message_snapshots(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    original = server.post_message(THREAD, ALICE, "cas 12", attachments=[("a.jpg", JPEG, "image/jpeg")])
    await next_seen(client)
    server.forward_message(GENERAL, BOB, THREAD, int(original["id"]))
    message = await next_seen(client)
    assert message.content == ""
    assert message.attachments == []
    assert message.reference is not None
    assert message.reference.type is discord.MessageReferenceType.forward
    assert message.reference.message_id == int(original["id"])
    [snapshot] = message.message_snapshots
    assert snapshot.content == "cas 12"
    assert await snapshot.attachments[0].read() == JPEG


async def test_webhook_post_has_the_webhook_as_bot_author(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    webhook = server.add_webhook(GENERAL, "Pont Matrix", creator_id=ALICE)
    server.post_as_webhook(
        int(webhook["id"]), "relayé", [("a.jpg", JPEG, "image/jpeg")], username="Dr Zoé (Matrix)"
    )
    message = await next_seen(client)
    assert message.webhook_id == int(webhook["id"])
    assert message.author.id == int(webhook["id"])
    assert message.author.bot
    assert message.author.display_name == "Dr Zoé (Matrix)"
    [seen] = [w for w in await general(client).webhooks() if w.id == int(webhook["id"])]
    assert seen.user is not None
    assert seen.user.id == ALICE


async def test_other_bots_post_and_refuse_dms(server: FakeDiscordServer, client: RecordingClient) -> None:
    server.add_bot(GUILD, 77, "imagebot")
    server.post_message(GENERAL, 77, "", attachments=[("a.png", JPEG, "image/png")])
    message = await next_seen(client)
    assert message.author.bot
    user = await client.fetch_user(77)
    with pytest.raises(discord.Forbidden) as refused:
        await user.send("bonjour")
    assert refused.value.code == 50007


async def test_edit_of_a_message_the_client_never_saw_is_a_raw_edit_only(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    posted = server.post_message(GENERAL, BOB, "texte seul", dispatch=False)
    server.edit_message(GENERAL, int(posted["id"]), attachments=[("a.jpg", JPEG, "image/jpeg")])
    async with asyncio.timeout(5):
        raw = await client.raw_edits.get()
    assert raw.cached_message is None
    assert client.edits.empty()
    assert raw.message.content == "texte seul"
    assert await raw.message.attachments[0].read() == JPEG
    fetched = await general(client).fetch_message(int(posted["id"]))
    assert [a.filename for a in fetched.attachments] == ["a.jpg"]


async def test_link_embeds_point_at_the_third_party_site_and_the_media_proxy(
    server: FakeDiscordServer, client: RecordingClient
) -> None:
    posted = server.post_message(GENERAL, BOB, "voir le lien")
    await next_seen(client)
    image = server.link_embed("photo.jpg", JPEG, "image/jpeg")
    video = server.link_embed("clip.mp4", MP4, "video/mp4", kind="video")
    server.add_embeds(GENERAL, int(posted["id"]), [image, video])
    async with asyncio.timeout(5):
        raw = await client.raw_edits.get()
    first, second = raw.message.embeds
    assert first.thumbnail.url is not None
    assert first.thumbnail.proxy_url is not None
    assert first.thumbnail.url.startswith("http://127.0.0.2:")
    assert first.thumbnail.proxy_url.startswith(f"{server.url}/external/")
    assert second.video.proxy_url is not None
    assert await client.http.get_from_cdn(first.thumbnail.proxy_url) == JPEG
    assert await client.http.get_from_cdn(second.video.proxy_url) == MP4
    assert server.third_party_requests == []  # the proxy serves its copy without asking the site
    async with aiohttp.ClientSession() as session, session.get(first.thumbnail.url) as response:
        assert await response.read() == JPEG
    assert len(server.third_party_requests) == 1
    unproxied = server.link_embed("b.jpg", JPEG, "image/jpeg", proxied=False)
    assert unproxied["thumbnail"]["proxy_url"] == unproxied["thumbnail"]["url"]
