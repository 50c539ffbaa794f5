"""The capture flow over the registry's database: links, signing, the token's one collection, withdrawal.

Secrets are never stored in clear: a link's secret and a withdrawal code are kept as HMACs, names and
signatures sealed (:class:`~bot.registry.capture.keyfile.CaptureKeys`), the consent token sealed until the
bot collects it once, then forgotten (the consent itself keeps only its fingerprint, like every consent).
The withdrawal code also seals the token, so that the code's holder, and nobody else, can have the consent
revoked through :meth:`ConsentRegistry.revoke` without the registry keeping the token.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.consent.model import ChatRef, ConsentRecord, ConsentStatus, Purpose, UserRef
from bot.consent.token import ConsentToken, parse_token
from bot.errors import ConfigurationError, InvalidTokenError, RegistryError, SealError
from bot.registry.capture.codes import CodeProblem, new_code, new_reference, parse_code
from bot.registry.capture.form import SignatureKind, SignedForm, Signer
from bot.registry.capture.keyfile import DEFAULT_KEY_FILE, CaptureKeys
from bot.registry.capture.texts import TEXT_VERSION, TEXTS, Language
from bot.registry.db import CaptureLinkRow, ConsentRow, SignedConsentRow, create_session_factory
from bot.registry.ratelimit import TokenBucketLimiter
from bot.registry.service import Clock, ConsentRegistry, IssuedConsent, token_fingerprint
from bot.sqlbase import writing

logger = logging.getLogger("consentguard.registry.capture")

#: How long a link may be signed, by default.
DEFAULT_LINK_VALIDITY = timedelta(minutes=30)
#: How long after signing the receipt (with the withdrawal code in clear) may still be shown.
DEFAULT_RECEIPT_WINDOW = timedelta(minutes=30)
#: Links one clinician may ask for per minute (bursts up to the same number).
DEFAULT_LINKS_PER_MINUTE = 6
#: The patient reference of a captured consent starts with this (the rest is random).
PATIENT_REF_PREFIX = "CAP"


class LinkStatus(enum.StrEnum):
    """What ``GET /v1/capture-links/{id}`` says of a link."""

    PENDING = "pending"
    SIGNED = "signed"
    EXPIRED = "expired"
    COLLECTED = "collected"


class _State(enum.StrEnum):
    PENDING = "pending"
    SIGNING = "signing"  # the form was submitted and the consent is being issued
    SIGNED = "signed"
    COLLECTED = "collected"


class CaptureError(RegistryError):
    """A refusal of the capture flow (what the pages tell the signer)."""


class UnknownLinkError(CaptureError):
    """No link has this secret."""


class LinkExpiredError(CaptureError):
    """The link was not signed in time."""


class LinkUsedError(CaptureError):
    """The link was signed already (or is being signed)."""

    def __init__(self, receipt_id: str | None) -> None:
        super().__init__("this link was used already")
        self.receipt_id = receipt_id


class CaptureRateLimitedError(CaptureError):
    """A clinician asked for too many links lately; ``retry_after`` whole seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many capture links for this clinician: retry in {retry_after} s")
        self.retry_after = retry_after


class MistypedCodeError(CaptureError):
    """The typed withdrawal code cannot be one (length, characters, check character)."""

    def __init__(self, problem: CodeProblem) -> None:
        super().__init__(f"mistyped withdrawal code: {problem.value}")
        self.problem = problem


class UnknownCodeError(CaptureError):
    """No signed consent has this withdrawal code."""


@dataclass(frozen=True, slots=True)
class CaptureLink:
    """A link as the form needs it (no secret in it)."""

    link_id: str
    clinician: UserRef
    clinician_name: str | None
    chat: ChatRef
    chat_title: str | None
    language: Language
    expires_at: datetime

    @property
    def group_label(self) -> str:
        """The group as the form names it: its title when the bot gave one, else its reference."""
        return self.chat_title or str(self.chat)


@dataclass(frozen=True, slots=True, repr=False)
class NewLink:
    """A link just created: its id, the secret of its URL (shown this once) and its expiry."""

    link_id: str
    secret: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"NewLink(link_id={self.link_id!r}, secret=<redacted>, expires_at={self.expires_at!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Signed:
    """A form just signed: the receipt to show and the cookie that lets this browser see it."""

    receipt_id: str
    receipt_cookie: str


@dataclass(frozen=True, slots=True, repr=False)
class Receipt:
    """What the receipt page shows. Holds names and the withdrawal code: never logged, never repr'd."""

    receipt_id: str
    link: CaptureLink
    patient_ref: str
    purposes: tuple[Purpose, ...]
    signed_at: datetime
    valid_until: datetime | None
    max_images: int | None
    days: int
    signer: Signer
    patient_name: str
    guardian_name: str | None
    signature_kind: SignatureKind
    signature: bytes
    withdrawal_code: str
    language: Language


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """The outcome of a withdrawal by code."""

    already: bool
    signed_at: datetime
    group_label: str
    language: Language


class CaptureFlow:
    """Links, signatures, the token's single collection, receipts and withdrawal by code."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        registry: ConsentRegistry,
        keys: CaptureKeys,
        *,
        clock: Clock,
        link_validity: timedelta = DEFAULT_LINK_VALIDITY,
        receipt_window: timedelta = DEFAULT_RECEIPT_WINDOW,
        links_per_minute: int = DEFAULT_LINKS_PER_MINUTE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._registry = registry
        self._keys = keys
        self._clock = clock
        self._link_validity = link_validity
        self._receipt_window = receipt_window
        self._link_limiter = TokenBucketLimiter(links_per_minute, monotonic=monotonic)

    @property
    def registry(self) -> ConsentRegistry:
        """The registry the consents are issued in (its rules bound the form's choices)."""
        return self._registry

    # -- links (the bot's side) -------------------------------------------------------------------------

    def create_link(
        self,
        *,
        owner_key: str,
        clinician: UserRef,
        chat: ChatRef,
        language: Language,
        chat_title: str | None = None,
        clinician_name: str | None = None,
    ) -> NewLink:
        """Create a one-time link for ``clinician`` to have a consent for ``chat`` signed.

        Raises:
            CaptureRateLimitedError: the clinician asked for too many links lately.

        """
        wait = self._link_limiter.acquire(f"clinician:{clinician}")
        if wait:
            raise CaptureRateLimitedError(wait)
        now = self._clock()
        secret = secrets.token_urlsafe(32)  # 256 bits
        link_id = secrets.token_urlsafe(12)
        expires_at = now + self._link_validity
        with writing(self._sessions) as session:
            session.add(
                CaptureLinkRow(
                    link_id=link_id,
                    secret_hash=self._secret_hash(secret),
                    owner_key=owner_key,
                    clinician=str(clinician),
                    clinician_name=clinician_name,
                    chat=str(chat),
                    chat_title=chat_title,
                    language=language.value,
                    state=_State.PENDING.value,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        logger.info("capture link %s created by key=%s", link_id, owner_key)
        return NewLink(link_id=link_id, secret=secret, expires_at=expires_at)

    def collect(self, link_id: str, owner_key: str) -> tuple[LinkStatus, ConsentToken | None] | None:
        """The link's status for the key that created it; the token comes once, with the first "signed".

        None when no link has this id for this key (another key's link is not revealed).
        """
        now = self._clock()
        with writing(self._sessions) as session:
            row = session.get(CaptureLinkRow, link_id)
            if row is None or not hmac.compare_digest(row.owner_key, owner_key):
                return None
            if row.state == _State.COLLECTED:
                return LinkStatus.COLLECTED, None
            if row.state == _State.SIGNED and row.sealed_token is not None:
                token = parse_token(self._keys.open(row.sealed_token, _aad("token", row.link_id)).decode())
                row.sealed_token = None
                row.state = _State.COLLECTED.value
                row.collected_at = now
                logger.info("capture link %s: token collected by key=%s", link_id, owner_key)
                return LinkStatus.SIGNED, token
            if now >= row.expires_at:
                return LinkStatus.EXPIRED, None
            return LinkStatus.PENDING, None

    # -- the form (the signer's side) -----------------------------------------------------------------------

    def open_link(self, secret: str) -> CaptureLink:
        """The link whose URL carries ``secret``, if it may still be signed.

        Raises:
            UnknownLinkError: no link has this secret.
            LinkUsedError: the form was signed already.
            LinkExpiredError: it was not signed in time.

        """
        with self._sessions() as session:
            row = self._find_link(session, secret)
            self._check_signable(session, row)
            return _link(row)

    def csrf_token(self, link: CaptureLink) -> str:
        """The form's anti-forgery token: bound to the link, unknown to anyone without the key."""
        return self._keys.mac("csrf", link.link_id)

    def check_csrf(self, link: CaptureLink, presented: str) -> bool:
        """True when ``presented`` is the link's anti-forgery token."""
        return hmac.compare_digest(self.csrf_token(link), presented)

    def sign(self, secret: str, form: SignedForm, language: Language) -> Signed:
        """Record the signed form: claim the link, issue the consent for its clinician, keep the record.

        Raises:
            UnknownLinkError, LinkUsedError, LinkExpiredError: the link cannot be signed (any more).
            InvalidRequestError, NotAllowedError, IssuingRateLimitedError: the registry refused the consent
                (the link may then be signed again).

        """
        link = self._claim(secret)
        try:
            issued = self._registry.issue_on_behalf_of(
                link.clinician,
                patient_ref=new_reference(PATIENT_REF_PREFIX),
                groups=[link.chat],
                clinicians=[link.clinician],
                purposes=form.purposes,
                days=form.days,
                max_images=form.max_images,
            )
        except BaseException:
            self._release(link.link_id)
            raise
        try:
            signed = self._record(link, issued, form, language)
        except BaseException:
            # No record, no receipt, no withdrawal code: the consent must not stay granted unseen.
            self._registry.revoke(issued.token)
            self._release(link.link_id)
            raise
        logger.info("capture link %s signed (receipt %s)", link.link_id, signed.receipt_id)
        return signed

    def _claim(self, secret: str) -> CaptureLink:
        with writing(self._sessions) as session:
            row = self._find_link(session, secret, for_update=True)
            self._check_signable(session, row)
            row.state = _State.SIGNING.value
            return _link(row)

    def _release(self, link_id: str) -> None:
        with writing(self._sessions) as session:
            session.execute(
                update(CaptureLinkRow)
                .where(CaptureLinkRow.link_id == link_id, CaptureLinkRow.state == _State.SIGNING.value)
                .values(state=_State.PENDING.value)
            )

    def _record(
        self, link: CaptureLink, issued: IssuedConsent, form: SignedForm, language: Language
    ) -> Signed:
        now = self._clock()
        code = new_code()
        receipt_id = secrets.token_urlsafe(12)
        with writing(self._sessions) as session:
            consent_id = session.scalars(
                select(ConsentRow.id).where(ConsentRow.token_hash == token_fingerprint(issued.token))
            ).one()
            _forget_receipt_codes(session, now)
            session.add(
                SignedConsentRow(
                    consent_id=consent_id,
                    link_id=link.link_id,
                    receipt_id=receipt_id,
                    signer=form.signer.value,
                    signature_kind=form.signature_kind.value,
                    sealed_patient_name=self._keys.seal(
                        form.patient_name.encode(), _aad("patient_name", receipt_id)
                    ),
                    sealed_guardian_name=(
                        None
                        if form.guardian_name is None
                        else self._keys.seal(form.guardian_name.encode(), _aad("guardian_name", receipt_id))
                    ),
                    sealed_signature=self._keys.seal(form.signature, _aad("signature", receipt_id)),
                    language=language.value,
                    text_version=TEXT_VERSION,
                    text_sha256=TEXTS[language].statement_fingerprint(),
                    signed_at=now,
                    withdrawal_code_hash=self._keys.mac("withdrawal-code", code),
                    sealed_token_by_code=self._keys.seal_with_code(
                        issued.token.value.encode(), code, _aad("token_by_code", receipt_id)
                    ),
                    sealed_receipt_code=self._keys.seal(code.encode(), _aad("receipt_code", receipt_id)),
                    receipt_until=now + self._receipt_window,
                )
            )
            row = session.get(CaptureLinkRow, link.link_id)
            if row is None:  # pragma: no cover - claimed above, links are never deleted
                raise UnknownLinkError("the link disappeared while it was signed")
            row.state = _State.SIGNED.value
            row.signed_at = now
            row.consent_id = consent_id
            row.sealed_token = self._keys.seal(issued.token.value.encode(), _aad("token", link.link_id))
        return Signed(receipt_id=receipt_id, receipt_cookie=self.receipt_cookie(receipt_id))

    # -- the receipt ----------------------------------------------------------------------------------------

    def receipt_cookie(self, receipt_id: str) -> str:
        """The value of the cookie that shows the receipt: set at signing, or for a holder of the link."""
        return self._keys.mac("receipt", receipt_id)

    def receipt_available(self, receipt_id: str) -> bool:
        """True while the receipt may still be shown (its window is open)."""
        with self._sessions() as session:
            until = session.scalars(
                select(SignedConsentRow.receipt_until).where(SignedConsentRow.receipt_id == receipt_id)
            ).first()
        return until is not None and self._clock() < until

    def receipt(self, receipt_id: str, cookie: str | None) -> Receipt | None:
        """The receipt, for a browser holding its cookie and while its window is open; else None."""
        if not cookie or not hmac.compare_digest(self.receipt_cookie(receipt_id), cookie):
            return None
        now = self._clock()
        with self._sessions() as session:
            signed = session.scalars(
                select(SignedConsentRow).where(SignedConsentRow.receipt_id == receipt_id)
            ).first()
            if signed is None or signed.sealed_receipt_code is None:
                return None
            if now < signed.receipt_until:
                link_row = session.get(CaptureLinkRow, signed.link_id)
                consent = session.get(ConsentRow, signed.consent_id)
                if link_row is None or consent is None:  # pragma: no cover - foreign keys
                    return None
                return self._receipt(signed, _link(link_row), consent)
        with writing(self._sessions) as session:
            _forget_receipt_codes(session, now)
        return None

    def _receipt(self, signed: SignedConsentRow, link: CaptureLink, consent: ConsentRow) -> Receipt:
        rid = signed.receipt_id
        guardian = signed.sealed_guardian_name
        valid_until = consent.valid_until
        return Receipt(
            receipt_id=rid,
            link=link,
            patient_ref=consent.patient_ref,
            purposes=tuple(p for p in Purpose if p.value in json.loads(consent.purposes)),
            signed_at=signed.signed_at,
            valid_until=valid_until,
            max_images=consent.max_images,
            days=(valid_until - consent.created_at).days if valid_until is not None else 0,
            signer=Signer(signed.signer),
            patient_name=self._keys.open(signed.sealed_patient_name, _aad("patient_name", rid)).decode(),
            guardian_name=(
                None if guardian is None else self._keys.open(guardian, _aad("guardian_name", rid)).decode()
            ),
            signature_kind=SignatureKind(signed.signature_kind),
            signature=self._keys.open(signed.sealed_signature, _aad("signature", rid)),
            withdrawal_code=self._keys.open(
                signed.sealed_receipt_code or b"", _aad("receipt_code", rid)
            ).decode(),
            language=Language(signed.language),
        )

    # -- withdrawal -----------------------------------------------------------------------------------------

    def withdraw(self, typed_code: str) -> Withdrawal:
        """Revoke the consent whose receipt carries ``typed_code`` (idempotent).

        Raises:
            MistypedCodeError: the text cannot be a withdrawal code.
            UnknownCodeError: no signed consent has this code.

        """
        code = parse_code(typed_code)
        if isinstance(code, CodeProblem):
            raise MistypedCodeError(code)
        with self._sessions() as session:
            signed = session.scalars(
                select(SignedConsentRow).where(
                    SignedConsentRow.withdrawal_code_hash == self._keys.mac("withdrawal-code", code)
                )
            ).first()
            if signed is None:
                raise UnknownCodeError("no consent has this withdrawal code")
            link_row = session.get(CaptureLinkRow, signed.link_id)
            group_label = _link(link_row).group_label if link_row is not None else ""
            receipt_id, signed_at, language = signed.receipt_id, signed.signed_at, Language(signed.language)
        try:
            token = parse_token(
                self._keys.open_with_code(
                    signed.sealed_token_by_code, code, _aad("token_by_code", receipt_id)
                ).decode()
            )
        except (SealError, InvalidTokenError) as unreadable:
            raise UnknownCodeError("the withdrawal code does not open its record") from unreadable
        before: ConsentRecord = self._registry.lookup(token)
        self._registry.revoke(token)
        now = self._clock()
        with writing(self._sessions) as session:
            session.execute(
                update(SignedConsentRow)
                .where(SignedConsentRow.receipt_id == receipt_id, SignedConsentRow.withdrawn_at.is_(None))
                .values(withdrawn_at=now)
            )
        logger.info("captured consent withdrawn by code (receipt %s)", receipt_id)
        return Withdrawal(
            already=before.status is ConsentStatus.REVOKED,
            signed_at=signed_at,
            group_label=group_label,
            language=language,
        )

    # -- helpers --------------------------------------------------------------------------------------------

    def _secret_hash(self, secret: str) -> str:
        # Unkeyed: 256 random bits leave nothing to brute-force, and the hash indexes the lookup.
        return hashlib.sha256(secret.encode()).hexdigest()

    def _find_link(self, session: Session, secret: str, *, for_update: bool = False) -> CaptureLinkRow:
        query = select(CaptureLinkRow).where(CaptureLinkRow.secret_hash == self._secret_hash(secret))
        if for_update:
            query = query.with_for_update()  # PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE
        row = session.scalars(query).first()
        if row is None:
            raise UnknownLinkError("no link has this secret")
        return row

    def _check_signable(self, session: Session, row: CaptureLinkRow) -> None:
        if row.state != _State.PENDING:
            receipt_id = session.scalars(
                select(SignedConsentRow.receipt_id).where(SignedConsentRow.link_id == row.link_id)
            ).first()
            raise LinkUsedError(receipt_id)
        if self._clock() >= row.expires_at:
            raise LinkExpiredError("the link expired")


def open_flow(
    engine: Engine,
    registry: ConsentRegistry,
    *,
    database_url: str,
    key_file: Path | None,
    clock: Clock,
    link_validity: timedelta = DEFAULT_LINK_VALIDITY,
    monotonic: Callable[[], float] = time.monotonic,
) -> CaptureFlow:
    """The capture flow of a registry app, with its key file (created on first start).

    Without ``key_file``, the key lives next to a SQLite database file; an in-memory database gets a key in
    memory (nothing outlives it anyway); any other database needs the file named.

    Raises:
        ConfigurationError: no key file named for a database that is not a SQLite file, or an unusable file.

    """
    keys = CaptureKeys.load(key_file) if key_file is not None else _default_keys(database_url)
    return CaptureFlow(
        create_session_factory(engine),
        registry,
        keys,
        clock=clock,
        link_validity=link_validity,
        monotonic=monotonic,
    )


def _default_keys(database_url: str) -> CaptureKeys:
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite":
        if database in ("", ":memory:") or database.startswith("file:"):
            return CaptureKeys.generate()
        return CaptureKeys.load(Path(database).resolve().parent / DEFAULT_KEY_FILE)
    raise ConfigurationError(
        "the consent registry needs a key file for signed consents with this database: set "
        "CONSENTGUARD_CONSENT__REGISTRY_CAPTURE_KEY_FILE (created mode 0600 on first start; back it up)"
    )


def _forget_receipt_codes(session: Session, now: datetime) -> None:
    """Wipe the sealed withdrawal codes of receipts whose window has passed (at signings and late visits)."""
    session.execute(
        update(SignedConsentRow)
        .where(SignedConsentRow.receipt_until <= now, SignedConsentRow.sealed_receipt_code.is_not(None))
        .values(sealed_receipt_code=None)
    )


def _aad(field: str, row_id: str) -> bytes:
    return f"consentguard capture v1|{field}|{row_id}".encode()


def _link(row: CaptureLinkRow) -> CaptureLink:
    return CaptureLink(
        link_id=row.link_id,
        clinician=UserRef.parse(row.clinician),
        clinician_name=row.clinician_name,
        chat=ChatRef.parse(row.chat),
        chat_title=row.chat_title,
        language=Language(row.language),
        expires_at=row.expires_at,
    )
