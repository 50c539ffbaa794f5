"""Operator functions behind ``consentguard consent-api …``: they work on the database directly.

Each call opens the database, brings its schema up to date, acts and closes it, so it works with or without
the server running (SQLite in WAL mode lets both share the file).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.consent.model import ChatRef, Purpose, UserRef
from bot.consent.token import parse_token
from bot.errors import InvalidRequestError, UnknownConsentError
from bot.registry.app import ConsentOut
from bot.registry.db import create_registry_engine, create_session_factory
from bot.registry.keys import Role
from bot.registry.migrations import upgrade
from bot.registry.service import ConsentRegistry, IssuingRules


@contextmanager
def _registry(database_url: str, rules: IssuingRules | None = None) -> Iterator[ConsentRegistry]:
    engine = create_registry_engine(database_url)
    try:
        upgrade(engine)
        yield ConsentRegistry(create_session_factory(engine), rules=rules)
    finally:
        engine.dispose()


def new_key(database_url: str, role: str, owner: str | None = None) -> str:
    """Create an API key for ``role`` (bot, clinician or admin) and return it; it cannot be shown again.

    Raises:
        ValueError: unknown role.

    """
    try:
        parsed_role = Role(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(Role)}") from None
    with _registry(database_url) as registry:
        return registry.create_key(parsed_role, owner)


def revoke_key(database_url: str, key_id: str) -> bool:
    """Revoke an API key by its public id (the 8 characters after ``cgk_<role>_``); False if unknown."""
    with _registry(database_url) as registry:
        return registry.revoke_key(key_id)


def new_consent(
    database_url: str,
    *,
    patient_ref: str,
    groups: list[str],
    clinicians: list[str],
    purposes: list[str],
    days: int,
    max_images: int | None,
    issued_by: str = "cli",
    rules: IssuingRules | None = None,
) -> dict[str, Any]:
    """Issue a consent as the operator and return ``{"token": …}`` plus the record, as JSON-able values.

    The operator may name wildcards and is not rate-limited; ``days`` and ``max_images`` (None: the rules'
    default) must stay within ``rules`` (default :class:`IssuingRules`: 365 days, 10 images, at most 100).

    Raises:
        ValueError: a malformed group, clinician or purpose, or a value out of range.

    """
    try:
        parsed_purposes = {Purpose(text.strip().lower()) for text in purposes}
    except ValueError:
        raise ValueError(f"purposes must be among: {', '.join(Purpose)}") from None
    with _registry(database_url, rules) as registry:
        try:
            issued = registry.issue(
                patient_ref=patient_ref,
                groups=[ChatRef.parse(text) for text in groups],
                clinicians=[UserRef.parse(text) for text in clinicians],
                purposes=parsed_purposes,
                days=days,
                max_images=max_images,
                issued_by=issued_by,
            )
        except InvalidRequestError as invalid:
            raise ValueError(str(invalid)) from invalid
    return {"token": issued.token.value, **ConsentOut.from_record(issued.record).model_dump(mode="json")}


def revoke_consent(database_url: str, token: str) -> bool:
    """Revoke the consent of ``token``; True when it exists (now revoked), False when no consent has it.

    Raises:
        InvalidTokenError: ``token`` is not a well-formed token.

    """
    parsed = parse_token(token)
    with _registry(database_url) as registry:
        try:
            registry.revoke(parsed)
        except UnknownConsentError:
            return False
        return True


def show_consent(database_url: str, token: str) -> dict[str, Any]:
    """What ``GET /v1/consents/{token}`` would answer, as JSON-able values.

    Raises:
        InvalidTokenError: ``token`` is not a well-formed token.

    """
    parsed = parse_token(token)
    with _registry(database_url) as registry:
        return ConsentOut.from_record(registry.lookup(parsed)).model_dump(mode="json")
