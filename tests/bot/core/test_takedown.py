"""The revocation follower through the real pipeline and storage (SQLite), with the recording platform."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.consent.model import Revocation
from bot.core.takedown import CURSOR_NAME, registry_fingerprint, takedown_key
from bot.domain import Verdict
from tests.bot.test_pipeline import Harness, granted, make_harness


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness, _ = await make_harness(tmp_path)
    yield harness
    await harness.close()


def audit(h: Harness) -> list[dict[str, Any]]:
    out = io.StringIO()
    h.core.storage.audit.export(datetime(2000, 1, 1, tzinfo=UTC), "jsonl", out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def allow(h: Harness, message_id: str | None = None) -> str:
    token = h.token(granted())
    handled = await h.moderator.handle(h.post(b"FACE-1", caption=f"#consent {token}", message_id=message_id))
    assert handled is not None
    assert handled.decision.verdict is Verdict.ALLOW
    return token.value


async def test_the_stored_key_is_a_keyed_hash_of_the_registry_fingerprint(h: Harness) -> None:
    token = await allow(h)
    assert token.replace("-", "") not in str(h.core.storage.consented.withdrawn())
    key = takedown_key(h.core.storage.pseudonym_key, registry_fingerprint(h.token()))
    assert h.core.storage.consented.mark_withdrawn(key, h.clock()) == 0  # another token marks nothing


async def test_withdrawal_deletes_tells_and_audits(h: Harness) -> None:
    token = await allow(h)
    h.consent.revoke(token, h.clock())
    assert await h.core.takedown.poll_once() == 1
    assert [c.message_ids for c in h.platform.actions("delete")] == [("1",)]
    (told,) = h.platform.actions("private")
    assert "retiré son consentement" in told.text
    (moderators,) = h.platform.actions("moderators")
    assert "Consentement retiré" in moderators.text
    assert audit(h)[-1]["reason"] == "consent-withdrawn"


async def test_an_unreachable_poster_gets_the_group_notice_and_moderators_are_told(h: Harness) -> None:
    token = await allow(h)
    h.platform.closed_dms.add(h.post().author)
    h.consent.revoke(token, h.clock())
    assert await h.core.takedown.poll_once() == 1
    assert h.platform.actions("group_notice")
    assert h.platform.actions("moderators")


async def test_past_the_platforms_window_nothing_is_tried_and_moderators_get_links(h: Harness) -> None:
    token = await allow(h)
    h.platform.window = timedelta(hours=48)
    h.clock.advance(hours=48)
    h.consent.revoke(token, h.clock())
    assert await h.core.takedown.poll_once() == 1
    assert h.platform.actions("delete") == []
    (alert,) = h.platform.actions("moderators")
    assert "https://chat.example/-1001/1" in alert.text
    assert audit(h)[-1]["decision"] == "removal-too-old"


async def test_a_refused_deletion_is_settled_with_links(h: Harness) -> None:
    token = await allow(h)
    h.platform.delete_behaviour = "refuse"
    h.consent.revoke(token, h.clock())
    assert await h.core.takedown.poll_once() == 1
    assert "https://chat.example/" in h.platform.actions("moderators")[0].text
    assert audit(h)[-1]["decision"] == "removal-refused"
    assert await h.core.takedown.poll_once() == 0  # settled: not tried again


async def test_a_platform_fault_leaves_the_post_for_the_next_round(h: Harness) -> None:
    token = await allow(h)
    h.platform.delete_behaviour = "raise"
    h.consent.revoke(token, h.clock())
    assert await h.core.takedown.poll_once() == 0
    assert h.platform.actions("private") == []
    h.platform.delete_behaviour = "ok"
    assert await h.core.takedown.poll_once() == 1


async def test_a_post_removed_later_is_forgotten(h: Harness) -> None:
    token = await allow(h, message_id="5")
    handled = await h.moderator.handle(h.post(b"FACE-1", caption="plus de jeton", message_id="5"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.DELETE
    h.consent.revoke(token, h.clock())
    assert await h.core.takedown.poll_once() == 0


async def test_the_cursor_is_stored_and_the_first_read_looks_back_a_margin(h: Harness) -> None:
    start = h.clock()
    await h.core.takedown.poll_once()
    assert h.consent.revocation_reads == [start - timedelta(minutes=10)]
    stored = h.core.storage.cursors.load(CURSOR_NAME)
    assert stored == start - timedelta(minutes=10) + timedelta(minutes=2)  # nothing yet: start there

    h.clock.advance(minutes=5)
    token = await allow(h)
    h.consent.revoke(token, h.clock())
    await h.core.takedown.poll_once()
    assert h.core.storage.cursors.load(CURSOR_NAME) == h.clock()


async def test_a_full_page_is_followed_by_the_next(h: Harness) -> None:
    token = await allow(h)
    base = h.clock()
    h.consent.revocations = [
        Revocation(f"{index:064x}", base + timedelta(milliseconds=index)) for index in range(1000)
    ]
    h.consent.revoke(token, base + timedelta(seconds=5))
    assert await h.core.takedown.poll_once() == 1
    assert len(h.consent.revocation_reads) == 2
