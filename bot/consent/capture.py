"""Consent capture in chat: the CaptureLinks port and its values (adapter: bot.consent.capture_client).

A clinician asks the bot for a consent form (``/consent``); the registry opens a one-time link to a form the
patient signs on the clinician's phone, and gives the new consent's token once, to the first status asked
after signing. A clinician may also withdraw a consent in chat (``/withdraw``): the bot asks the registry
on their behalf. Pure: no I/O. Errors: :class:`CaptureLinkError` (the registry could not answer; a
:class:`~bot.errors.ConsentLookupError`), :class:`CaptureRateLimitedError` (this clinician asked too often).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.consent.model import ChatRef, UserRef
from bot.consent.token import ConsentToken
from bot.errors import ConsentLookupError


class LinkStatus(enum.StrEnum):
    """Where a capture link stands (``GET /v1/capture-links/{id}``)."""

    PENDING = "pending"
    SIGNED = "signed"  # the token comes with the first answer that says so
    EXPIRED = "expired"
    COLLECTED = "collected"  # signed, and the token was given already


@dataclass(frozen=True, slots=True)
class CaptureLink:
    """A one-time link to a consent form. The URL is a secret: for the clinician's private chat only."""

    link_id: str
    url: str = dataclasses.field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LinkState:
    """A link's status, with the new consent's token the one time the registry gives it."""

    status: LinkStatus
    token: ConsentToken | None = None


class WithdrawOutcome(enum.StrEnum):
    """What the registry said to a withdrawal asked in chat."""

    REVOKED = "revoked"  # revoked now, or before (harmless twice)
    NOT_YOURS = "not-yours"  # 403: the clinician neither issued this consent nor is named in it
    UNKNOWN = "unknown"  # 404: no consent has this token


class CaptureLinkError(ConsentLookupError):
    """The registry could not open, report or withdraw (down, refused our key, an answer we do not read)."""


class CaptureRateLimitedError(CaptureLinkError):
    """The clinician asked for too many links: try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CaptureLinks(Protocol):
    """What the chat front ends need from the registry to capture and withdraw consents."""

    async def create(
        self, *, clinician: UserRef, chat: ChatRef, language: str, chat_title: str | None
    ) -> CaptureLink:
        """Open a consent form for ``clinician`` and ``chat``."""
        ...

    async def status(self, link_id: str) -> LinkState:
        """Where the link stands (the token, once, when signed)."""
        ...

    async def withdraw(self, token: ConsentToken, *, on_behalf_of: UserRef) -> WithdrawOutcome:
        """Revoke the consent of ``token`` on behalf of the clinician who asks in chat."""
        ...
