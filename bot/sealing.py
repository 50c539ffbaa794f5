"""Authenticated encryption of small records (the work log's payloads) with the quarantine keyring."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.keys import QuarantineKeyring
from detectors.errors import ConsentGuardError

_NONCE_BYTES = 12


class SealError(ConsentGuardError):
    """A sealed record cannot be opened (unknown key id, or tampered with)."""


class Sealer:
    """AES-256-GCM with the keyring's current key; the key id travels with the record so keys can rotate."""

    def __init__(self, keyring: QuarantineKeyring, context: bytes) -> None:
        self._keyring = keyring
        self._context = context  # associated data: a record sealed for one purpose does not open for another

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt: the key id, a NUL byte, the nonce, then the ciphertext."""
        key = self._keyring.current
        nonce = os.urandom(_NONCE_BYTES)
        return (
            key.key_id.encode()
            + b"\0"
            + nonce
            + AESGCM(key.material).encrypt(nonce, plaintext, self._context)
        )

    def open(self, sealed: bytes) -> bytes:
        """Decrypt a record made by :meth:`seal`, with whichever key of the keyring sealed it."""
        key_id, sep, rest = sealed.partition(b"\0")
        key = self._keyring.get(key_id.decode(errors="replace")) if sep else None
        if key is None or len(rest) <= _NONCE_BYTES:
            raise SealError("sealed record: unknown key id or truncated record")
        try:
            return AESGCM(key.material).decrypt(rest[:_NONCE_BYTES], rest[_NONCE_BYTES:], self._context)
        except InvalidTag as exc:
            raise SealError("sealed record does not authenticate (wrong key or tampered)") from exc
