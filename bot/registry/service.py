"""The registry's operations, shared by the HTTP API and the operator commands.

Tokens arrive parsed (:class:`~bot.consent.token.ConsentToken`) and are looked up by the SHA-256 of their
compact form; the registry keeps no token in clear and hands a new one out exactly once, at issue time.

Who may issue what (:class:`IssuingRules`):

- the operator (``consentguard consent new``) and admin keys: any scope, wildcards included, within the
  longest validity and the most images the rules allow; no issuing limit;
- clinician keys (:meth:`ConsentRegistry.issue_as`) and the bot acting for a clinician in chat
  (:meth:`ConsentRegistry.issue_on_behalf_of`): the same maxima, no wildcard group or clinician, and at most
  ``issues_per_hour`` consents per hour per issuing key and per clinician identity.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.consent.model import (
    ANY,
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
    ConfigurationError,
    InvalidRequestError,
    NotAllowedError,
    RegistryError,
    ScopeRefusedError,
    UnknownConsentError,
)
from bot.registry.db import ApiKeyRow, ConsentRow, ConsentUseRow
from bot.registry.keys import Principal, Role, generate_key, key_id_of, matches
from bot.registry.ratelimit import TokenBucketLimiter
from bot.sqlbase import writing

#: The longest validity any configuration may allow, in days (ten years); the default rule is far shorter.
MAX_DAYS = 3650
#: The largest ``max_images`` any configuration may allow; the default rule is far smaller.
MAX_IMAGES = 10_000
PATIENT_REF_MAX = 256

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class IssuingRules:
    """What a consent may ask for, and how often one clinician may issue.

    Attributes:
        max_days: the longest validity, in days; a request for more is refused (never clipped).
        default_images: the ``max_images`` of a request that names none (every consent has a number).
        max_images: the most images one consent may cover; a request for more is refused.
        issues_per_hour: consents one clinician may issue per hour, with bursts up to the same number,
            counted per issuing key and per clinician identity (admins and the operator are not limited).

    """

    max_days: int = 365
    default_images: int = 10
    max_images: int = 100
    issues_per_hour: int = 20

    def __post_init__(self) -> None:
        """Refuse rules that cannot work, at start-up (raises :class:`ConfigurationError`)."""
        if not 1 <= self.max_days <= MAX_DAYS:
            raise ConfigurationError(f"registry_max_days must be between 1 and {MAX_DAYS}")
        if not 1 <= self.max_images <= MAX_IMAGES:
            raise ConfigurationError(f"registry_max_images must be between 1 and {MAX_IMAGES}")
        if not 1 <= self.default_images <= self.max_images:
            raise ConfigurationError(
                f"registry_default_images must be between 1 and registry_max_images ({self.max_images})"
            )
        if self.issues_per_hour < 1:
            raise ConfigurationError("registry_issues_per_hour must be at least 1")


class InvalidFieldError(InvalidRequestError):
    """A request value out of the registry's rules; ``field`` names it (``days``, ``max_images``...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class IssuingRateLimitedError(RegistryError):
    """A clinician issued too many consents lately; ``retry_after`` is the whole seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many consents issued by this clinician lately: retry in {retry_after} s")
        self.retry_after = retry_after


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

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock = utc_now,
        *,
        rules: IssuingRules | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._rules = rules or IssuingRules()
        # In memory, like the lookup limit: one allowance per process (see docs/consent-api.md).
        self._issuing = TokenBucketLimiter(self._rules.issues_per_hour, period_s=3600.0, monotonic=monotonic)

    @property
    def rules(self) -> IssuingRules:
        """The issuing rules this registry applies."""
        return self._rules

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
        """Create a consent valid for ``days`` days from now and return it with its new token.

        The operator's path (``consentguard consent new``, admin keys): any scope, wildcards included, no
        issuing limit; ``days`` and ``max_images`` (None: the rules' default) within the rules' maxima.

        Raises:
            InvalidRequestError: an empty list, a blank ``patient_ref``, a value beyond the rules.

        """
        images = _validate_issue(self._rules, patient_ref, groups, clinicians, purposes, days, max_images)
        return self._insert(
            patient_ref=patient_ref,
            groups=groups,
            clinicians=clinicians,
            purposes=purposes,
            days=days,
            max_images=images,
            issued_by=issued_by,
        )

    def issue_as(
        self,
        who: Principal,
        *,
        patient_ref: str,
        groups: Sequence[ChatRef],
        clinicians: Sequence[UserRef],
        purposes: Collection[Purpose],
        days: int,
        max_images: int | None,
    ) -> IssuedConsent:
        """Issue through the API with ``who``'s key: an admin as the operator, a clinician under the rules.

        A clinician key may not name a wildcard group or clinician and spends one unit of its key's and of
        its owner's hourly allowance. A bot key issues only through :meth:`issue_on_behalf_of`.

        Raises:
            NotAllowedError: a bot key, or a clinician key naming a wildcard (HTTP 403).
            InvalidRequestError: a value beyond the rules (HTTP 422).
            IssuingRateLimitedError: the clinician's allowance is spent (HTTP 429).

        """
        if who.role is Role.ADMIN:
            return self.issue(
                patient_ref=patient_ref,
                groups=groups,
                clinicians=clinicians,
                purposes=purposes,
                days=days,
                max_images=max_images,
                issued_by=who.identity,
            )
        if who.role is not Role.CLINICIAN:
            raise NotAllowedError(f"a {who.role.value} key may not issue consents")
        return self._issue_for_clinician(
            allowances=(f"key:{who.key_id}", f"clinician:{who.identity}"),
            issued_by=who.identity,
            patient_ref=patient_ref,
            groups=groups,
            clinicians=clinicians,
            purposes=purposes,
            days=days,
            max_images=max_images,
        )

    def issue_on_behalf_of(
        self,
        clinician: UserRef,
        *,
        patient_ref: str,
        groups: Sequence[ChatRef],
        clinicians: Sequence[UserRef],
        purposes: Collection[Purpose],
        days: int,
        max_images: int | None,
    ) -> IssuedConsent:
        """Issue a consent for ``clinician`` (the bot acting for someone in chat), under the clinician rules.

        The same checks as a clinician key: no wildcard group or clinician, the rules' maxima, and one unit of
        ``clinician``'s hourly allowance (shared with any key whose owner is ``clinician``). The consent
        records ``str(clinician)`` as its issuer, so that the bot may later revoke it for them.

        Raises:
            InvalidRequestError: ``clinician`` is a wildcard, or a value is beyond the rules.
            NotAllowedError: a wildcard group or clinician.
            IssuingRateLimitedError: ``clinician``'s allowance is spent.

        """
        if _is_wildcard_user(clinician):
            raise InvalidFieldError(
                "on_behalf_of", "a consent is issued on behalf of one clinician, not a wildcard"
            )
        return self._issue_for_clinician(
            allowances=(f"clinician:{clinician}",),
            issued_by=str(clinician),
            patient_ref=patient_ref,
            groups=groups,
            clinicians=clinicians,
            purposes=purposes,
            days=days,
            max_images=max_images,
        )

    def _issue_for_clinician(
        self,
        *,
        allowances: Sequence[str],
        issued_by: str,
        patient_ref: str,
        groups: Sequence[ChatRef],
        clinicians: Sequence[UserRef],
        purposes: Collection[Purpose],
        days: int,
        max_images: int | None,
    ) -> IssuedConsent:
        if any(_is_wildcard_group(group) for group in groups) or any(
            _is_wildcard_user(c) for c in clinicians
        ):
            raise NotAllowedError(
                "only an admin may issue a consent for any group or any clinician ('*', 'platform:*'): "
                "name each group and each clinician"
            )
        images = _validate_issue(self._rules, patient_ref, groups, clinicians, purposes, days, max_images)
        wait = self._issuing.acquire_all(allowances)
        if wait:
            raise IssuingRateLimitedError(wait)
        return self._insert(
            patient_ref=patient_ref,
            groups=groups,
            clinicians=clinicians,
            purposes=purposes,
            days=days,
            max_images=images,
            issued_by=issued_by,
        )

    def _insert(
        self,
        *,
        patient_ref: str,
        groups: Sequence[ChatRef],
        clinicians: Sequence[UserRef],
        purposes: Collection[Purpose],
        days: int,
        max_images: int,
        issued_by: str,
    ) -> IssuedConsent:
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

    def revoke(
        self, token: ConsentToken, *, by: Principal | None = None, on_behalf_of: UserRef | None = None
    ) -> ConsentRecord:
        """Revoke the consent (idempotent: the first revocation time stays) and return its record.

        ``by`` is the key acting through the API; None means the operator (the CLI), who may revoke
        anything. An admin key may revoke anything; a clinician key, what its owner issued. A bot key revokes
        only ``on_behalf_of`` a clinician (a withdrawal asked in chat) who issued the consent (through the
        bot, :meth:`issue_on_behalf_of`, or with a key they own) or whom the consent names (exactly, not
        through a ``platform:*`` wildcard).

        Raises:
            NotAllowedError: the key may not revoke this consent (HTTP 403).
            UnknownConsentError: no consent has this token (HTTP 404).

        """
        _check_revoker(by, on_behalf_of)
        now = self._clock()
        with writing(self._sessions) as session:
            row = _find(session, token, for_update=True)
            if row is None:
                raise UnknownConsentError("no consent has this token")
            if by is not None and not _may_revoke(row, by, on_behalf_of):
                if on_behalf_of is not None:
                    raise NotAllowedError(
                        "the clinician on whose behalf the bot asks neither issued this consent "
                        "nor is named in it"
                    )
                raise NotAllowedError("only an admin or the clinician who issued it may revoke this consent")
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
    rules: IssuingRules,
    patient_ref: str,
    groups: Sequence[ChatRef],
    clinicians: Sequence[UserRef],
    purposes: Collection[Purpose],
    days: int,
    max_images: int | None,
) -> int:
    """Check a request against the rules; return its number of images (the default when it names none)."""
    if not patient_ref.strip() or len(patient_ref) > PATIENT_REF_MAX:
        raise InvalidRequestError(f"patient_ref must be 1 to {PATIENT_REF_MAX} characters, not blank")
    if not groups:
        raise InvalidRequestError("a consent must name at least one group (or * for any)")
    if not clinicians:
        # check_scope lets nobody post under a consent that names no clinician: refuse to issue a dud.
        raise InvalidRequestError("a consent must name at least one clinician (or platform:* for anyone)")
    if not purposes:
        raise InvalidRequestError("a consent must name at least one purpose")
    if not 1 <= days <= rules.max_days:
        raise InvalidFieldError(
            "days", f"days must be between 1 and {rules.max_days}: this registry's longest validity"
        )
    images = rules.default_images if max_images is None else max_images
    if not 1 <= images <= rules.max_images:
        raise InvalidFieldError(
            "max_images",
            f"max_images must be between 1 and {rules.max_images}: the most images one consent covers here "
            f"(leave it out for {rules.default_images})",
        )
    return images


def _is_wildcard_group(group: ChatRef) -> bool:
    # Every form ChatRef.covers reads as "more than one chat": "*" (any platform) and "platform:*".
    return ANY in (group.platform, group.chat_id)


def _is_wildcard_user(user: UserRef) -> bool:
    # UserRef.covers reads "platform:*" as anyone on the platform; a "*" platform is refused too.
    return ANY in (user.platform, user.user_id)


def _check_revoker(by: Principal | None, on_behalf_of: UserRef | None) -> None:
    """Refuse, before any lookup, a revocation the key may not ask for whatever the consent."""
    if by is None:
        return
    if by.role is Role.BOT:
        if on_behalf_of is None:
            raise NotAllowedError("a bot key revokes only on behalf of a clinician (on_behalf_of)")
        if _is_wildcard_user(on_behalf_of):
            raise NotAllowedError("a bot key revokes on behalf of one clinician, not a wildcard")
    elif on_behalf_of is not None:
        raise NotAllowedError("only the bot key revokes on behalf of a clinician")


def _may_revoke(row: ConsentRow, by: Principal, on_behalf_of: UserRef | None) -> bool:
    if by.role is Role.ADMIN:
        return True
    if by.role is Role.CLINICIAN:
        return row.issued_by == by.identity
    if on_behalf_of is None:  # pragma: no cover - _check_revoker refused it already
        return False
    named = {UserRef.parse(text) for text in json.loads(row.clinicians)}
    return row.issued_by == str(on_behalf_of) or on_behalf_of in named


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
