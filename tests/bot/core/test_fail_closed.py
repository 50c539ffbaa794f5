"""Every fault fails closed: whatever breaks while a post is handled, the post does not stay up.

One test per fault, through the real pipeline and real storage (SQLite), with the recording platform.
"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.consent.token import ConsentToken
from bot.domain import Verdict
from tests.bot.test_pipeline import NOW, Harness, make_harness


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness, _ = await make_harness(tmp_path)
    yield harness
    await harness.close()


def audit(h: Harness) -> list[dict[str, Any]]:
    out = io.StringIO()
    h.core.storage.audit.export(NOW.replace(year=2000), "jsonl", out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def unfinished(h: Harness) -> list[str]:
    return [key for key, _ in h.core.storage.worklog.unfinished()]


async def test_a_quarantine_that_cannot_write_still_removes_the_post(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(*args: object, **kwargs: object) -> str:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(h.core.storage.quarantine, "put", locked)
    handled = await h.moderator.handle(h.post(b"FACE-1", message_id="10"))
    assert handled is not None
    assert handled.decision.reason == "fault"
    assert handled.decision.verdict is Verdict.DELETE  # no copy could be kept
    assert [c.message_ids for c in h.platform.actions("delete")] == [("10",)]
    assert len(h.platform.actions("private")) == 1  # the poster is told
    assert [(e["verdict"], e["reason"]) for e in audit(h)] == [("delete", "fault")]
    assert unfinished(h) == []


async def test_a_bug_in_the_consent_check_holds_and_removes_the_post(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(token: ConsentToken) -> Any:
        raise TypeError("can't compare offset-naive and offset-aware datetimes")

    monkeypatch.setattr(h.consent, "lookup", broken)
    token = h.token()
    handled = await h.moderator.handle(h.post(b"FACE-1", caption=f"#consent {token}", message_id="11"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.QUARANTINE
    assert handled.decision.reason == "fault"
    assert handled.quarantine_item is not None  # held encrypted for the moderators
    assert h.platform.actions("delete")
    assert [c.item_id for c in h.platform.actions("moderators")] == [handled.quarantine_item]


async def test_a_scanner_that_raises_fails_closed(h: Harness) -> None:
    handled = await h.moderator.handle(h.post(b"BOOM", caption="#consent CG-0000-0000-0000-0000-0"))
    assert handled is not None
    assert handled.decision.reason == "fault"
    assert h.platform.actions("delete")


async def test_a_scan_cancelled_under_the_pipeline_is_a_failed_scan_not_a_lost_post(h: Harness) -> None:
    token = h.token()
    handled = await h.moderator.handle(h.post(b"CANCEL", caption=f"#consent {token}"))
    assert handled is not None
    assert handled.decision.reason in {"consent-unknown", "detection-failed"}
    assert handled.decision.verdict is Verdict.QUARANTINE
    assert h.platform.actions("delete")


async def test_an_unreachable_platform_leaves_the_post_for_the_resumer(h: Harness) -> None:
    h.platform.delete_behaviour = "raise"
    handled = await h.moderator.handle(h.post(b"FACE-1", message_id="12"))
    assert handled is not None
    assert unfinished(h) == [f"{handled.post_key}"]
    assert h.platform.actions("private") == []  # nothing said before the post is really gone
    h.moderator.start_housekeeping(resume_interval_s=0.05)
    h.platform.delete_behaviour = "ok"
    async with asyncio.timeout(10):
        await h.platform.deleted_event.wait()
        while unfinished(h):  # noqa: ASYNC110 - the work log is a table: nothing to await but a poll
            await asyncio.sleep(0.02)
    assert [c.message_ids for c in h.platform.actions("delete")][-1] == ("12",)
    assert len(h.platform.actions("private")) == 1


async def test_a_refused_removal_is_audited_and_the_moderators_get_a_link(h: Harness) -> None:
    h.platform.delete_behaviour = "refuse"
    handled = await h.moderator.handle(h.post(b"FACE-1", message_id="13"))
    assert handled is not None
    events = audit(h)
    assert [e["decision"] for e in events] == ["removal-refused", None]
    (alert,) = [c for c in h.platform.actions("moderators") if c.item_id is None]
    assert "https://chat.example/-1001/13" in alert.text
    (reminder,) = h.platform.actions("private")
    assert "n’a pas pu la supprimer" in reminder.text  # the poster is told the truth
    assert unfinished(h) == []  # alerted once, not every minute


async def test_resume_handles_each_post_on_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    harness, moderator = await make_harness(tmp_path)
    first, second = harness.post(b"FACE-1", message_id="20"), harness.post(b"FACE-2", message_id="21")
    for post in (first, second):
        assert await moderator.accept(post)
    await harness.close()  # the process dies before handling them

    restarted, moderator = await make_harness(tmp_path)
    restarted.platform.images.update(harness.platform.images)
    real_put = restarted.core.storage.quarantine.put
    calls = 0

    def flaky(*args: Any, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sqlite3.OperationalError("database is locked")
        return real_put(*args, **kwargs)

    monkeypatch.setattr(restarted.core.storage.quarantine, "put", flaky)
    assert await moderator.resume() == 2
    assert sorted(c.message_ids for c in restarted.platform.actions("delete")) == [("20",), ("21",)]
    await restarted.close()


async def test_resume_leaves_posts_in_flight_alone(h: Harness) -> None:
    post = h.post(b"FACE-1", message_id="30")
    assert await h.moderator.accept(post)  # the adapter is about to process it
    assert await h.moderator.resume() == 0
    assert h.platform.calls == []
