"""The whole consent loop with the reference registry in-process, on the fake Telegram server:

/consent in private -> the form link -> the patient signs the form (over HTTP, as a phone would) -> the bot
sends the token -> a post quoting it is allowed -> /withdraw -> the revocation follower takes it down.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.fake_telegram import FakeTelegramServer
from tests.bot.platforms.telegram_harness import ALICE, GROUP_ID, MOD, start_bot, stop_bot

_URL = re.compile(r"https?://\S+/consent/\S+")
_TOKEN = re.compile(r"#consent (CG-[0-9A-Z-]+)")
_CSRF = re.compile(r'name="csrf"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf"')


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(MOD, "Modé", started_bot=True)
        fake.set_admin(GROUP_ID, MOD)
        yield fake


def said_to(server: FakeTelegramServer, user_id: int) -> str:
    return "\n".join(str(m.get("text", "")) for m in server.private_messages(user_id))


async def sign(url: str) -> None:
    """The patient fills in and signs the form on the clinician's phone."""
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as browser:
        page = await browser.get(url)
        assert page.status_code == 200
        found = _CSRF.search(page.text)
        assert found is not None, "the form carries a CSRF field"
        fields = {
            "csrf": html.unescape(found.group(1) or found.group(2)),
            "purposes": "advice",
            "days": "30",
            "max_images": "1",
            "signer": "patient",
            "patient_name": "Jeanne Patiente",
            "typed_signature": "Jeanne Patiente",
            "agree": "yes",
        }
        signed = await browser.post(url, data=fields)
        assert signed.status_code == 303, signed.text[:300]


async def test_capture_post_withdraw_takedown(server: FakeTelegramServer, tmp_path: Path) -> None:
    bot = await start_bot(server, tmp_path / "data", real_registry=True, revocation_poll_s=3600)
    try:
        server.command(ALICE, ALICE, "/consent")
        await server.wait_until(lambda: _URL.search(said_to(server, ALICE)) is not None, timeout=20)
        url = _URL.search(said_to(server, ALICE))
        assert url is not None
        await sign(url.group(0))
        await server.wait_until(lambda: _TOKEN.search(said_to(server, ALICE)) is not None, timeout=20)
        token_found = _TOKEN.search(said_to(server, ALICE))
        assert token_found is not None
        token = token_found.group(1)

        message = server.post_photo(GROUP_ID, ALICE, b"FACE-wound", caption=f"#consent {token}")
        await bot.settle()
        assert bot.audit(message)[-1]["verdict"] == "allow"

        server.command(ALICE, ALICE, f"/withdraw {token}")
        await server.wait_until(lambda: "Consentement retiré" in said_to(server, ALICE), timeout=20)
        assert await bot.core.takedown.poll_once() == 1
        assert (GROUP_ID, message["message_id"]) in server.deleted
    finally:
        await stop_bot(bot)
