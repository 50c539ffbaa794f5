"""The moderation pipeline end to end, with a recording platform, a fake consent registry and stub detectors.

Storage is real (SQLite in a temporary folder): quarantine, audit, work log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.bootstrap import Core, Overrides, open_core
from bot.consent.model import ChatRef, ConsentRecord, ConsentStatus, Purpose, ScopeProblem, UserRef
from bot.consent.token import ConsentToken, new_token
from bot.core.pipeline import Moderator
from bot.domain import ConsentState, Post, PostImage, Verdict
from config.settings import Settings
from tests.fakes.clock import MovableClock
from tests.fakes.platform import FakeConsentLookup, RecordingPlatform, StubScanner, utc
from tests.fakes.settings import make_settings

GROUP = ChatRef("telegram", "-1001")
ALICE = UserRef("telegram", "42")
NOW = utc()


def granted(**overrides: object) -> ConsentRecord:
    fields: dict[str, object] = {
        "status": ConsentStatus.GRANTED,
        "purposes": frozenset({Purpose.ADVICE}),
        "groups": (GROUP,),
        "clinicians": (ALICE,),
        "valid_until": NOW + timedelta(days=10),
        "max_images": 5,
        "images_used": 0,
        "patient_ref": "P-1",
    }
    fields.update(overrides)
    return ConsentRecord(**fields)  # type: ignore[arg-type]


@dataclass
class Harness:
    moderator: Moderator
    platform: RecordingPlatform
    consent: FakeConsentLookup
    scanner: StubScanner
    core: Core
    stack: contextlib.AsyncExitStack
    settings: Settings
    clock: MovableClock
    counter: int = 0

    def post(self, *images: bytes, caption: str = "", message_id: str | None = None, **extra: object) -> Post:
        self.counter += 1
        mid = message_id or str(self.counter)
        post_images = []
        for index, data in enumerate(images):
            image_id = f"img-{mid}-{index}"
            self.platform.images[image_id] = data
            post_images.append(PostImage(image_id=image_id, fetch=self.platform.fetcher(GROUP, image_id)))
        fields: dict[str, object] = {
            "chat": GROUP,
            "message_id": mid,
            "author": ALICE,
            "author_name": "Dr Alice",
            "caption": caption,
            "images": tuple(post_images),
            "sent_at": NOW,
            "chat_title": "Dermato avis",
        }
        fields.update(extra)
        return Post(**fields)  # type: ignore[arg-type]

    async def close(self) -> None:
        await self.stack.aclose()

    def token(self, record: ConsentRecord | None = None) -> ConsentToken:
        token = new_token()
        if record is not None:
            self.consent.records[token.compact] = record
        return token


async def make_harness(tmp_path: Path, policy_toml: str = "") -> tuple[Harness, Moderator]:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(policy_toml)
    settings = make_settings(data_dir=tmp_path / "data", policy_file=policy_file)
    platform, consent, scanner = RecordingPlatform(), FakeConsentLookup(), StubScanner()
    clock = MovableClock(NOW)
    stack = contextlib.AsyncExitStack()
    overrides = Overrides(clock=clock, scanner=scanner, consent=consent, retry_delays_s=(0.01,))
    core = await stack.enter_async_context(
        open_core(settings, platforms={"telegram": platform}, overrides=overrides)
    )
    harness = Harness(core.moderator, platform, consent, scanner, core, stack, settings, clock)
    return harness, core.moderator


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness, _ = await make_harness(tmp_path)
    yield harness
    await harness.close()


# -- the decision table through the pipeline -----------------------------------------------------------


async def test_valid_consent_is_allowed_and_its_use_recorded(h: Harness) -> None:
    token = h.token(granted())
    handled = await h.moderator.handle(h.post(b"FACE-1", caption=f"Plaie J5 #consent {token}"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.ALLOW
    assert h.platform.actions("delete") == []
    assert h.platform.actions("private") == []
    assert len(h.consent.uses) == 1
    assert h.consent.uses[0][1].message_id == "1"


@pytest.mark.parametrize(
    ("record", "state", "problem_word"),
    [
        (granted(status=ConsentStatus.REVOKED), ConsentState.REVOKED, "révoqu"),
        (granted(status=ConsentStatus.EXPIRED), ConsentState.EXPIRED, "expir"),
        (None, ConsentState.UNKNOWN, "aucun consentement"),
        (granted(groups=(ChatRef("telegram", "-999"),)), ConsentState.OUT_OF_SCOPE, "groupe"),
        (granted(clinicians=(UserRef("telegram", "7"),)), ConsentState.OUT_OF_SCOPE, ""),
        (granted(purposes=frozenset({Purpose.TEACHING})), ConsentState.OUT_OF_SCOPE, ""),
        (granted(max_images=1, images_used=1), ConsentState.USED_UP, ""),
        (granted(valid_until=NOW - timedelta(seconds=1)), ConsentState.EXPIRED, "expir"),
    ],
)
async def test_a_token_that_does_not_cover_the_post_removes_it_and_says_why(
    h: Harness, record: ConsentRecord | None, state: ConsentState, problem_word: str
) -> None:
    token = h.token(record) if record is not None else new_token()
    handled = await h.moderator.handle(h.post(b"FACE-1", caption=f"#consent {token}"))
    assert handled is not None
    assert handled.decision.consent.state is state
    assert handled.decision.verdict is Verdict.DELETE
    assert h.platform.actions("delete")[0].message_ids == ("1",)
    reminder = h.platform.actions("private")[0].text
    assert problem_word.lower() in reminder.lower()
    assert "226-13" in reminder


async def test_mistyped_token_is_reported_as_mistyped(h: Harness) -> None:
    token = new_token().value
    typo = token[:4] + ("A" if token[4] != "A" else "B") + token[5:]
    handled = await h.moderator.handle(h.post(b"CLEAN", caption=f"#consent {typo}"))
    assert handled is not None
    assert handled.decision.consent.state is ConsentState.MALFORMED
    assert handled.decision.verdict is Verdict.QUARANTINE
    assert h.consent.lookups == 0  # a malformed token never reaches the registry


async def test_no_consent_identifying_is_deleted_and_nothing_is_kept(h: Harness) -> None:
    handled = await h.moderator.handle(h.post(b"FACE-1", caption="Avis sur cette plaie ?"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.DELETE
    assert handled.quarantine_item is None
    assert h.platform.actions("delete")
    reminder = h.platform.actions("private")[0].text
    assert "visage" in reminder
    assert "L1110-4" in reminder
    assert (await asyncio.to_thread(h.moderator._quarantine.count_pending)) == 0


async def test_no_consent_clean_image_is_quarantined_in_strict_mode(h: Harness) -> None:
    handled = await h.moderator.handle(h.post(b"SLIDE-fig2", caption="Fig. 2"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.QUARANTINE
    assert handled.quarantine_item is not None
    assert h.platform.actions("moderators")[0].item_id == handled.quarantine_item
    images = await asyncio.to_thread(h.moderator._quarantine.images, handled.quarantine_item)
    assert images == [("img-1-0", b"SLIDE-fig2")]


async def test_identifying_only_group_allows_clean_images(tmp_path: Path) -> None:
    harness, moderator = await make_harness(tmp_path, '[default]\nmode = "identifying-only"\n')
    handled = await moderator.handle(harness.post(b"CLEAN-slide", caption="Fig. 2"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.ALLOW
    assert harness.platform.actions("delete") == []
    await harness.close()


async def test_group_may_quarantine_identifying_images_instead_of_deleting(tmp_path: Path) -> None:
    harness, moderator = await make_harness(tmp_path, '[default]\nidentifying_action = "quarantine"\n')
    handled = await moderator.handle(harness.post(b"NAME-label"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.QUARANTINE
    assert handled.quarantine_item is not None
    await harness.close()


@pytest.mark.parametrize("image", [b"FAIL-timeout", b"FACE-1"])
async def test_consent_api_down_quarantines_and_never_allows(h: Harness, image: bytes) -> None:
    token = h.token(granted())
    h.consent.down = True
    handled = await h.moderator.handle(h.post(image, caption=f"#consent {token}"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.QUARANTINE
    assert handled.decision.retry
    assert h.platform.actions("delete")


async def test_detector_failure_quarantines_and_retries(h: Harness) -> None:
    handled = await h.moderator.handle(h.post(b"FAIL-timeout"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.QUARANTINE
    assert handled.decision.reason == "detection-failed"
    assert handled.decision.retry


async def test_image_that_cannot_be_downloaded_fails_closed(h: Harness) -> None:
    big = PostImage(image_id="huge", fetch=h.platform.fetcher(GROUP, "huge"), unavailable_reason="over 20 MB")
    handled = await h.moderator.handle(replace(h.post(), images=(big,)))
    assert handled is not None
    assert handled.decision.verdict is Verdict.QUARANTINE
    assert h.platform.actions("delete")


async def test_monitor_mode_removes_nothing_and_tells_moderators(tmp_path: Path) -> None:
    harness, moderator = await make_harness(tmp_path, '[default]\nmode = "monitor"\n')
    handled = await moderator.handle(harness.post(b"FACE-1"))
    assert handled is not None
    assert handled.decision.verdict is Verdict.MONITOR
    assert handled.decision.would_have is Verdict.DELETE
    assert harness.platform.actions("delete") == []
    assert harness.platform.actions("private") == []
    assert len(harness.platform.actions("moderators")) == 1
    await harness.close()


# -- exposure time, albums, edits ----------------------------------------------------------------------


async def test_strict_mode_removes_a_post_without_token_before_detection_finishes(h: Harness) -> None:
    h.scanner.gate = asyncio.Event()
    task = asyncio.create_task(h.moderator.handle(h.post(b"FACE-1", caption="avis ?")))
    await asyncio.wait_for(h.platform.deleted_event.wait(), timeout=5)
    assert not task.done()  # removed while the detectors are still working
    assert len(h.moderator._quarantine.pending()) == 1  # held encrypted meanwhile
    h.scanner.gate.set()
    handled = await task
    assert handled is not None
    assert handled.decision.verdict is Verdict.DELETE
    assert len(h.platform.actions("delete")) == 1
    assert h.moderator._quarantine.pending() == []  # delete verdict: the held copy is purged


async def test_album_token_on_one_item_covers_the_album_and_every_item_is_scanned(h: Harness) -> None:
    token = h.token(granted())
    post = h.post(b"FACE-a", b"CLEAN-b", b"NAME-c", caption=f"#consent {token}", album_id="alb1")
    items = tuple(replace(image, message_id=f"m{i}") for i, image in enumerate(post.images))
    handled = await h.moderator.handle(replace(post, images=items))
    assert handled is not None
    assert handled.decision.verdict is Verdict.ALLOW
    assert len(h.scanner.scanned) == 3
    assert len(h.consent.uses) == 3


async def test_album_without_token_deletes_every_message(h: Harness) -> None:
    post = h.post(b"CLEAN-a", b"FACE-b", album_id="alb2")
    items = tuple(replace(image, message_id=f"m{i}") for i, image in enumerate(post.images))
    await h.moderator.handle(replace(post, message_id="m0", images=items))
    assert set(h.platform.actions("delete")[0].message_ids) == {"m0", "m1"}


async def test_same_message_twice_is_handled_once(h: Harness) -> None:
    post = h.post(b"FACE-1")
    assert await h.moderator.handle(post) is not None
    assert await h.moderator.handle(post) is None
    assert len(h.platform.actions("delete")) == 1


async def test_removing_the_token_from_an_allowed_post_removes_it(h: Harness) -> None:
    token = h.token(granted())
    post = h.post(b"FACE-1", caption=f"#consent {token}", message_id="77")
    first = await h.moderator.handle(post)
    assert first is not None
    assert first.decision.verdict is Verdict.ALLOW
    edited = replace(post, caption="(légende modifiée)", edited=True)
    second = await h.moderator.handle(edited)
    assert second is not None
    assert second.decision.verdict is Verdict.DELETE
    assert h.platform.actions("delete")[0].message_ids == ("77",)


async def test_use_refused_at_record_time_removes_the_post(h: Harness) -> None:
    token = h.token(granted())
    h.consent.refuse_uses = ScopeProblem.USED_UP
    handled = await h.moderator.handle(h.post(b"FACE-1", caption=f"#consent {token}"))
    assert handled is not None
    assert handled.decision.consent.state is ConsentState.USED_UP
    assert handled.decision.verdict is Verdict.DELETE


# -- telling people --------------------------------------------------------------------------------------


async def test_closed_private_messages_fall_back_to_a_short_group_notice(h: Harness) -> None:
    h.platform.closed_dms.add(ALICE)
    handled = await h.moderator.handle(h.post(b"FACE-1"))
    assert handled is not None
    assert not handled.poster_notified_privately
    notice = h.platform.actions("group_notice")[0]
    assert notice.extra["ttl_s"] == 60
    assert "@Dr Alice" in notice.text
    assert "visage" not in notice.text  # no details in the group


async def test_english_poster_gets_an_english_reminder(h: Harness) -> None:
    await h.moderator.handle(h.post(b"FACE-1", author_language="en-GB"))
    assert "professional secrecy" in h.platform.actions("private")[0].text.lower()


async def test_repeat_offences_alert_the_moderators(h: Harness) -> None:
    for _ in range(3):
        await h.moderator.handle(h.post(b"FACE-1"))
    alerts = [c for c in h.platform.actions("moderators") if "3" in c.text and c.item_id is None]
    assert len(alerts) == 1


# -- crash and resume, retries ---------------------------------------------------------------------------


async def test_work_accepted_before_a_crash_is_resumed_at_start_up(tmp_path: Path) -> None:
    harness, moderator = await make_harness(tmp_path)
    harness.scanner.gate = asyncio.Event()
    task = asyncio.create_task(moderator.handle(harness.post(b"NAME-1", message_id="900")))
    await asyncio.sleep(0.05)
    task.cancel()  # the process dies mid-flight
    with pytest.raises(asyncio.CancelledError):
        await task
    await harness.close()

    restarted, moderator2 = await make_harness(tmp_path)
    restarted.platform.images.update(harness.platform.images)
    assert await moderator2.resume() == 1
    assert any(c.message_ids == ("900",) for c in restarted.platform.actions("delete"))
    assert await moderator2.resume() == 0  # done now
    await restarted.close()


async def test_retry_settles_a_post_once_the_registry_is_back(h: Harness) -> None:
    token = h.token(granted())
    h.consent.down = True
    handled = await h.moderator.handle(h.post(b"FACE-1", caption=f"#consent {token}"))
    assert handled is not None
    assert handled.quarantine_item is not None
    h.consent.down = False
    await asyncio.sleep(0.2)
    item = h.moderator._quarantine.get(handled.quarantine_item)
    assert item.reason == "consent-valid"  # moderators now see it is covered and can restore it


# -- patient data never leaks ------------------------------------------------------------------------------


async def test_canary_name_and_token_appear_in_no_log_and_no_database_row(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    canary_name = "ZORGLUB Hermeline"
    token = h.token(granted(status=ConsentStatus.REVOKED))
    post = h.post(
        b"NAME-" + canary_name.encode(), caption=f"{canary_name} née le 01/02/1950 #consent {token}"
    )
    await h.moderator.handle(replace(post, author_name="Dr Canari-Auteur"))
    await h.moderator.handle(h.post(b"SLIDE", caption=f"{canary_name} #consent {token}"))

    secrets = [canary_name, "ZORGLUB", token.value, token.compact, "01/02/1950", "Canari-Auteur", "42"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets[:-1]:
        assert secret not in logged
    database_file = Path(str(h.settings.data_dir)) / "consentguard.db"
    raw = b"".join(p.read_bytes() for p in database_file.parent.glob("consentguard.db*"))
    for secret in secrets[:-1]:
        assert secret.encode() not in raw
    with sqlite3.connect(database_file) as connection:
        tables = [r[0] for r in connection.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in connection.execute(f'select * from "{table}"'):  # noqa: S608 - table names from sqlite
                text = repr(row)
                for secret in secrets[:-1]:
                    assert secret not in text, table


async def test_housekeeping_purges_items_past_their_retention(tmp_path: Path) -> None:
    harness, moderator = await make_harness(tmp_path, "[default]\nretention_days = 1\n")
    handled = await moderator.handle(harness.post(b"SLIDE"))
    assert handled is not None
    assert handled.quarantine_item is not None
    assert await moderator.purge_expired() == 0  # still within its retention
    harness.clock.advance(days=2)
    moderator.start_housekeeping(interval_s=3600)
    await asyncio.sleep(0.1)
    assert moderator._quarantine.pending() == []
    await harness.close()
