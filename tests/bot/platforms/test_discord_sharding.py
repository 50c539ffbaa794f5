"""Discord sharding: the real discord.py AutoShardedClient against a fake Discord that recommends 2 shards.

Guild ``g`` lives on shard ``(g >> 22) % 2``: the guild ids below are chosen one per shard. The fake sends
each shard's READY, GUILD_CREATEs and messages on that shard's connection only, so a post judged in both
guilds means both connections were opened and read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bootstrap import Overrides, open_core
from bot.consent.model import ChatRef
from bot.errors import ConfigurationError
from bot.platforms.discord import DiscordFrontend
from bot.platforms.discord.sharding import IdentifyPacer, check_shards
from bot.sandbox.fake_discord import FakeDiscordServer
from config.settings import DiscordSettings
from tests.fakes.platform import FakeConsentLookup, StubScanner
from tests.fakes.settings import make_settings

TOKEN = "fake-token"  # noqa: S105
BOT, APP = 900, 901
SHARD0_GUILD, SHARD1_GUILD = 2 << 22, 3 << 22  # (g >> 22) % 2: shard 0, shard 1
SHARD0_CASES, SHARD1_CASES = 10, 20
CASES = (SHARD0_CASES, SHARD1_CASES)
OWNER, ALICE = 41, 42
GROUPS = [ChatRef("discord", str(SHARD0_CASES)), ChatRef("discord", str(SHARD1_CASES))]


@pytest.fixture
async def server() -> AsyncIterator[FakeDiscordServer]:
    # max_concurrency=2: both shards may identify at once, so the client has no 5 s pause to make.
    async with FakeDiscordServer(BOT, APP, TOKEN, shards=2, max_concurrency=2) as fake:
        for guild, cases in ((SHARD0_GUILD, SHARD0_CASES), (SHARD1_GUILD, SHARD1_CASES)):
            fake.add_guild(guild, f"guild {guild}", owner_id=OWNER)
            fake.add_channel(guild, cases, "cas-cliniques")
            fake.add_member(guild, ALICE, "alice", display_name="Dr Alice")
        with fake.patch_discord():
            yield fake


@contextlib.asynccontextmanager
async def running(client: DiscordFrontend, data_dir: Path) -> AsyncIterator[DiscordFrontend]:
    """The client wired to a real core (stub detection, fake consent), connected until the block ends."""
    async with open_core(
        make_settings(data_dir=data_dir),
        platforms={"discord": client.platform},
        overrides=Overrides(scanner=StubScanner(), consent=FakeConsentLookup()),
    ) as core:
        client.attach(core.moderator, core.review, GROUPS)
        await client.login(TOKEN)
        task = asyncio.create_task(client.connect(reconnect=False))
        try:
            async with asyncio.timeout(10):
                await client.wait_until_ready()
            yield client
        finally:
            await client.idle()
            await client.close()
            await asyncio.wait_for(task, timeout=10)


def shards_identified(server: FakeDiscordServer) -> list[list[int]]:
    return sorted(payload["shard"] for payload in server.identify_payloads)


async def test_recommended_shards_each_get_their_guilds_and_posts_are_judged_on_both(
    server: FakeDiscordServer, tmp_path: Path
) -> None:
    async with running(DiscordFrontend(guild_ready_timeout=0.1), tmp_path / "data") as client:
        assert shards_identified(server) == [[0, 2], [1, 2]]
        assert server.connected == 2
        assert client.shard_count == 2
        assert sorted(client.shards) == [0, 1]
        assert client.is_ready()
        for guild_id, shard_id in ((SHARD0_GUILD, 0), (SHARD1_GUILD, 1)):
            guild = client.get_guild(guild_id)
            assert guild is not None
            assert guild.shard_id == shard_id

        photo = [("selfie.jpg", b"FACE-1", "image/jpeg")]
        removed = {(cases, int(server.post_message(cases, ALICE, "avis ?", photo)["id"])) for cases in CASES}
        await server.wait_until(lambda: removed <= server.deleted)


async def test_a_process_with_some_of_the_shards_opens_only_those(
    server: FakeDiscordServer, tmp_path: Path
) -> None:
    frontend = DiscordFrontend(shard_count=2, shard_ids=[1], guild_ready_timeout=0.1)
    async with running(frontend, tmp_path / "data") as client:
        assert shards_identified(server) == [[1, 2]]
        assert sorted(client.shards) == [1]
        # The other guild is another process's: it never reaches this one.
        assert client.get_guild(SHARD0_GUILD) is None
        assert client.get_guild(SHARD1_GUILD) is not None
        post = server.post_message(SHARD1_CASES, ALICE, "", [("a.jpg", b"FACE-1", "image/jpeg")])
        await server.wait_until(lambda: (SHARD1_CASES, int(post["id"])) in server.deleted)


# -- configuration and pacing, without a server --------------------------------------------------------


@pytest.mark.parametrize(
    ("shard_count", "shard_ids"),
    [(None, [0]), (2, []), (2, [0, 0]), (2, [2]), (2, [-1]), (0, None)],
)
def test_shard_sets_discord_would_refuse_fail_at_start_up(
    shard_count: int | None, shard_ids: list[int] | None
) -> None:
    with pytest.raises(ConfigurationError):
        check_shards(shard_count, shard_ids)


def test_shard_settings_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSENTGUARD_DISCORD__SHARD_COUNT", "4")
    monkeypatch.setenv("CONSENTGUARD_DISCORD__SHARD_IDS", "[2, 3]")
    from config.settings import Settings

    discord = Settings(_env_file=None).discord  # type: ignore[call-arg]
    assert (discord.shard_count, discord.shard_ids) == (4, [2, 3])
    assert (DiscordSettings().shard_count, DiscordSettings().shard_ids) == (None, None)


async def test_identifies_wait_only_for_their_own_bucket() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = IdentifyPacer(2, clock=lambda: now[0], sleep=sleep)
    await pacer.wait(0)
    await pacer.wait(1)  # another bucket: at once
    assert slept == []
    now[0] += 1.0
    await pacer.wait(2)  # bucket 0 again, 1 s after shard 0: the rest of the 5 s
    assert slept == [4.0]
    await pacer.wait(3)  # bucket 1, 5 s after shard 1 by now
    assert slept == [4.0]
