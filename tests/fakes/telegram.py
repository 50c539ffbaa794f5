"""The fake Telegram Bot API server, re-exported where the tests look for their fakes."""

from bot.sandbox.fake_telegram import Call, FakeTelegramServer, UploadedFile

__all__ = ["Call", "FakeTelegramServer", "UploadedFile"]
