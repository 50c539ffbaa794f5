"""The capture key: seals names, signatures and tokens at rest, and keys the hashes of codes and forms.

One file, ``<key_id>:<base64 of 32 bytes>`` per line (the quarantine key's format; the first line is the
current key), created mode 0600 on first start. The registry is a service apart and does not import the
bot's storage (an import-linter contract), hence this small AES-256-GCM of its own: the same sealed layout
as :class:`bot.storage.sealing.Sealer` (``key id, NUL, 12-byte nonce, ciphertext and tag``), every record
bound to associated data naming its field and row.

The hashes of withdrawal codes, CSRF tokens and receipt cookies are HMACs under keys derived from the
current key: a copy of the database alone does not let anyone test withdrawal codes offline.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot.errors import ConfigurationError, SealError

KEY_BYTES = 32
NONCE_BYTES = 12
_TAG_BYTES = 16
#: The key file's name in the registry's data directory (next to its SQLite database by default).
DEFAULT_KEY_FILE = "registry-capture.key"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class CaptureKeys:
    """AES-256-GCM sealing and HMACs with the capture key; older keys of the file still open records."""

    __slots__ = ("_ciphers", "_current", "_mac_root")

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigurationError("the capture key file holds no key")
        for key_id, material in keys:
            if not _KEY_ID.match(key_id) or len(material) != KEY_BYTES:
                raise ConfigurationError(f"a capture key is <key_id>:<base64 of {KEY_BYTES} bytes>")
        self._ciphers = {key_id: AESGCM(material) for key_id, material in keys}
        self._current = keys[0][0]
        self._mac_root = hmac.new(keys[0][1], b"consentguard capture mac v1", hashlib.sha256).digest()

    @classmethod
    def load(cls, path: Path) -> CaptureKeys:
        """Read the key file at ``path``, creating it (mode 0600, a fresh key) when it does not exist."""
        fresh = f"c{secrets.token_hex(4)}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}\n"
        _create_secret_file(path, fresh)
        return cls(_parse(_read_secret_file(path), path))

    @classmethod
    def generate(cls) -> CaptureKeys:
        """A key that lives in memory only (tests, a throwaway in-memory registry)."""
        return cls([(f"c{secrets.token_hex(4)}", secrets.token_bytes(KEY_BYTES))])

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Encrypt ``plaintext`` bound to ``aad``: the key id, a NUL byte, the nonce, the ciphertext."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(nonce, plaintext, aad)
        return self._current.encode("ascii") + b"\0" + nonce + sealed

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt what :meth:`seal` made with the same ``aad``; raises :class:`SealError`."""
        key_id, separator, rest = sealed.partition(b"\0")
        if not separator or len(rest) < NONCE_BYTES + _TAG_BYTES:
            raise SealError("sealed capture record is truncated")
        recorded = key_id.decode("ascii", errors="replace")
        for candidate in [recorded, *(other for other in self._ciphers if other != recorded)]:
            cipher = self._ciphers.get(candidate)
            if cipher is None:
                continue
            try:
                return cipher.decrypt(rest[:NONCE_BYTES], rest[NONCE_BYTES:], aad)
            except InvalidTag:
                continue
        raise SealError("no capture key opens the sealed record")

    def mac(self, purpose: str, value: str) -> str:
        """Hex HMAC-SHA256 of ``value`` under a key derived for ``purpose`` (never reused across purposes)."""
        subkey = hmac.new(self._mac_root, purpose.encode(), hashlib.sha256).digest()
        return hmac.new(subkey, value.encode(), hashlib.sha256).hexdigest()

    def seal_with_code(self, plaintext: bytes, code: str, aad: bytes) -> bytes:
        """Encrypt under a key derived from ``code`` and the capture key: only the code's holder opens it."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + AESGCM(self._code_key(code)).encrypt(nonce, plaintext, aad)

    def open_with_code(self, sealed: bytes, code: str, aad: bytes) -> bytes:
        """Decrypt what :meth:`seal_with_code` made; raises :class:`SealError` for a wrong code."""
        if len(sealed) < NONCE_BYTES + _TAG_BYTES:
            raise SealError("sealed capture record is truncated")
        try:
            return AESGCM(self._code_key(code)).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except InvalidTag:
            raise SealError("the code does not open this record") from None

    def _code_key(self, code: str) -> bytes:
        return bytes.fromhex(self.mac("code-seal", code))

    def __repr__(self) -> str:
        return f"CaptureKeys(key_ids={tuple(self._ciphers)!r})"


def _parse(text: str, path: Path) -> list[tuple[str, bytes]]:
    keys: list[tuple[str, bytes]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, sep, encoded = entry.partition(":")
        try:
            material = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            material = b""
        # The message names the line, never its text: a malformed line may still be most of a secret.
        if not sep or len(material) != KEY_BYTES or not _KEY_ID.match(key_id.strip()):
            raise ConfigurationError(
                f"{path}, line {number}: expected <key_id>:<base64 of {KEY_BYTES} bytes>"
            )
        keys.append((key_id.strip(), material))
    return keys


def _read_secret_file(path: Path) -> str:
    status = os.stat(path)
    if not stat.S_ISREG(status.st_mode):
        raise ConfigurationError(f"the capture key file {path} is not a regular file")
    if os.name == "posix" and status.st_mode & 0o077:
        raise ConfigurationError(
            f"the capture key file {path} has mode {stat.S_IMODE(status.st_mode):04o}: "
            f"group and others must have no access (chmod 600 {path})"
        )
    try:
        return path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise ConfigurationError(f"the capture key file {path} is not ASCII text") from None


def _create_secret_file(path: Path, content: str) -> None:
    """Create ``path`` mode 0600 from the start (temporary file, then a hard link: one winner in a race)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, 0o600)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(descriptor, 0o600)
            os.write(descriptor, content.encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
