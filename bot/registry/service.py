"""The registry's operations, shared by the HTTP API and the operator commands.

Tokens arrive parsed (:class:`~bot.consent.token.ConsentToken`) and are looked up by the SHA-256 of their
compact form; the registry keeps no token in clear and hands a new one out exactly once, at issue time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.consent.model import (
    ChatRef,
    ConsentRecord,
    ConsentStatus,
    ConsentUse,
    Purpose,
    Revocation,
    ScopeProblem,
    ScopeRequest,
    UserRef,
    check_scope,
)
from bot.consent.token import ConsentToken, new_token
from bot.errors import (
    InvalidRequestError,
    NotAllowedError,
    RegistryError,
    ScopeRefusedError,
    UnknownConsentError,
)
from bot.registry.db import ApiKeyRow, ConsentRow, ConsentUseRow
from bot.registry.keys import Principal, Role, generate_key, key_id_of, matches
from bot.sqlbase import writing

#: Longest consent a registry issues, in days (ten years).
MAX_DAYS = 3650
#: Largest ``max_images`` a consent may carry.
MAX_IMAGES = 10_000
PATIENT_REF_MAX = 256

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def token_fingerprint(token: ConsentToken) -> str:
    """Hex SHA-256 of the compact token: the stored lookup key and the id published in revocations.

    Unsalted on purpose: a bot that saw a token computes the same value to match a revocation, and 80
    random bits leave nothing to brute-force.
    """
    return hashlib.sha256(token.compact.encode()).hexdigest()


#: An image posted under a consent: the same value the bot's client sends.
UseRequest = ConsentUse


@dataclass(frozen=True, slots=True)
class RecordedUse:
    """A use as stored; ``created`` is False when the same image of the same message was recorded before."""

    chat: ChatRef
    message_id: str
    image_sha256: str
    poster: str
    purpose: Purpose
    recorded_at: datetime
    images_used: int
    created: bool


@dataclass(frozen=True, slots=True)
class IssuedConsent:
    """A new consent and its token (the only time the registry can show the token)."""

    token: ConsentToken
    record: ConsentRecord

    def __repr__(self) -> str:
        return f"IssuedConsent(token=<redacted>, status={self.record.status.value!r})"


class ConsentRegistry:
    """Consents, their uses and API keys, over a SQLAlchemy session factory."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = utc_now) -> None:
        self._sessions = sessions
        self._clock = clock

    # -- consents ---------------------------------------------------------------------------------------

    def issue(
        self,
        *,
        patient_ref: str,
        groups: Sequence[ChatRef],
        clinicians: Sequence[UserRef],
        purposes: Collection[Purpose],
        days: int,
        max_images: int | None,
        issued_by: str,
    ) -> IssuedConsent:
        """Create a consent valid for ``days`` days from now and return it with its new token."""
        _validate_issue(patient_ref, groups, clinicians, purposes, days, max_images)
        now = self._clock()
        for _attempt in range(3):
            token = new_token()
            row = ConsentRow(
                token_hash=token_fingerprint(token),
                patient_ref=patient_ref,
                purposes=json.dumps(sorted(p.value for p in purposes)),
                groups=json.dumps(_unique(str(g) for g in groups)),
                clinicians=json.dumps(_unique(str(c) for c in clinicians)),
                valid_until=now + timedelta(days=days),
                max_images=max_images,
                issued_by=issued_by,
                created_at=now,
            )
            try:
                with writing(self._sessions) as session:
                    session.add(row)
                    session.flush()
                    return IssuedConsent(token, _record(row, images_used=0, now=now))
            except IntegrityError:  # a token collision: 1 in 2**80 per live token; draw again
                continue
        raise RegistryError("could not draw an unused token")

    def lookup(self, token: ConsentToken) -> ConsentRecord:
        """What the registry says of ``token`` now; status ``unknown`` when no consent has it."""
        now = self._clock()
        with self._sessions() as session:
            row = _find(session, token)
            if row is None:
                return ConsentRecord(status=ConsentStatus.UNKNOWN)
            return _record(row, images_used=_count_uses(session, row.id), now=now)

    def record_use(self, token: ConsentToken, use: UseRequest) -> RecordedUse:
        """Record that an image was posted under ``token``; raise :class:`ScopeRefusedError` if not covered.

        Idempotent: the same image of the same message is counted once and returned as recorded, even if
        the consent has since been revoked or used up (the post was allowed when it was made).
        """
        for _attempt in range(2):
            try:
                return self._record_use_once(token, use)
            except IntegrityError:
                # Another request recorded the same image between our check and our insert: the retry
                # finds its row and answers as a replay.
                continue
        raise RegistryError("could not record the use")

    def _record_use_once(self, token: ConsentToken, use: UseRequest) -> RecordedUse:
        now = self._clock()
        with writing(self._sessions) as session:
            row = _find(session, token, for_update=True)
            if row is None:
                raise ScopeRefusedError(ScopeProblem.UNKNOWN)
            existing = session.scalars(
                select(ConsentUseRow).where(
                    ConsentUseRow.consent_id == row.id,
                    ConsentUseRow.platform == use.chat.platform,
                    ConsentUseRow.chat_id == use.chat.chat_id,
                    ConsentUseRow.message_id == use.message_id,
                    ConsentUseRow.image_sha256 == use.image_sha256,
                )
            ).first()
            if existing is not None:
                return _recorded(existing, _count_uses(session, row.id), created=False)
            record = _record(row, images_used=_count_uses(session, row.id), now=now)
            problem = check_scope(
                record, ScopeRequest(chat=use.chat, poster=use.poster, purpose=use.purpose, images=1, at=now)
            )
            if problem is not None:
                raise ScopeRefusedError(problem)
            stored = ConsentUseRow(
                consent_id=row.id,
                platform=use.chat.platform,
                chat_id=use.chat.chat_id,
                message_id=use.message_id,
                image_sha256=use.image_sha256,
                poster=str(use.poster),
                purpose=use.purpose.value,
                recorded_at=now,
            )
            session.add(stored)
            session.flush()
            return _recorded(stored, record.images_used + 1, created=True)

    def revoke(self, token: ConsentToken, *, by: Principal | None = None) -> ConsentRecord:
        """Revoke the consent (idempotent: the first revocation time stays) and return its record.

        ``by`` is the key acting through the API; a clinician key may revoke only what its owner issued.
        None means the operator (the CLI), who may revoke anything.
        """
        now = self._clock()
        with writing(self._sessions) as session:
            row = _find(session, token, for_update=True)
            if row is None:
                raise UnknownConsentError("no consent has this token")
            if by is not None and by.role is not Role.ADMIN and row.issued_by != by.identity:
                raise NotAllowedError("this key did not issue this consent")
            if row.revoked_at is None:
                row.revoked_at = now
            return _record(row, images_used=_count_uses(session, row.id), now=now)

    def revocations(self, since: datetime | None = None, limit: int = 1000) -> list[Revocation]:
        """Revocations at or after ``since`` (all when None), oldest first, at most ``limit``."""
        query = select(ConsentRow.token_hash, ConsentRow.revoked_at).where(ConsentRow.revoked_at.is_not(None))
        if since is not None:
            query = query.where(ConsentRow.revoked_at >= _aware(since))
        query = query.order_by(ConsentRow.revoked_at, ConsentRow.id).limit(limit)
        with self._sessions() as session:
            return [
                Revocation(token_fingerprint=token_hash, revoked_at=revoked_at)
                for token_hash, revoked_at in session.execute(query)
                if revoked_at is not None
            ]

    # -- API keys -------------------------------------------------------------------------------------------

    def create_key(self, role: Role, owner: str | None = None) -> str:
        """Create an API key and return it; only its hash is kept, so this is the one time it is seen."""
        for _attempt in range(3):
            new = generate_key(role)
            try:
                with writing(self._sessions) as session:
                    session.add(
                        ApiKeyRow(
                            key_id=new.key_id,
                            key_hash=new.key_hash,
                            role=role.value,
                            owner=owner,
                            created_at=self._clock(),
                        )
                    )
                return new.secret
            except IntegrityError:  # key id collision (48 bits): draw again
                continue
        raise RegistryError("could not draw an unused key id")

    def revoke_key(self, key_id: str) -> bool:
        """Revoke an API key by its public id; False when there is no such key."""
        with writing(self._sessions) as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                return False
            if row.revoked_at is None:
                row.revoked_at = self._clock()
            return True

    def authenticate(self, secret: str) -> Principal | None:
        """The principal holding ``secret``, or None for a malformed, unknown, wrong or revoked key."""
        key_id = key_id_of(secret)
        if key_id is None:
            return None
        with self._sessions() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None or not matches(secret, row.key_hash):
                return None
            return Principal(key_id=row.key_id, role=Role(row.role), owner=row.owner)


def _validate_issue(
    patient_ref: str,
    groups: Sequence[ChatRef],
    clinicians: Sequence[UserRef],
    purposes: Collection[Purpose],
    days: int,
    max_images: int | None,
) -> None:
    if not patient_ref.strip() or len(patient_ref) > PATIENT_REF_MAX:
        raise InvalidRequestError(f"patient_ref must be 1 to {PATIENT_REF_MAX} characters, not blank")
    if not groups:
        raise InvalidRequestError("a consent must name at least one group (or * for any)")
    if not clinicians:
        # check_scope lets nobody post under a consent that names no clinician: refuse to issue a dud.
        raise InvalidRequestError("a consent must name at least one clinician (or platform:* for anyone)")
    if not purposes:
        raise InvalidRequestError("a consent must name at least one purpose")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidRequestError(f"days must be between 1 and {MAX_DAYS}")
    if max_images is not None and not 1 <= max_images <= MAX_IMAGES:
        raise InvalidRequestError(f"max_images must be between 1 and {MAX_IMAGES}, or absent")


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _aware(moment: datetime) -> datetime:
    # A naive "since" from a client is read as UTC rather than refused.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _find(session: Session, token: ConsentToken, *, for_update: bool = False) -> ConsentRow | None:
    query = select(ConsentRow).where(ConsentRow.token_hash == token_fingerprint(token))
    if for_update:
        query = query.with_for_update()  # PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE
    return session.scalars(query).first()


def _count_uses(session: Session, consent_id: int) -> int:
    counted = session.scalar(
        select(func.count()).select_from(ConsentUseRow).where(ConsentUseRow.consent_id == consent_id)
    )
    return int(counted or 0)


def _record(row: ConsentRow, *, images_used: int, now: datetime) -> ConsentRecord:
    if row.revoked_at is not None:
        status = ConsentStatus.REVOKED
    elif row.valid_until is not None and now >= row.valid_until:
        status = ConsentStatus.EXPIRED
    else:
        status = ConsentStatus.GRANTED
    return ConsentRecord(
        status=status,
        purposes=frozenset(Purpose(value) for value in json.loads(row.purposes)),
        groups=tuple(ChatRef.parse(text) for text in json.loads(row.groups)),
        clinicians=tuple(UserRef.parse(text) for text in json.loads(row.clinicians)),
        valid_until=row.valid_until,
        max_images=row.max_images,
        images_used=images_used,
        patient_ref=row.patient_ref,
    )


def _recorded(row: ConsentUseRow, images_used: int, *, created: bool) -> RecordedUse:
    return RecordedUse(
        chat=ChatRef(row.platform, row.chat_id),
        message_id=row.message_id,
        image_sha256=row.image_sha256,
        poster=row.poster,
        purpose=Purpose(row.purpose),
        recorded_at=row.recorded_at,
        images_used=images_used,
        created=created,
    )
