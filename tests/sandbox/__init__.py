"""Tests of the offline sandbox (the fake Telegram server)."""
