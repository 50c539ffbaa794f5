import csv
import io
import json
from pathlib import Path

import pytest

from bot.bootstrap import Overrides, open_core
from bot.cli import main
from bot.domain import Post, PostImage
from tests.bot.test_pipeline import ALICE, GROUP, NOW
from tests.fakes.platform import FakeConsentLookup, RecordingPlatform, StubScanner
from tests.fakes.settings import make_settings


@pytest.fixture
async def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory where the pipeline handled two posts: one deleted, one quarantined."""
    monkeypatch.setenv("CONSENTGUARD_DATA_DIR", str(tmp_path))
    settings = make_settings(data_dir=tmp_path)
    platform = RecordingPlatform({"a": b"FACE-1", "b": b"SLIDE-2"})
    overrides = Overrides(scanner=StubScanner(), consent=FakeConsentLookup())
    async with open_core(settings, platforms={"telegram": platform}, overrides=overrides) as core:
        moderator = core.moderator
        for message_id, image_id in (("1", "a"), ("2", "b")):
            post = Post(
                chat=GROUP,
                message_id=message_id,
                author=ALICE,
                author_name="Dr Alice",
                caption="ZORGLUB Hermeline",
                images=(PostImage(image_id, platform.fetcher(GROUP, image_id)),),
                sent_at=NOW,
            )
            await moderator.handle(post)
    return tmp_path


def test_audit_export_csv_and_jsonl(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "export", "--since", "2000-01-01", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["verdict"] for r in rows] == ["delete", "quarantine"]
    assert "ZORGLUB" not in out
    assert "Alice" not in out
    assert main(["audit", "export", "--since", "2000-01-01", "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["reason"] == "no-consent-identifying"


def test_queue_lists_the_pending_item(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 1
    assert rows[0]["reason"] == "no-consent-strict"
    assert rows[0]["group"] == "telegram:-1001"


def test_purge_reports_a_count(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quarantine", "purge"]) == 0
    assert "purged 0 item(s)" in capsys.readouterr().out


def test_bad_since_is_a_clear_error(data_dir: Path) -> None:
    with pytest.raises(SystemExit, match="ISO date"):
        main(["audit", "export", "--since", "last tuesday"])
