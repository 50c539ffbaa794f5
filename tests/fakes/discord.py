"""The fake Discord server (REST + gateway), re-exported where the tests look for their fakes, and the
frontend the end-to-end suites drive against it."""

from bot.platforms.discord import DiscordFrontend
from bot.sandbox.fake_discord import Call, FakeDiscordServer, UploadedFile

__all__ = ["Call", "FakeDiscordServer", "QuietFrontend", "UploadedFile"]


class QuietFrontend(DiscordFrontend):
    """The real frontend without discord.py's 5 s pause between identifies (the fake has no such limit)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None
