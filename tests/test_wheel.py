"""The wheel is the product (the Dockerfile installs it): every command's files must ship inside it.

Built from this checkout, installed into a folder outside it, and run from there with the checkout out of the
way: a file that only exists in the source tree (demo samples, models, migrations) fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built offline and unpacked into a site folder of its own."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=work,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = work.glob("consentguard-*.whl")
    site = work / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # a wheel is a zip laid out as site-packages
    return site


def run_installed(site: Path, code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENTGUARD_")}
    env |= {"PYTHONPATH": str(site), "CONSENTGUARD_DATA_DIR": str(tmp_path / "data"), "NO_PROXY": "127.0.0.1"}
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path, env=env
    )


def test_the_installed_wheel_runs_the_demo_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    code = (
        "import sys, bot, detectors, config\n"
        f"site = {str(installed)!r}\n"
        "assert all(m.__file__.startswith(site) for m in (bot, detectors, config)), bot.__file__\n"
        "from bot.cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    result = run_installed(installed, code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "summary: 1 allow, 2 delete, 2 quarantine" in result.stdout
    assert (tmp_path / "data" / "consentguard.db").exists()


def test_the_installed_wheel_carries_models_migrations_and_the_example_policy(installed: Path) -> None:
    shipped = {p.relative_to(installed).as_posix() for p in installed.rglob("*") if p.is_file()}
    expected = [
        "detectors/models/face_detection_short_range.tflite",
        "detectors/models/centerface.onnx",
        "detectors/models/LICENSE-centerface-MIT.txt",
        "detectors/models/SHA256SUMS",
        "bot/evalset/portraits/camera.jpg",
        "bot/evalset/portraits/LICENSE.txt",
        "bot/storage/migrations/versions/0001_initial.py",
        "bot/storage/migrations/versions/0002_group_settings.py",
        "bot/registry/migrations/versions/0001_initial.py",
        "bot/registry/migrations/versions/0002_capture.py",
        "bot/registry/templates/form.html",
        "bot/registry/templates/receipt.html",
        "bot/sandbox/samples/portrait.jpg",
        "config/policy.example.toml",
    ]
    assert [name for name in expected if name not in shipped] == []
    assert not any(name.startswith("tests/") for name in shipped)
