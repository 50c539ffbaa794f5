"""The fake Discord server (REST + gateway), re-exported where the tests look for their fakes."""

from bot.sandbox.fake_discord import Call, FakeDiscordServer, UploadedFile

__all__ = ["Call", "FakeDiscordServer", "UploadedFile"]
