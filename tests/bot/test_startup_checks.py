"""Start-up refuses a keyring that lacks a key the stored quarantine items were sealed with."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bootstrap import open_storage
from bot.errors import KeyringError
from bot.storage.keys import generate_key
from tests.bot.test_pipeline import make_harness
from tests.fakes.settings import make_settings


async def test_a_keyring_missing_a_key_in_use_stops_the_start_with_its_id(tmp_path: Path) -> None:
    h, _ = await make_harness(tmp_path)
    try:
        handled = await h.moderator.handle(h.post(b"CLEAN-wound"))  # strict: held in quarantine
        assert handled is not None
        assert handled.quarantine_item is not None
        (old_key_id,) = _key_ids(h.settings.data_dir)
    finally:
        await h.close()

    rotated_without_old = make_settings(
        data_dir=tmp_path / "data", storage={"quarantine_key": generate_key("knew").reveal()}
    )
    with pytest.raises(KeyringError, match=old_key_id) as caught, open_storage(rotated_without_old):
        pass
    assert "knew" not in str(caught.value)

    rotated_with_old = make_settings(
        data_dir=tmp_path / "data",
        storage={"quarantine_key": generate_key("knew").reveal() + "," + _key_file(tmp_path).strip()},
    )
    with open_storage(rotated_with_old) as storage:
        assert storage.quarantine.missing_keys() == frozenset()


def _key_file(tmp_path: Path) -> str:
    return (tmp_path / "data" / "quarantine.key").read_text()


def _key_ids(data_dir: Path) -> set[str]:
    return {
        line.split(":", 1)[0] for line in (data_dir / "quarantine.key").read_text().split() if ":" in line
    }
