"""The Dockerfile cannot be built here (no Docker engine): check what can be checked without one."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _copy_sources() -> list[str]:
    sources = []
    for line in DOCKERFILE.splitlines():
        match = re.match(r"^\s*COPY\s+(?!--from)(.+)$", line)
        if match:
            parts = match.group(1).split()
            sources.extend(p for p in parts[:-1] if not p.startswith("--"))
    return sources


def test_every_file_it_copies_exists() -> None:
    sources = _copy_sources()
    assert sources, "no COPY found"
    for source in sources:
        assert (ROOT / source).exists(), source


def test_runs_as_non_root_with_a_health_check_and_the_data_volume() -> None:
    assert re.search(r"^USER\s+10001", DOCKERFILE, re.MULTILINE)
    assert "HEALTHCHECK" in DOCKERFILE
    assert 'VOLUME ["/data"]' in DOCKERFILE
    assert 'CMD ["run"]' in DOCKERFILE
    assert "build-essential" not in DOCKERFILE
    assert "gcc" not in DOCKERFILE


def test_the_models_it_needs_are_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "models/*.tflite" in pyproject
    assert list((ROOT / "detectors" / "models").glob("*.tflite"))


@pytest.mark.skipif(
    shutil.which("hadolint") is None and not (ROOT / ".venv/bin/hadolint").exists(), reason="no hadolint"
)
def test_hadolint_is_clean() -> None:
    binary = shutil.which("hadolint") or str(ROOT / ".venv/bin/hadolint")
    result = subprocess.run([binary, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr


def test_health_command_reports_a_missing_heartbeat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import main

    monkeypatch.setenv("CONSENTGUARD_DATA_DIR", str(tmp_path))
    assert main(["health"]) == 1
    from bot.domain import utc_now
    from bot.storage.heartbeat import write_heartbeat

    write_heartbeat(tmp_path / "heartbeat", utc_now())
    assert main(["health"]) == 0


def test_health_reads_the_bots_own_clock_not_the_files_mtime(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.storage.heartbeat import healthy, write_heartbeat
    from config.settings import Settings

    settings = Settings.model_validate({"data_dir": tmp_path})
    beat = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)
    write_heartbeat(tmp_path / "heartbeat", beat)
    assert healthy(settings, clock=lambda: beat + timedelta(seconds=30))[0]
    ok, detail = healthy(settings, clock=lambda: beat + timedelta(minutes=10))
    assert not ok
    assert "600 s old" in detail
