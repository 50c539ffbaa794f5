"""Quarantine encryption keys: one current key that encrypts, older ones kept to decrypt (rotation).

A key is written ``<key_id>:<base64 of 32 bytes>``; a keyring is several of them separated by commas (or
lines, in a key file), the first being the current key. Keys come from the ``storage.quarantine_key``
setting, else the ``storage.quarantine_key_file`` setting, else ``<data_dir>/quarantine.key``, which is
created with a fresh key on first start. Key material never appears in a repr, a message or a log.

To rotate: put a new key first and keep the old ones after it; remove an old key only once no quarantined
item uses it any more (:meth:`bot.storage.quarantine.QuarantineStore.missing_keys` tells).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import InsecureKeyFileError, KeyringError
from config.settings import Settings

KEY_BYTES = 32  # AES-256
#: Default key file in the data directory.
DEFAULT_KEY_FILE = "quarantine.key"
#: Default file of the audit log's pseudonym key in the data directory.
DEFAULT_PSEUDONYM_KEY_FILE = "audit-pseudonym.key"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


@dataclass(frozen=True, slots=True, repr=False)
class QuarantineKey:
    """One AES-256 key and its public id (the id is stored next to everything it encrypts)."""

    key_id: str
    material: bytes = field(compare=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.match(self.key_id):
            raise KeyringError("a quarantine key id is 1 to 32 characters among A-Z a-z 0-9 _ . -")
        if len(self.material) != KEY_BYTES:
            raise KeyringError(f"quarantine key {self.key_id!r} must be {KEY_BYTES} bytes")

    def __repr__(self) -> str:
        return f"QuarantineKey(key_id={self.key_id!r}, material=<redacted>)"

    __str__ = __repr__

    def reveal(self) -> str:
        """The ``<key_id>:<base64>`` text of this key: a secret, for a key file or a secret store only."""
        return f"{self.key_id}:{base64.b64encode(self.material).decode('ascii')}"


class QuarantineKeyring:
    """The current key, used to encrypt, and every key that may still be needed to decrypt."""

    __slots__ = ("_by_id", "_current")

    def __init__(self, current: QuarantineKey, older: Iterable[QuarantineKey] = ()) -> None:
        keys = [current, *older]
        by_id: dict[str, QuarantineKey] = {}
        for key in keys:
            if key.key_id in by_id:
                raise KeyringError(f"quarantine key id {key.key_id!r} appears twice")
            by_id[key.key_id] = key
        self._current = current
        self._by_id = by_id

    @property
    def current(self) -> QuarantineKey:
        """The key new items are encrypted with."""
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id, the current one first."""
        return tuple(self._by_id)

    def get(self, key_id: str) -> QuarantineKey | None:
        """The key with this id, or None."""
        return self._by_id.get(key_id)

    def all_keys(self) -> tuple[QuarantineKey, ...]:
        """Every key, the current one first."""
        return tuple(self._by_id.values())

    def __repr__(self) -> str:
        return f"QuarantineKeyring(key_ids={self.key_ids!r})"

    __str__ = __repr__


def generate_key(key_id: str | None = None) -> QuarantineKey:
    """A fresh random key (id ``k<8 hex>`` unless given)."""
    return QuarantineKey(key_id or f"k{secrets.token_hex(4)}", secrets.token_bytes(KEY_BYTES))


def parse_keyring(text: str) -> QuarantineKeyring:
    """Parse ``id:base64[,id:base64...]`` (commas or new lines; ``#`` starts a comment line)."""
    entries = [
        entry.strip()
        for line in text.splitlines()
        if not line.strip().startswith("#")
        for entry in line.split(",")
        if entry.strip()
    ]
    if not entries:
        raise KeyringError("no quarantine key given")
    keys = [_parse_key(entry, position) for position, entry in enumerate(entries, start=1)]
    return QuarantineKeyring(keys[0], keys[1:])


def _parse_key(entry: str, position: int) -> QuarantineKey:
    # Messages name the position, never the text: a malformed entry may still be most of a secret.
    key_id, sep, encoded = entry.partition(":")
    if not sep:
        raise KeyringError(f"quarantine key #{position} is not written <key_id>:<base64 of 32 bytes>")
    try:
        material = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"quarantine key #{position} is not valid base64") from None
    return QuarantineKey(key_id.strip(), material)


def load_keyring(settings: Settings) -> tuple[QuarantineKeyring, str | None]:
    """The configured keyring, creating ``<data_dir>/quarantine.key`` when no key exists anywhere.

    Returns the keyring and, when a key file was just created, a message for the caller to log (it names the
    file, never the key). An explicitly configured key file that is missing is an error, not a reason to
    make a new key: a new key could not read what the old one encrypted.
    """
    storage = settings.storage
    if storage.quarantine_key is not None:
        return parse_keyring(storage.quarantine_key.get_secret_value()), None
    if storage.quarantine_key_file is not None:
        path = storage.quarantine_key_file
        if not path.exists():
            raise KeyringError(f"the quarantine key file {path} does not exist")
        return parse_keyring(read_secret_file(path)), None
    path = settings.data_dir / DEFAULT_KEY_FILE
    created = create_secret_file(path, generate_key().reveal() + "\n")
    keyring = parse_keyring(read_secret_file(path))
    if not created:
        return keyring, None
    return keyring, (
        f"created a new quarantine key in {path}: back it up; without it quarantined images cannot be read"
    )


def load_pseudonym_key(settings: Settings) -> tuple[bytes, str | None]:
    """The audit log's pseudonym key from ``<data_dir>/audit-pseudonym.key``, created on first start.

    Kept apart from the quarantine keys: rotating those must not change every poster's pseudonym. Returns
    the key and, when the file was just created, a message to log (naming the file, never the key).
    """
    path = settings.data_dir / DEFAULT_PSEUDONYM_KEY_FILE
    fresh = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
    created = create_secret_file(path, fresh + "\n")
    try:
        key = base64.b64decode(read_secret_file(path).strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"the pseudonym key file {path} is not valid base64") from None
    if len(key) < 16:
        raise KeyringError(f"the pseudonym key in {path} is shorter than 16 bytes")
    message = f"created a new audit pseudonym key in {path}: back it up" if created else None
    return key, message


def read_secret_file(path: Path) -> str:
    """Read a key file, refusing one that its group or others may read or write."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise KeyringError(f"the key file {path} does not exist") from None
    if not stat.S_ISREG(status.st_mode):
        raise KeyringError(f"the key file {path} is not a regular file")
    # POSIX permissions only: Windows reports synthetic modes.
    if os.name == "posix" and status.st_mode & 0o077:
        raise InsecureKeyFileError(
            f"the key file {path} has mode {stat.S_IMODE(status.st_mode):04o}: "
            f"group and others must have no access (chmod 600 {path})"
        )
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise KeyringError(f"the key file {path} is not ASCII text") from None
    if not text.strip():
        raise KeyringError(f"the key file {path} is empty")
    return text


def create_secret_file(path: Path, content: str) -> bool:
    """Create ``path`` holding ``content``, mode 0600 from the start; False when it already exists.

    The content is written to a temporary file opened with ``O_CREAT | O_EXCL`` and mode 0600, then
    hard-linked into place: the file is never readable by others, even for a moment, a crash never leaves a
    half-written key behind, and when two processes race exactly one key wins and both use it.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, 0o600)
    try:
        try:
            # The umask may only remove bits; fchmod makes the mode exactly owner read-write.
            if hasattr(os, "fchmod"):
                os.fchmod(descriptor, 0o600)
            os.write(descriptor, content.encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        _fsync_directory(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _fsync_directory(directory: Path) -> None:
    # Makes the new name durable: a key that vanishes after a power cut would orphan what it encrypted.
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


#: Default file of the scan queue's key in the data directory.
DEFAULT_QUEUE_KEY_FILE = "queue.key"


def load_queue_key(settings: Settings) -> tuple[bytes, str | None]:
    """The key sealing scan jobs in Redis: ``queue.key``, else ``queue.key_file``, else the data directory's.

    Apart from the quarantine keys: a worker host holds this key only, never one that opens the quarantine.
    Returns the key and, when the default file was just created, a message to log (naming the file only).
    """
    queue = settings.queue
    if queue.key is not None:
        return parse_keyring(queue.key.get_secret_value()).current.material, None
    if queue.key_file is not None:
        if not queue.key_file.exists():
            raise KeyringError(f"the queue key file {queue.key_file} does not exist")
        return parse_keyring(read_secret_file(queue.key_file)).current.material, None
    path = settings.data_dir / DEFAULT_QUEUE_KEY_FILE
    created = create_secret_file(path, generate_key().reveal() + "\n")
    key = parse_keyring(read_secret_file(path)).current.material
    message = (
        f"created a new scan queue key in {path}: give every worker host the same key" if created else None
    )
    return key, message
