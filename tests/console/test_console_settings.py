"""A group's settings in the console: shown as in force, changed (checked, stored, audited) or refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.consent.model import UserRef
from bot.core.policy import Mode
from bot.domain import Verdict
from tests.console.helpers import GROUP_A, GROUP_B, MODERATOR, Console, csrf_of, open_console, path_of


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with open_console(tmp_path / "data") as opened:
        yield opened


@pytest.fixture
async def client(console: Console) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=console.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
        yield http


async def _login(client: httpx.AsyncClient, link: str) -> str:
    assert (await client.get(path_of(link))).status_code == 200
    home = await client.get("/")
    return csrf_of(home.text)


def _form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf": csrf,
        "mode": "strict",
        "identifying_action": "delete",
        "retention_days": "7",
        "language": "fr",
        "review_chat": "",
        "moderators": "",
    }
    form.update(changes)
    return form


async def test_the_page_shows_the_settings_in_force(console: Console, client: httpx.AsyncClient) -> None:
    await _login(client, console.moderator_link(GROUP_A))
    page = await client.get(f"/groups/{GROUP_A}/settings")
    assert page.status_code == 200
    assert 'data-testid="mode-strict" checked' in page.text
    assert 'value="7" data-testid="retention-days"' in page.text
    assert "Réglages du groupe" in page.text
    english = await client.get(f"/groups/{GROUP_A}/settings?lang=en")
    assert "Group settings" in english.text


async def test_a_change_is_stored_audited_and_in_force(console: Console, client: httpx.AsyncClient) -> None:
    csrf = await _login(client, console.moderator_link(GROUP_A))
    form = _form(
        csrf,
        mode="identifying-only",
        identifying_action="quarantine",
        retention_days="14",
        language="en",
        review_chat="telegram:-100999",
        moderators=f"{MODERATOR}\ntelegram:888\n",
    )
    response = await client.post(f"/groups/{GROUP_A}/settings", data=form)

    assert response.status_code == 303
    assert response.headers["location"] == f"/groups/{GROUP_A}/settings?done=saved"
    stored = console.storage.group_settings.load()[str(GROUP_A)]
    assert stored.mode is Mode.IDENTIFYING_ONLY
    assert stored.identifying_action is Verdict.QUARANTINE
    assert stored.retention == timedelta(days=14)
    assert stored.language == "en"
    assert str(stored.review_chat) == "telegram:-100999"
    assert stored.moderators == (MODERATOR, UserRef("telegram", "888"))
    [event] = console.audit()
    assert event["decision"] == "policy-changed"
    # Six keys: too long for the values too, so the keys alone (in the schema's order).
    assert event["reason"] == (
        "moderator-policy-changed:mode,identifying_action,language,retention_days,review_chat,moderators"
    )
    # People and chats by key only.
    assert "888" not in str(event)
    assert "-100999" not in event["reason"]
    page = await client.get(response.headers["location"])
    assert 'data-testid="mode-identifying-only" checked' in page.text
    assert 'data-testid="message"' in page.text
    # The same form again changes nothing: nothing stored again, nothing audited.
    again = await client.post(f"/groups/{GROUP_A}/settings", data=form)
    assert again.headers["location"].endswith("done=unchanged")
    assert len(console.audit()) == 1
    # One key: audited with its new value.
    await client.post(f"/groups/{GROUP_A}/settings", data={**form, "retention_days": "30"})
    assert console.audit()[-1]["reason"] == "moderator-policy-changed:retention_days=30"


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("retention_days", "0", "retention_days"),
        ("retention_days", "999", "retention_days"),
        ("retention_days", "sept", "retention_days"),
        ("mode", "lenient", "mode"),
        ("review_chat", "not a chat", "review_chat"),
        ("moderators", "777", "moderators"),
    ],
)
async def test_a_bad_value_is_refused_naming_the_setting(
    console: Console, client: httpx.AsyncClient, field: str, value: str, key: str
) -> None:
    csrf = await _login(client, console.moderator_link(GROUP_A))
    response = await client.post(f"/groups/{GROUP_A}/settings", data=_form(csrf, **{field: value}))
    assert response.status_code == 400
    assert 'data-testid="settings-error"' in response.text
    assert key in response.text
    assert console.storage.group_settings.load() == {}
    assert console.audit() == []


async def test_a_moderator_cannot_drop_themselves_from_the_list(
    console: Console, client: httpx.AsyncClient
) -> None:
    csrf = await _login(client, console.moderator_link(GROUP_A))
    response = await client.post(f"/groups/{GROUP_A}/settings", data=_form(csrf, moderators="telegram:888"))
    assert response.status_code == 400
    assert console.storage.group_settings.load() == {}


async def test_the_operator_may_set_any_list_and_still_sees_the_group(
    console: Console, client: httpx.AsyncClient
) -> None:
    item = console.put(GROUP_A, "1")
    csrf = await _login(client, console.links.issue_operator_link())
    response = await client.post(f"/groups/{GROUP_A}/settings", data=_form(csrf, moderators="telegram:888"))
    assert response.status_code == 303
    queue = await client.get(f"/groups/{GROUP_A}")  # a list that does not name the operator: still served
    assert queue.status_code == 200
    assert item in queue.text


async def test_settings_need_the_csrf_token_and_the_group(
    console: Console, client: httpx.AsyncClient
) -> None:
    csrf = await _login(client, console.moderator_link(GROUP_A))
    forged = await client.post(f"/groups/{GROUP_A}/settings", data=_form("forged", mode="monitor"))
    assert forged.status_code == 403
    assert (await client.get(f"/groups/{GROUP_B}/settings")).status_code == 404
    other = await client.post(f"/groups/{GROUP_B}/settings", data=_form(csrf, mode="monitor"))
    assert other.status_code == 404
    console.check.answer = False  # no longer a moderator of GROUP_A either
    demoted = await client.post(f"/groups/{GROUP_A}/settings", data=_form(csrf, mode="monitor"))
    assert demoted.status_code == 404
    assert console.storage.group_settings.load() == {}
    assert console.audit() == []
