"""API keys: ``cgk_<role>_<32 url-safe characters>``, stored as a SHA-256 hash under a public key id.

The first :data:`KEY_ID_LENGTH` random characters are the key id: they index the stored hash and name the
key in logs. The remaining 24 characters (144 bits) stay secret, and the hash covers the whole key.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "cgk"
RANDOM_LENGTH = 32
KEY_ID_LENGTH = 8
_KEY = re.compile(rf"^{KEY_PREFIX}_(?P<role>[a-z]+)_(?P<random>[A-Za-z0-9_-]{{{RANDOM_LENGTH}}})$")


class Role(enum.StrEnum):
    """What a key may do."""

    BOT = "bot"  # look up consents (no patient_ref), record uses, read revocations, revoke for a clinician
    CLINICIAN = "clinician"  # issue consents (no wildcard, rate-limited), revoke the ones it issued
    ADMIN = "admin"  # everything, wildcards included


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly generated key: the secret (shown once) and what is stored."""

    secret: str
    key_id: str
    key_hash: str
    role: Role

    def __repr__(self) -> str:
        return f"NewKey(key_id={self.key_id!r}, role={self.role.value!r}, secret=<redacted>)"


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a verified key."""

    key_id: str
    role: Role
    owner: str | None

    @property
    def identity(self) -> str:
        """Who issues consents with this key: its owner, or the key itself when it has none."""
        return self.owner or f"key:{self.key_id}"


def hash_key(secret: str) -> str:
    """SHA-256 of the whole key, hex (the key is 190+ random bits: no salt or slow hash needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key(role: Role) -> NewKey:
    """Generate a key for ``role`` from the OS's secure random source."""
    random_part = secrets.token_urlsafe(RANDOM_LENGTH * 3 // 4)
    secret = f"{KEY_PREFIX}_{role.value}_{random_part}"
    return NewKey(secret=secret, key_id=random_part[:KEY_ID_LENGTH], key_hash=hash_key(secret), role=role)


def key_id_of(secret: str) -> str | None:
    """The public id of a key-shaped string, or None when it is not shaped like one of our keys."""
    match = _KEY.match(secret)
    if match is None or match["role"] not in Role.__members__.values():
        return None
    return match["random"][:KEY_ID_LENGTH]


def matches(secret: str, stored_hash: str) -> bool:
    """Compare a presented key with a stored hash in constant time."""
    return hmac.compare_digest(hash_key(secret), stored_hash)
