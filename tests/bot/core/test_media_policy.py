"""Files the bot cannot look into follow the group's ``unchecked_files`` setting (removal by default, and
the poster is told why); posters the policy exempts (an integration's webhook) are allowed and audited;
finished work-log entries are forgotten on schedule, unfinished ones never."""

from __future__ import annotations

from pathlib import Path

from bot.consent.model import UserRef
from bot.domain import Verdict
from tests.bot.core.test_fail_closed import audit
from tests.bot.test_pipeline import ALICE, GROUP, make_harness

ZIP = b"PK\x03\x04 a zip of photos"


async def test_an_uncheckable_file_is_removed_by_default_and_the_poster_told_why(tmp_path: Path) -> None:
    h, _ = await make_harness(tmp_path)
    try:
        handled = await h.moderator.handle(h.post(ZIP, message_id="20"))
        assert handled is not None
        assert handled.decision.verdict is Verdict.QUARANTINE
        assert handled.decision.reason == "unchecked-file"
        assert not handled.decision.retry  # the same bytes will never become checkable
        assert handled.quarantine_item is not None  # held for the moderators, who may restore it
        assert [c.message_ids for c in h.platform.actions("delete")] == [("20",)]
        (reminder,) = h.platform.actions("private")
        assert "ne peut pas regarder dans ce type de fichier" in reminder.text
        assert [(e["verdict"], e["reason"]) for e in audit(h)] == [("quarantine", "unchecked-file")]
    finally:
        await h.close()


async def test_a_group_can_delete_uncheckable_files_outright(tmp_path: Path) -> None:
    h, _ = await make_harness(tmp_path, 'default.unchecked_files = "delete"\n')
    try:
        handled = await h.moderator.handle(h.post(ZIP, message_id="21"))
        assert handled is not None
        assert (handled.decision.verdict, handled.quarantine_item) == (Verdict.DELETE, None)
        assert h.platform.actions("delete")
    finally:
        await h.close()


async def test_a_group_that_accepts_uncheckable_files_keeps_them_even_in_strict_mode(tmp_path: Path) -> None:
    h, _ = await make_harness(tmp_path, 'default.unchecked_files = "allow"\n')
    try:
        handled = await h.moderator.handle(h.post(ZIP, message_id="22"))
        assert handled is not None
        assert handled.decision.verdict is Verdict.ALLOW
        assert h.platform.actions("delete") == []  # not even removed early, then put back
        # A photo in the same group still needs consent: the setting is about uncheckable files only.
        photo = await h.moderator.handle(h.post(b"CLEAN-wound", message_id="23"))
        assert photo is not None
        assert photo.decision.verdict is Verdict.QUARANTINE
    finally:
        await h.close()


async def test_a_post_mixing_a_photo_and_an_uncheckable_file_is_judged_on_the_photo_too(
    tmp_path: Path,
) -> None:
    h, _ = await make_harness(tmp_path, 'default.unchecked_files = "allow"\n')
    try:
        handled = await h.moderator.handle(h.post(ZIP, b"FACE-1", message_id="24"))
        assert handled is not None
        assert handled.decision.reason == "no-consent-identifying"
        assert h.platform.actions("delete")
    finally:
        await h.close()


async def test_an_exempted_poster_is_allowed_without_a_look_and_audited(tmp_path: Path) -> None:
    h, _ = await make_harness(tmp_path, f'default.exempt_posters = ["{ALICE}"]\n')
    try:
        handled = await h.moderator.handle(h.post(b"FACE-1", message_id="25"))
        assert handled is not None
        assert handled.decision.verdict is Verdict.ALLOW
        assert handled.decision.reason == "exempt-poster"
        assert h.scanner.scanned == []
        assert h.platform.actions("delete") == []
        assert h.platform.actions("private") == []
        assert [(e["verdict"], e["reason"]) for e in audit(h)] == [("allow", "exempt-poster")]
        assert h.core.storage.worklog.unfinished() == []
        # Anybody else in the group is moderated as usual.
        other = await h.moderator.handle(h.post(b"FACE-2", message_id="26", author=UserRef("telegram", "99")))
        assert other is not None
        assert other.decision.reason == "no-consent-identifying"
    finally:
        await h.close()


async def test_housekeeping_forgets_old_finished_work_but_never_unfinished_work(tmp_path: Path) -> None:
    h, _ = await make_harness(tmp_path)
    try:
        await h.moderator.handle(h.post(b"CLEAN-1", message_id="30"))
        assert await h.moderator.accept(h.post(b"CLEAN-2", message_id="31"))  # accepted, never processed
        h.clock.advance(days=8)
        await h.moderator.purge_expired()
        assert [key for key, _ in h.core.storage.worklog.unfinished()] == [f"{GROUP}:31"]
        # The finished entry is gone: a redelivery of message 30 would be accepted again.
        assert await h.moderator.accept(h.post(b"CLEAN-1", message_id="30"))
    finally:
        await h.close()
