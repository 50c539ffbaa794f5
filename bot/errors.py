"""The project's one error tree. Every error consentguard raises on purpose is a ConsentGuardError.

ConsentGuardError                      (detectors/errors.py: the root, shared with the pure detectors)
 ├── ImageError                        an image cannot be scanned: the bot fails closed on it
 │    ├── UnsupportedImageError        a kind of file the bot cannot look into (zip, office, audio)
 │    ├── CorruptImageError            a known format, truncated or malformed
 │    └── ImageTooLargeError           a decompression bomb or a file over the size limit
 ├── DetectorError                     a detector crashed or its model could not load
 ├── ConfigurationError                the settings or the policy file do not allow the bot to start
 │    └── PolicyError                  the policy file is invalid (the message says where)
 ├── InvalidTokenError                 the text is not a well-formed consent token
 ├── ConsentLookupError                the consent API could not give a trustworthy answer: quarantine
 │    ├── ConsentApiUnavailableError   down, too slow, or 5xx after every retry
 │    ├── ConsentApiRateLimitedError   still 429 after every retry
 │    └── ConsentApiProtocolError      an answer we do not understand (or our key was refused)
 ├── ConsentUseRefusedError            the registry refused to record a use (the consent does not cover it)
 ├── StorageError                      the bot's own storage
 │    ├── KeyringError                 the key configuration is unusable
 │    │    └── InsecureKeyFileError    a key file readable or writable by others
 │    ├── SealError                    a sealed record does not open (unknown key, tampered)
 │    └── QuarantineError
 │         ├── QuarantineKeyError      no key of the keyring decrypts an item
 │         ├── QuarantineItemNotFoundError
 │         └── QuarantineItemNotPendingError   approved, rejected or purged already
 ├── ReviewError                       a moderator's action cannot be carried out
 │    └── NotAModeratorError           the person is not a moderator of the item's group
 └── RegistryError                     the reference consent registry's own refusals
      ├── InvalidRequestError          a value out of range, an empty list
      ├── UnknownConsentError          no consent has this token
      ├── NotAllowedError              the key may not act on this consent
      └── ScopeRefusedError            the consent does not cover the use

Handlers catch what they mean: the pipeline catches ConsentLookupError (quarantine and retry), the review
handlers catch QuarantineError and ReviewError (tell the moderator), the CLI catches ConfigurationError.
Messages never carry patient data: no file content, no decoded text, no EXIF value, no token.
"""

from __future__ import annotations

from bot.consent.model import ScopeProblem, TokenProblem
from detectors.errors import (
    ConsentGuardError,
    CorruptImageError,
    DetectorError,
    ImageError,
    ImageTooLargeError,
    UnsupportedImageError,
)

__all__ = [
    "ConfigurationError",
    "ConsentApiProtocolError",
    "ConsentApiRateLimitedError",
    "ConsentApiUnavailableError",
    "ConsentGuardError",
    "ConsentLookupError",
    "ConsentUseRefusedError",
    "CorruptImageError",
    "DetectorError",
    "ImageError",
    "ImageTooLargeError",
    "InsecureKeyFileError",
    "InvalidRequestError",
    "InvalidTokenError",
    "KeyringError",
    "NotAModeratorError",
    "NotAllowedError",
    "PolicyError",
    "QuarantineError",
    "QuarantineItemNotFoundError",
    "QuarantineItemNotPendingError",
    "QuarantineKeyError",
    "RegistryError",
    "ReviewError",
    "ScopeRefusedError",
    "SealError",
    "StorageError",
    "UnknownConsentError",
    "UnsupportedImageError",
]


class ConfigurationError(ConsentGuardError):
    """The settings do not allow the bot to start; the message says what to set."""


class PolicyError(ConfigurationError, ValueError):
    """The policy file is invalid; the message says where."""


class InvalidTokenError(ConsentGuardError, ValueError):
    """The text is not a well-formed consent token."""

    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(f"invalid consent token: {problem.value}")
        self.problem = problem


# -- the consent API, as the bot's client sees it ------------------------------------------------------


class ConsentLookupError(ConsentGuardError):
    """The consent API could not give a trustworthy answer."""


class ConsentApiUnavailableError(ConsentLookupError):
    """Down, too slow, or failing with 5xx after every retry."""


class ConsentApiRateLimitedError(ConsentLookupError):
    """Still rate-limited (429) after every retry."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConsentApiProtocolError(ConsentLookupError):
    """The API answered something we do not understand (bad JSON, bad schema, unexpected status, bad key)."""


class ConsentUseRefusedError(ConsentGuardError):
    """The registry refused to record a use: the consent does not cover this post."""

    def __init__(self, problem: ScopeProblem) -> None:
        super().__init__(f"consent use refused: {problem.value}")
        self.problem = problem


# -- the bot's storage -----------------------------------------------------------------------------------


class StorageError(ConsentGuardError):
    """Root of the bot's storage errors."""


class KeyringError(StorageError):
    """The quarantine key configuration is unusable (bad format, missing file)."""


class InsecureKeyFileError(KeyringError):
    """A key file is readable or writable by its group or by others."""


class SealError(StorageError):
    """A sealed record cannot be opened (unknown key id, or tampered with)."""


class QuarantineError(StorageError):
    """Root of the quarantine's errors."""


class QuarantineKeyError(QuarantineError):
    """No key of the keyring decrypts an item: the key is missing or wrong, or the data was altered."""


class QuarantineItemNotFoundError(QuarantineError, LookupError):
    """No quarantined item has this id."""


class QuarantineItemNotPendingError(QuarantineError):
    """The item was already approved, rejected or purged (or its retention has run out)."""

    def __init__(self, item_id: str, status: str) -> None:
        super().__init__(f"quarantine item {item_id} is {status}, not pending")
        self.item_id = item_id
        self.status = status


# -- moderators' review ---------------------------------------------------------------------------------


class ReviewError(ConsentGuardError):
    """A moderator's action cannot be carried out."""


class NotAModeratorError(ReviewError):
    """The person is not a moderator of the item's group (rechecked at every action)."""


# -- the reference registry ----------------------------------------------------------------------------


class RegistryError(ConsentGuardError):
    """Root of the registry's own errors."""


class InvalidRequestError(RegistryError, ValueError):
    """The request is malformed (a value out of range, an empty list)."""


class UnknownConsentError(RegistryError):
    """No consent has this token."""


class NotAllowedError(RegistryError):
    """The key may not act on this consent."""


class ScopeRefusedError(RegistryError):
    """The consent does not cover the use; ``problem`` says why."""

    def __init__(self, problem: ScopeProblem) -> None:
        super().__init__(f"consent does not cover this use: {problem.value}")
        self.problem = problem
