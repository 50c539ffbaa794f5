"""The console over HTTP (httpx's ASGI transport): links, sessions, CSRF, scope, queue, audited actions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.consent.model import ChatRef
from bot.console import LoginLinks
from bot.console.web import COOKIE
from tests.console.helpers import (
    GROUP_A,
    GROUP_B,
    ORIGINAL,
    PREVIEW,
    Console,
    csrf_of,
    open_console,
    path_of,
)
from tests.fakes.settings import make_settings


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
    """Open ``link``; returns the CSRF token of the session it opened."""
    response = await client.get(path_of(link))
    assert response.status_code == 200
    home = await client.get("/")
    assert home.status_code == 200
    return csrf_of(home.text)


# -- links and sessions ---------------------------------------------------------------------------------


async def test_link_opens_a_session_with_a_strict_httponly_cookie(
    console: Console, client: httpx.AsyncClient
) -> None:
    link = console.links.issue_operator_link()
    assert link.startswith("http://console.test/login/")
    response = await client.get(path_of(link))
    assert response.status_code == 200
    assert 'http-equiv="refresh" content="0;url=/"' in response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    assert "secure" not in attributes  # the public URL is plain http here
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert (await client.get("/")).status_code == 200


async def test_cookie_is_secure_behind_an_https_public_url(tmp_path: Path) -> None:
    with open_console(tmp_path / "data", public_url="https://console.example") as console:
        transport = httpx.ASGITransport(app=console.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
            response = await http.get(path_of(console.links.issue_operator_link()))
    assert "secure" in {part.strip().lower() for part in response.headers["set-cookie"].split(";")}


async def test_a_link_opens_one_session_only(console: Console, client: httpx.AsyncClient) -> None:
    link = console.links.issue_operator_link()
    assert (await client.get(path_of(link))).status_code == 200
    again = await client.get(path_of(link))
    assert again.status_code == 410
    assert "déjà servi" in again.text
    assert "set-cookie" not in again.headers


async def test_an_expired_link_is_refused(console: Console, client: httpx.AsyncClient) -> None:
    link = console.links.issue_operator_link()
    console.clock.advance(minutes=10, seconds=1)
    response = await client.get(path_of(link) + "?lang=en")
    assert response.status_code == 410
    assert "expired" in response.text
    assert "set-cookie" not in response.headers


async def test_an_unknown_link_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/login/" + "A" * 43)
    assert response.status_code == 404
    assert "inconnu" in response.text


def test_links_are_stored_hashed_and_valid_ten_minutes_at_most(tmp_path: Path, console: Console) -> None:
    link = console.links.issue_operator_link()
    secret = link.rsplit("/", 1)[1]
    database = (tmp_path / "data" / "consentguard.db").read_bytes()
    assert secret.encode() not in database
    with pytest.raises(ValueError, match="less than or equal to 10"):
        make_settings(data_dir=tmp_path, console={"link_minutes": 11})
    with pytest.raises(ValueError, match="10 minutes at most"):
        LoginLinks(console.links._auth, "http://x", timedelta(minutes=11))


async def test_no_session_no_page(client: httpx.AsyncClient) -> None:
    assert (await client.get("/")).status_code == 401
    client.cookies.set(COOKIE, "B" * 43)
    assert (await client.get("/")).status_code == 401


async def test_an_idle_session_ends(console: Console, client: httpx.AsyncClient) -> None:
    await _login(client, console.links.issue_operator_link())
    console.clock.advance(minutes=29)
    assert (await client.get("/")).status_code == 200  # activity moves the idle deadline
    console.clock.advance(minutes=29)
    assert (await client.get("/")).status_code == 200
    console.clock.advance(minutes=30, seconds=1)
    ended = await client.get("/")
    assert ended.status_code == 401


async def test_logout_needs_csrf_and_ends_the_session(console: Console, client: httpx.AsyncClient) -> None:
    csrf = await _login(client, console.links.issue_operator_link())
    assert (await client.post("/logout")).status_code == 403
    assert (await client.get("/")).status_code == 200
    response = await client.post("/logout", data={"csrf": csrf})
    assert response.status_code == 200
    assert (await client.get("/")).status_code == 401


# -- the queue and previews -----------------------------------------------------------------------------


async def test_queue_newest_first_with_kinds_and_age(console: Console, client: httpx.AsyncClient) -> None:
    older = console.put(GROUP_A, "1", kinds=("face", "barcode"))
    console.clock.advance(hours=2)
    newer = console.put(GROUP_A, "2", images=2, kinds=("identifier:person_name",))
    console.clock.advance(hours=1)
    await _login(client, console.links.issue_operator_link())
    home = await client.get("/")
    assert f'href="/groups/{GROUP_A}"' in home.text
    page = await client.get(f"/groups/{GROUP_A}?lang=en")
    assert page.status_code == 200
    assert page.text.count('data-testid="queue-item"') == 2
    assert page.text.index(newer) < page.text.index(older)
    assert "3 h / 7 days" in page.text
    assert "1 h / 7 days" in page.text
    assert "barcode, face" in page.text
    assert page.text.count('data-testid="preview"') == 3
    assert "Josephine" not in page.text  # never the caption
    # The language sticks to the session.
    assert 'lang="en"' in (await client.get("/")).text


async def test_previews_are_deidentified_or_a_placeholder_never_the_original(
    console: Console, client: httpx.AsyncClient
) -> None:
    item = console.put(GROUP_A, "1")
    await _login(client, console.links.issue_operator_link())
    response = await client.get(f"/items/{item}/preview/0")
    assert response.status_code == 200
    assert response.content == PREVIEW
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    assert console.previewer.seen == [ORIGINAL + b"\x00"]
    console.previewer.result = None
    placeholder = await client.get(f"/items/{item}/preview/0")
    assert placeholder.headers["content-type"] == "image/png"
    assert ORIGINAL not in placeholder.content
    assert (await client.get(f"/items/{item}/preview/1")).status_code == 404


# -- CSRF -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["reveal", "reject", "approve"])
async def test_a_post_without_the_right_csrf_token_is_refused(
    console: Console, client: httpx.AsyncClient, action: str
) -> None:
    item = console.put(GROUP_A, "1")
    await _login(client, console.links.issue_operator_link())
    for data in ({"reason": "identifying"}, {"reason": "identifying", "csrf": "forged"}):
        response = await client.post(f"/items/{item}/{action}", data=data)
        assert response.status_code == 403
    assert console.audit() == []
    assert console.storage.quarantine.get(item).status.value == "pending"


# -- scope ----------------------------------------------------------------------------------------------


async def test_a_moderator_of_one_group_cannot_see_or_act_on_another(
    console: Console, client: httpx.AsyncClient
) -> None:
    mine = console.put(GROUP_A, "1")
    theirs = console.put(GROUP_B, "2")
    csrf = await _login(client, console.moderator_link(GROUP_A))
    home = await client.get("/")
    assert str(GROUP_A) in home.text
    assert str(GROUP_B) not in home.text
    assert (await client.get(f"/groups/{GROUP_A}")).status_code == 200
    assert (await client.get(f"/groups/{GROUP_B}")).status_code == 404
    assert (await client.get(f"/items/{theirs}/preview/0")).status_code == 404
    for action in ("reveal", "reject"):
        refused = await client.post(f"/items/{theirs}/{action}", data={"csrf": csrf, "reason": "other"})
        assert refused.status_code == 404
    bulk = {"csrf": csrf, "action": "reject", "reason": "other", "item": [theirs], "chat": str(GROUP_B)}
    await client.post("/bulk", data=bulk)
    assert console.storage.quarantine.get(theirs).status.value == "pending"
    assert console.storage.quarantine.get(mine).status.value == "pending"
    assert console.audit() == []


async def test_the_moderator_check_is_asked_at_every_request(
    console: Console, client: httpx.AsyncClient
) -> None:
    item = console.put(GROUP_A, "1")
    await _login(client, console.moderator_link(GROUP_A))
    assert (await client.get(f"/items/{item}/preview/0")).status_code == 200
    console.check.answer = False  # no longer a moderator there
    assert (await client.get(f"/groups/{GROUP_A}")).status_code == 404
    assert (await client.get(f"/items/{item}/preview/0")).status_code == 404
    assert console.check.asked >= 3


# -- reveal, reject, approve ----------------------------------------------------------------------------


async def test_reveal_is_audited_and_originals_follow_it_only(
    console: Console, client: httpx.AsyncClient
) -> None:
    item = console.put(GROUP_A, "1", images=2)
    csrf = await _login(client, console.moderator_link(GROUP_A))
    assert (await client.get(f"/items/{item}/original/0")).status_code == 404  # not revealed yet
    page = await client.post(f"/items/{item}/reveal", data={"csrf": csrf})
    assert page.status_code == 200
    assert page.text.count('data-testid="original"') == 2
    original = await client.get(f"/items/{item}/original/1")
    assert original.content == ORIGINAL + b"\x01"
    assert original.headers["cache-control"] == "no-store"
    [event] = console.audit()
    assert event["decision"] == "revealed"
    assert event["moderator"]
    assert event["moderator"] != "telegram:777"
    console.clock.advance(minutes=6)
    assert (await client.get(f"/items/{item}/original/1")).status_code == 404


async def test_reject_needs_a_reason_and_is_audited(console: Console, client: httpx.AsyncClient) -> None:
    item = console.put(GROUP_A, "1")
    csrf = await _login(client, console.moderator_link(GROUP_A))
    missing = await client.post(f"/items/{item}/reject", data={"csrf": csrf, "reason": ""})
    assert missing.status_code == 400
    done = await client.post(f"/items/{item}/reject", data={"csrf": csrf, "reason": "identifying"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/groups/{GROUP_A}?done=rejected"
    assert console.storage.quarantine.get(item).status.value == "rejected"
    [event] = console.audit()
    assert (event["decision"], event["reason"]) == ("rejected", "moderator-rejected:identifying")
    again = await client.post(f"/items/{item}/reject", data={"csrf": csrf, "reason": "identifying"})
    assert again.status_code == 404  # no longer pending


async def test_a_rejection_note_is_kept_sealed_for_the_retention_and_never_audited(
    console: Console, client: httpx.AsyncClient
) -> None:
    item = console.put(GROUP_A, "1")
    csrf = await _login(client, console.moderator_link(GROUP_A))
    too_long = {"csrf": csrf, "reason": "other", "note": "x" * 501}
    assert (await client.post(f"/items/{item}/reject", data=too_long)).status_code == 400
    note = "Nom de Mme Exemplaire lisible sur le bracelet"
    form = {"csrf": csrf, "reason": "identifying", "note": note}
    assert (await client.post(f"/items/{item}/reject", data=form)).status_code == 303
    assert note not in str(console.audit())  # never in the pseudonymised, exported log
    with console.storage.database.engine.connect() as connection:
        sealed = connection.exec_driver_sql("SELECT sealed_note FROM quarantine_items").scalar_one()
    assert note.encode() not in sealed  # sealed at rest
    history = await client.get(f"/groups/{GROUP_A}/history")
    assert note in history.text  # the group's moderators read it in the history
    console.clock.advance(days=7, seconds=1)  # the item's retention is over
    console.storage.quarantine.purge_expired()
    assert console.storage.quarantine.notes(GROUP_A, ["1"]) == {}
    with console.storage.database.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT sealed_note FROM quarantine_items").scalar_one() is None
    await _login(client, console.moderator_link(GROUP_A))  # the old session has long been idle
    later = await client.get(f"/groups/{GROUP_A}/history")
    assert later.status_code == 200
    assert "moderator-rejected:identifying" in later.text
    assert note not in later.text


async def test_standalone_console_refuses_to_approve(console: Console, client: httpx.AsyncClient) -> None:
    item = console.put(GROUP_A, "1")
    csrf = await _login(client, console.links.issue_operator_link())
    response = await client.post(f"/items/{item}/approve", data={"csrf": csrf})
    assert response.status_code == 409
    assert "consentguard run" in response.text
    assert console.storage.quarantine.get(item).status.value == "pending"
    assert console.audit() == []


async def test_approve_reposts_through_the_port_and_is_audited(tmp_path: Path) -> None:
    with open_console(tmp_path / "data", with_reposter=True) as console:
        item = console.put(GROUP_A, "1")
        transport = httpx.ASGITransport(app=console.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
            csrf = await _login(http, console.moderator_link(GROUP_A))
            response = await http.post(f"/items/{item}/approve", data={"csrf": csrf})
        assert response.status_code == 303
        assert console.reposter is not None
        [approved] = console.reposter.reposted
        assert approved.item_id == item
        assert approved.images[0][1] == ORIGINAL + b"\x00"
        assert [event["decision"] for event in console.audit()] == ["approved"]


async def test_a_repost_that_fails_leaves_the_item_held(tmp_path: Path) -> None:
    with open_console(tmp_path / "data", with_reposter=True) as console:
        item = console.put(GROUP_A, "1")
        assert console.reposter is not None
        console.reposter.failure = RuntimeError("the platform said no")
        transport = httpx.ASGITransport(app=console.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
            csrf = await _login(http, console.moderator_link(GROUP_A))
            response = await http.post(f"/items/{item}/approve", data={"csrf": csrf})
        assert response.status_code == 502
        assert "reste en quarantaine" in response.text
        assert console.storage.quarantine.get(item).status.value == "pending"
        assert console.storage.quarantine.images(item)[0][1] == ORIGINAL + b"\x00"
        assert console.audit() == []


async def test_an_item_no_running_platform_can_repost_is_not_approved(tmp_path: Path) -> None:
    # Approving purges the held copy: an item whose platform this bot does not run stays pending.
    discord_group = ChatRef("discord", "42/43")
    with open_console(tmp_path / "data", with_reposter=True) as console:
        item = console.put(discord_group, "1")
        transport = httpx.ASGITransport(app=console.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as http:
            csrf = await _login(http, console.links.issue_operator_link())
            response = await http.post(f"/items/{item}/approve", data={"csrf": csrf})
        assert response.status_code == 409
        assert console.reposter is not None
        assert console.reposter.reposted == []
        assert console.storage.quarantine.get(item).status.value == "pending"
        assert console.audit() == []


async def test_bulk_reject(console: Console, client: httpx.AsyncClient) -> None:
    items = [console.put(GROUP_A, str(n)) for n in range(3)]
    csrf = await _login(client, console.links.issue_operator_link())
    data = {"csrf": csrf, "action": "reject", "reason": "no-consent", "item": items[:2], "chat": str(GROUP_A)}
    response = await client.post("/bulk", data=data)
    assert response.status_code == 303
    statuses = [console.storage.quarantine.get(item).status.value for item in items]
    assert statuses == ["rejected", "rejected", "pending"]
    assert [event["decision"] for event in console.audit()] == ["rejected", "rejected"]
