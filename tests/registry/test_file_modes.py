"""The registry's SQLite files are the owner's alone (0600, the directories it creates 0700), any umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.registry.commands import new_consent, new_key
from tests.registry.conftest import registry_app, serve

USE = {
    "platform": "telegram",
    "chat_id": "-1",
    "message_id": "1",
    "image_sha256": "e" * 64,
    "poster": "telegram:1",
    "purpose": "advice",
}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o277])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


@pytest.fixture
def open_tmp_path(tmp_path: Path) -> Path:
    tmp_path.chmod(0o755)
    return tmp_path


@pytest.mark.usefixtures("umask")
async def test_database_and_companions_are_0600_in_a_0700_directory(open_tmp_path: Path) -> None:
    tmp_path = open_tmp_path
    db_path = tmp_path / "made" / "by-registry" / "consent-registry.db"
    url = f"sqlite:///{db_path}"
    bot_key = new_key(url, "bot", None)
    token = new_consent(
        url,
        patient_ref="PAT-MODE",
        groups=["telegram:-1"],
        clinicians=["telegram:1"],
        purposes=["advice"],
        days=1,
        max_images=None,
    )["token"]
    async with serve(registry_app(url)) as client:  # holds the database open: WAL and shared memory exist
        response = await client.post(
            f"/v1/consents/{token}/uses", json=USE, headers={"Authorization": f"Bearer {bot_key}"}
        )
        assert response.status_code == 201
        files = sorted(db_path.parent.glob(db_path.name + "*"))
        assert {path.name for path in files} >= {db_path.name, db_path.name + "-wal", db_path.name + "-shm"}
        assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
    for directory in (db_path.parent, db_path.parent.parent):
        assert mode(directory) == 0o700
    assert mode(tmp_path) == 0o755  # a directory it did not create is left as it was


def test_an_existing_database_is_tightened(tmp_path: Path) -> None:
    db_path = tmp_path / "consent-registry.db"
    url = f"sqlite:///{db_path}"
    new_key(url, "admin", None)
    for path in db_path.parent.glob(db_path.name + "*"):
        path.chmod(0o644)  # as an older version left it
    new_key(url, "admin", None)
    assert {mode(path) for path in db_path.parent.glob(db_path.name + "*")} == {0o600}


def test_an_in_memory_database_makes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    new_key("sqlite://", "admin", None)
    new_key("sqlite:///:memory:", "admin", None)
    assert list(tmp_path.iterdir()) == []
