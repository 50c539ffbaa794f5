"""``consentguard deidentify``: writes a clean rendering, or exits 1 with the reason and writes nothing."""

from pathlib import Path

import pytest

from bot.cli import main
from detectors.engine import ScanEngine
from tests.imagegen import astronaut_bytes
from tests.mediagen import clean_video


@pytest.mark.slow
def test_a_portrait_is_written_masked_and_rescans_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], engine: ScanEngine
) -> None:
    (tmp_path / "face.jpg").write_bytes(astronaut_bytes())
    code = main(["deidentify", str(tmp_path / "face.jpg"), str(tmp_path / "out.jpg")])
    assert code == 0
    assert "1 region(s) masked; removed: face" in capsys.readouterr().out
    assert not engine.scan((tmp_path / "out.jpg").read_bytes(), exhaustive=True).identifying


@pytest.mark.slow
def test_a_video_is_refused_with_its_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "clip.mp4").write_bytes(clean_video(seconds=0.5))
    code = main(["deidentify", str(tmp_path / "clip.mp4"), str(tmp_path / "out.jpg")])
    assert code == 1
    assert "not de-identified: video" in capsys.readouterr().err
    assert not (tmp_path / "out.jpg").exists()


def test_a_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deidentify", str(tmp_path / "nope.jpg"), str(tmp_path / "out.jpg")]) == 2
    assert "cannot read" in capsys.readouterr().err
