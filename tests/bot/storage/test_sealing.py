"""The shared sealer: both record layouts, associated data, rotation, and what older versions wrote."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.errors import SealError
from bot.storage.keys import QuarantineKey, QuarantineKeyring, generate_key
from bot.storage.sealing import WORKLOG_CONTEXT, Sealer

AAD = b"consentguard test v1"


def test_a_record_opens_with_its_associated_data_only() -> None:
    sealer = Sealer(QuarantineKeyring(generate_key("k1")))
    sealed = sealer.seal(b"caption with a patient name", AAD)
    assert sealed.startswith(b"k1\0")
    assert b"patient" not in sealed
    assert sealer.open(sealed, AAD) == b"caption with a patient name"
    with pytest.raises(SealError):
        sealer.open(sealed, b"another purpose")


def test_tampered_truncated_and_foreign_records_raise() -> None:
    sealer = Sealer(QuarantineKeyring(generate_key("k1")))
    sealed = bytearray(sealer.seal(b"x", AAD))
    sealed[-1] ^= 1
    with pytest.raises(SealError, match="in the keyring"):
        sealer.open(bytes(sealed), AAD)
    with pytest.raises(SealError, match="truncated"):
        sealer.open(b"k1\0short", AAD)
    with pytest.raises(SealError, match="no key id"):
        sealer.open(b"no separator", AAD)
    other = Sealer(QuarantineKeyring(generate_key("k9")))
    with pytest.raises(SealError, match="missing from the keyring"):
        other.open(sealer.seal(b"x", AAD), AAD)


def test_rotation_and_a_renamed_key_id() -> None:
    old = generate_key("k1")
    sealed = Sealer(QuarantineKeyring(old)).seal(b"old", AAD)
    rotated = Sealer(QuarantineKeyring(generate_key("k2"), [old]))
    assert rotated.open(sealed, AAD) == b"old"
    assert rotated.seal(b"new", AAD).startswith(b"k2\0")
    # The operator renamed k1: the recorded id is unknown, the other keys are tried.
    renamed = Sealer(QuarantineKeyring(QuarantineKey("renamed", old.material)))
    assert renamed.open(sealed, AAD) == b"old"
    key_id, raw = Sealer(QuarantineKeyring(old)).seal_raw(b"raw", AAD)
    assert key_id == "k1"
    assert renamed.open_raw(key_id, raw, AAD) == b"raw"


def test_records_written_by_the_former_implementations_still_open() -> None:
    key = generate_key("k1")
    sealer = Sealer(QuarantineKeyring(key))
    nonce = os.urandom(12)
    # The work log's former Sealer: key id, NUL, nonce, ciphertext, with its fixed context.
    worklog = b"k1\0" + nonce + AESGCM(key.material).encrypt(nonce, b"payload", WORKLOG_CONTEXT)
    assert sealer.bind(WORKLOG_CONTEXT).open(worklog) == b"payload"
    # The quarantine's former _seal: nonce + ciphertext, the key id in a column.
    quarantine = nonce + AESGCM(key.material).encrypt(nonce, b"image", AAD)
    assert sealer.open_raw("k1", quarantine, AAD) == b"image"


def test_repr_shows_key_ids_only() -> None:
    key = generate_key("k1")
    assert repr(Sealer(QuarantineKeyring(key))) == "Sealer(key_ids=('k1',))"
