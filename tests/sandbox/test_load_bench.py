"""``consentguard bench-bot`` drives the real bot (scan worker processes included) and reports what it saw."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox.load import load_images, run_bot_bench
from tests.fakes.settings import make_settings
from tests.imagegen import astronaut, encode, wound_like_image


async def test_a_small_burst_is_judged_and_measured(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a-wound.jpg").write_bytes(encode(wound_like_image(), "JPEG"))
    (folder / "b-face.jpg").write_bytes(encode(astronaut(), "JPEG"))
    (folder / "notes.txt").write_text("not an image")
    images = load_images(folder)
    assert [name for name, _ in images] == ["a-wound.jpg", "b-face.jpg"]
    settings = make_settings(
        data_dir=tmp_path / "unused", detection={"workers": 1, "text": False, "barcodes": False}
    )
    out = io.StringIO()
    report = await run_bot_bench(settings, images, posts=4, rate=None, mode="strict", out=out)
    assert (report["posts"], report["judged"], report["removed"]) == (4, 4, 4)
    assert report["reasons"] == {"no-consent-identifying": 2, "no-consent-strict": 2}
    assert report["removal_s"]["p50"] is not None
    assert report["peak_rss_mb"] > 0
    assert report["processes"] >= 2  # the bot and its scan worker
    assert "images/s" in out.getvalue()
    assert not (tmp_path / "unused").exists()  # it works in a throwaway data directory


def test_the_command_refuses_a_folder_without_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench-bot", str(tmp_path)]) == 2
    assert "no image file" in capsys.readouterr().out
