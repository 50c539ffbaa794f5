"""Quarantine keys: parsing, rotation order, the created key file and its permissions, no key in a repr."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.storage.keys import (
    InsecureKeyFileError,
    KeyringError,
    QuarantineKey,
    create_secret_file,
    generate_key,
    load_keyring,
    load_pseudonym_key,
    parse_keyring,
)
from config.settings import Settings, StorageSettings
from tests.fakes.settings import make_settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_the_key_file_with_mode_0600_and_says_where(settings: Settings, data_dir: Path) -> None:
    keyring, message = load_keyring(settings)

    path = data_dir / "quarantine.key"
    assert _mode(path) == 0o600
    assert message is not None
    assert str(path) in message
    secret = path.read_text().strip()
    assert secret.split(":", 1)[1] not in message
    assert keyring.current.reveal() == secret
    assert [p.name for p in data_dir.iterdir()] == ["quarantine.key"]  # no temporary file left behind


def test_reuses_the_existing_key_file_silently(settings: Settings) -> None:
    first, _ = load_keyring(settings)
    again, message = load_keyring(settings)
    assert message is None
    assert again.current.reveal() == first.current.reveal()


def test_the_key_file_is_0600_whatever_the_umask(settings: Settings, data_dir: Path) -> None:
    previous = os.umask(0)
    try:
        load_keyring(settings)
    finally:
        os.umask(previous)
    assert _mode(data_dir / "quarantine.key") == 0o600


def test_create_secret_file_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    assert create_secret_file(path, "first\n")
    assert not create_secret_file(path, "second\n")
    assert path.read_text() == "first\n"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(settings: Settings, data_dir: Path, mode: int) -> None:
    load_keyring(settings)
    path = data_dir / "quarantine.key"
    path.chmod(mode)
    with pytest.raises(InsecureKeyFileError, match="chmod 600"):
        load_keyring(settings)


def test_a_configured_key_file_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    key = generate_key("k2")
    create_secret_file(path, f"# rotated 2025-03\n{key.reveal()}\n{generate_key('k1').reveal()}\n")
    settings = make_settings(
        data_dir=tmp_path / "data",
        storage=StorageSettings(quarantine_key_file=path),
    )
    keyring, message = load_keyring(settings)
    assert message is None
    assert keyring.key_ids == ("k2", "k1")
    assert keyring.current == key
    path.chmod(0o644)
    with pytest.raises(InsecureKeyFileError):
        load_keyring(settings)


def test_a_missing_configured_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    settings = make_settings(
        data_dir=tmp_path / "data",
        storage=StorageSettings(quarantine_key_file=tmp_path / "absent.key"),
    )
    with pytest.raises(KeyringError, match="does not exist"):
        load_keyring(settings)
    assert not (tmp_path / "absent.key").exists()
    assert not (tmp_path / "data" / "quarantine.key").exists()


def test_keys_from_the_setting_first_is_current(tmp_path: Path) -> None:
    new, old = generate_key("new"), generate_key("old")
    settings = make_settings(
        data_dir=tmp_path / "data",
        storage=StorageSettings(quarantine_key=SecretStr(f"{new.reveal()}, {old.reveal()}")),
    )
    keyring, message = load_keyring(settings)
    assert message is None
    assert keyring.current == new
    assert keyring.get("old") == old
    assert keyring.get("other") is None
    assert not (tmp_path / "data" / "quarantine.key").exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no quarantine key"),
        ("nocolon", "not written"),
        ("k1:not base64!!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        (f"bad id:{base64.b64encode(bytes(32)).decode()}", "key id"),
        (f"k1:{base64.b64encode(bytes(32)).decode()},k1:{base64.b64encode(bytes(32)).decode()}", "twice"),
    ],
)
def test_malformed_keyrings_are_refused_without_echoing_them(text: str, problem: str) -> None:
    with pytest.raises(KeyringError, match=problem) as caught:
        parse_keyring(text)
    secret_part = text.partition(":")[2]
    if secret_part:
        assert secret_part not in str(caught.value)


def test_no_key_material_in_repr_or_str() -> None:
    key = generate_key("k1")
    keyring = parse_keyring(f"{key.reveal()},{generate_key('k0').reveal()}")
    encoded = key.reveal().split(":", 1)[1]
    for text in (repr(key), str(key), repr(keyring), str(keyring), repr(keyring.all_keys())):
        assert encoded not in text
        assert repr(key.material) not in text
        assert key.material.hex() not in text
    assert "k1" in repr(keyring)


def test_pseudonym_key_is_created_once_with_mode_0600(settings: Settings, data_dir: Path) -> None:
    key, message = load_pseudonym_key(settings)
    path = data_dir / "audit-pseudonym.key"
    assert message is not None
    assert str(path) in message
    assert _mode(path) == 0o600
    assert len(key) == 32
    assert load_pseudonym_key(settings) == (key, None)


def test_a_key_must_be_32_bytes() -> None:
    with pytest.raises(KeyringError):
        QuarantineKey("k1", bytes(16))
