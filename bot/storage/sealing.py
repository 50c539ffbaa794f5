"""Authenticated encryption with the quarantine keyring: the one AES-256-GCM of the bot's storage.

:class:`Sealer` serves both users:

* the work log's payloads, sealed with :meth:`Sealer.seal` as ``key id, NUL, 12-byte nonce, ciphertext and
  tag``: the key id travels inside the record;
* the quarantine, whose tables keep the key id in a column of its own and ``nonce, ciphertext and tag`` in a
  blob: :meth:`Sealer.seal_raw` and :meth:`Sealer.open_raw` read and write that layout, so rows written
  before the two shared this class still open (no migration).

Every record is bound to associated data chosen by the caller: a record sealed for one purpose, item or
field does not open for another. When the recorded key does not open a record, the other keys of the
keyring are tried (an operator may have renamed a key id); a record that no key opens raises
:class:`~bot.errors.SealError`, never returns garbage.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.errors import SealError
from bot.storage.keys import QuarantineKeyring

NONCE_BYTES = 12
_TAG_BYTES = 16
#: Associated data of the work log's payloads (the value the work log has always used).
WORKLOG_CONTEXT = b"consentguard worklog v1"


class Sealer:
    """AES-256-GCM with the keyring's current key; older keys of the keyring still open what they sealed."""

    __slots__ = ("_ciphers", "_current")

    def __init__(self, keyring: QuarantineKeyring) -> None:
        # The keyring is immutable: one cipher per key, built once, serves every thread.
        self._ciphers = {key.key_id: AESGCM(key.material) for key in keyring.all_keys()}
        self._current = keyring.current.key_id

    @property
    def current_key_id(self) -> str:
        """The id of the key that seals new records."""
        return self._current

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` bound to ``aad``: the key id, a NUL byte, the nonce, the ciphertext."""
        key_id, sealed = self.seal_raw(plaintext, aad)
        return key_id.encode("ascii") + b"\0" + sealed

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt a record made by :meth:`seal` with the same ``aad``; raises :class:`SealError`."""
        key_id, separator, rest = sealed.partition(b"\0")
        if not separator:
            raise SealError("sealed record: no key id (truncated or not a sealed record)")
        return self.open_raw(key_id.decode("ascii", errors="replace"), rest, aad)

    def seal_raw(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        """Encrypt with the current key: returns its id and ``nonce + ciphertext`` (the quarantine layout)."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return self._current, nonce + self._ciphers[self._current].encrypt(nonce, plaintext, aad)

    def open_raw(self, key_id: str, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt ``nonce + ciphertext`` recorded as sealed with ``key_id``, trying the other keys after it.

        Raises :class:`SealError` when no key of the keyring opens it; :meth:`knows` tells the caller
        whether the recorded key was there at all.
        """
        if len(sealed) < NONCE_BYTES + _TAG_BYTES:
            raise SealError("sealed record is truncated")
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        # The recorded key first (the usual case, one attempt); then the others, oldest use last.
        candidates = [key_id, *(other for other in self._ciphers if other != key_id)]
        for candidate in candidates:
            cipher = self._ciphers.get(candidate)
            if cipher is None:
                continue
            try:
                return cipher.decrypt(nonce, ciphertext, aad)
            except InvalidTag:
                continue
        known = "in the keyring" if key_id in self._ciphers else "missing from the keyring"
        raise SealError(f"no key opens the sealed record (sealed with key {key_id!r}, {known})")

    def knows(self, key_id: str) -> bool:
        """True when the keyring holds a key with this id."""
        return key_id in self._ciphers

    def bind(self, aad: bytes) -> BoundSealer:
        """A sealer whose every record uses ``aad``: ``seal(plaintext)`` and ``open(sealed)``."""
        return BoundSealer(self, aad)

    def __repr__(self) -> str:
        return f"Sealer(key_ids={tuple(self._ciphers)!r})"


@dataclass(frozen=True, slots=True)
class BoundSealer:
    """A :class:`Sealer` with fixed associated data, for callers that seal one kind of record only."""

    sealer: Sealer
    aad: bytes

    def seal(self, plaintext: bytes) -> bytes:
        """See :meth:`Sealer.seal`."""
        return self.sealer.seal(plaintext, self.aad)

    def open(self, sealed: bytes) -> bytes:
        """See :meth:`Sealer.open`."""
        return self.sealer.open(sealed, self.aad)
