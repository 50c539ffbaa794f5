"""The offline demo with the real detectors, the real registry and the local Telegram server."""

import io
from pathlib import Path

from bot.sandbox.demo import run_demo
from tests.fakes.settings import make_settings


async def test_demo_plays_the_scripted_group_and_leaves_a_queue(tmp_path: Path) -> None:
    out = io.StringIO()
    summary = await run_demo(make_settings(data_dir=tmp_path), out=out)
    text = out.getvalue()
    assert summary["handled"] == 5
    assert summary["verdicts"] == {"allow": 1, "delete": 2, "quarantine": 2}
    assert summary["queue"] == 2
    assert "seen: face" in text
    assert "consent-valid" in text
    assert (tmp_path / "consentguard.db").exists()
