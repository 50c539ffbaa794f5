"""Offline sandbox: a fake Telegram Bot API server for end-to-end tests and the demo."""

from bot.sandbox.fake_telegram import Call, FakeTelegramServer, UploadedFile

__all__ = ["Call", "FakeTelegramServer", "UploadedFile"]
