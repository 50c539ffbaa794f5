"""The console as ``consentguard run`` serves it, over the running Telegram bot: real python-telegram-bot
against the fake Bot API server; the console app is built by the same bootstrap function over the running
core and called through httpx's ASGI transport (the uvicorn serving is in tests/bot/test_runner.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.bootstrap import running_console_app
from bot.consent.model import UserRef
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.storage.audit import pseudonym
from tests.bot.platforms.telegram_harness import ALICE, GROUP, GROUP_ID, MOD, Bot, start_bot, stop_bot
from tests.console.helpers import FakePreviewer, csrf_of, path_of
from tests.fakes.settings import make_settings

LINK = re.compile(r"https?://\S+/login/\S+")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as fake:
        fake.add_group(GROUP_ID, "Dermato avis")
        fake.add_user(ALICE, "Alice", started_bot=True)
        fake.add_user(MOD, "Modé", started_bot=True)
        fake.set_admin(GROUP_ID, MOD)
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer, tmp_path: Path) -> AsyncIterator[Bot]:
    running = await start_bot(server, tmp_path / "data", f'[groups."{GROUP}"]\n', revocation_poll_s=3600)
    yield running
    await stop_bot(running)


@pytest.fixture
async def console(bot: Bot, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(data_dir=tmp_path / "data", policy_file=tmp_path / "data-policy.toml")
    app = running_console_app(settings, bot.core, telegram=bot.frontend.platform, previewer=FakePreviewer())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
        yield http


def to(chat_id: int) -> Any:
    return lambda call: int(call.params.get("chat_id", 0)) == chat_id


async def quarantined(bot: Bot) -> tuple[dict[str, Any], str]:
    """Alice posts a slide with text and no consent: held for review; her message and the item id."""
    message = bot.server.post_photo(GROUP_ID, ALICE, b"SLIDE-fig3", caption="Figure 3")
    notice = await bot.server.wait_for("sendMessage", lambda c: "reply_markup" in c.params)
    data = str(notice.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    return message, data.split(":", 2)[2]


async def console_link(bot: Bot) -> str:
    """MOD asks /console in private; the one-time link he is sent."""
    bot.server.command(MOD, MOD, "/console")

    def links() -> list[str]:
        texts = (str(m.get("text", "")) for m in bot.server.private_messages(MOD))
        return [match.group(0) for text in texts for match in LINK.finditer(text)]

    await bot.server.wait_until(lambda: bool(links()))
    return links()[-1]


async def login(http: httpx.AsyncClient, link: str) -> str:
    assert (await http.get(path_of(link))).status_code == 200
    home = await http.get("/")
    assert home.status_code == 200
    return csrf_of(home.text)


async def test_approve_in_the_console_reposts_through_the_running_bot(
    bot: Bot, console: httpx.AsyncClient
) -> None:
    message, item = await quarantined(bot)
    csrf = await login(console, await console_link(bot))
    page = await console.get(f"/groups/{GROUP}")
    assert page.status_code == 200
    assert item in page.text

    response = await console.post(f"/items/{item}/approve", data={"csrf": csrf})

    assert response.status_code == 303
    repost = await bot.server.wait_for("sendPhoto", to(GROUP_ID))
    assert repost.params["photo"].data == b"SLIDE-fig3"
    assert "Alice" in repost.params["caption"]
    assert bot.core.storage.quarantine.pending(GROUP) == []
    moderator = pseudonym(bot.core.storage.pseudonym_key, UserRef("telegram", str(MOD)))
    decisions = [(e["decision"], e["moderator"]) for e in bot.audit(message) if e["decision"]]
    assert decisions == [("approved", moderator)]
    # Decided: the same approve again finds nothing to act on.
    again = await console.post(f"/items/{item}/approve", data={"csrf": csrf})
    assert again.status_code == 404
    assert len(bot.server.calls_of("sendPhoto")) == 1


async def test_a_moderator_demoted_after_the_link_was_issued_is_refused_at_the_next_request(
    bot: Bot, console: httpx.AsyncClient
) -> None:
    _, item = await quarantined(bot)
    csrf = await login(console, await console_link(bot))
    assert (await console.get(f"/groups/{GROUP}")).status_code == 200

    bot.server.state.group(GROUP_ID).admins.pop(MOD)  # Telegram: no longer an administrator

    assert (await console.get(f"/groups/{GROUP}")).status_code in (403, 404)
    refused = await console.post(f"/items/{item}/approve", data={"csrf": csrf})
    assert refused.status_code in (403, 404)
    assert not bot.server.calls_of("sendPhoto")
    assert len(bot.core.storage.quarantine.pending(GROUP)) == 1


async def test_a_settings_change_in_the_console_is_in_force_for_the_next_post(
    bot: Bot, console: httpx.AsyncClient
) -> None:
    before = bot.server.post_photo(GROUP_ID, ALICE, b"CLEAN-before")
    await bot.server.wait_until(lambda: bool(bot.audit(before)))
    assert bot.audit(before)[0]["verdict"] == "quarantine"  # strict: every image needs a consent
    csrf = await login(console, await console_link(bot))
    form = {
        "csrf": csrf,
        "mode": "identifying-only",
        "identifying_action": "delete",
        "retention_days": "7",
        "language": "fr",
        "review_chat": "",
        "moderators": "",
    }
    saved = await console.post(f"/groups/{GROUP}/settings", data=form)
    assert saved.status_code == 303

    after = bot.server.post_photo(GROUP_ID, ALICE, b"CLEAN-after")
    await bot.server.wait_until(lambda: bool(bot.audit(after)))
    assert bot.audit(after)[0]["verdict"] == "allow"  # in force at once: no poll in between
    assert bot.core.storage.group_settings.load()[str(GROUP)].mode.value == "identifying-only"
