"""Sealed storage of de-identified repost offers (the :class:`~bot.core.deidentified.OfferStore` port).

The masked JPEGs passed a fresh scan, yet they are derived from a patient photo and are kept the way the
quarantine keeps images: AES-256-GCM under the keyring's current key (:class:`bot.storage.sealing.Sealer`),
bound to the offer id and the field, nothing in clear but the chat, the original message id, finding kinds
and dates. An offer is deleted, images and all, as soon as it is posted, when it cannot be sent, or when its
lifetime runs out (:meth:`SqlOfferStore.purge_expired`, on the bot's periodic purge); on SQLite
``secure_delete`` zeroes what is deleted.
"""

from __future__ import annotations

import json
import secrets
import struct
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from bot.consent.model import ChatRef, UserRef
from bot.core.deidentified import CLAIM_TIMEOUT, ClaimedOffer, NewOffer, Refusal
from bot.domain import Clock, utc_now
from bot.messages import choose_language
from bot.sqlbase import writing
from bot.storage.db import BotDatabase, DeidentifiedOfferRow
from bot.storage.keys import QuarantineKeyring
from bot.storage.sealing import Sealer

_AAD_PREFIX = b"consentguard/deidentified-offer/v1"
_LENGTH = struct.Struct(">I")


class SqlOfferStore:
    """Offers in the bot database; safe to call from several threads (short transactions)."""

    def __init__(self, db: BotDatabase, keyring: QuarantineKeyring, clock: Clock = utc_now) -> None:
        self._sessions = db.sessions
        self._sealer = Sealer(keyring)
        self._clock = clock

    def put(self, offer: NewOffer, images: Sequence[bytes], lifetime: timedelta) -> str:
        """Store an offer with its masked images for ``lifetime``; returns its id (32 hex digits)."""
        if lifetime <= timedelta(0):
            raise ValueError("an offer's lifetime must be positive")
        if not images:
            raise ValueError("an offer needs at least one image")
        offer_id = secrets.token_hex(16)
        meta = {
            "author": str(offer.author),
            "author_name": offer.author_name,
            "thread_id": offer.thread_id,
            "language": offer.language,
            "group_language": offer.group_language,
        }
        # Sealed before the transaction: the write lock is held only for the insert.
        key_id, sealed_meta = self._sealer.seal_raw(json.dumps(meta).encode(), _aad("meta", offer_id))
        _, sealed_images = self._sealer.seal_raw(_frame(images), _aad("images", offer_id))
        now = self._clock()
        row = DeidentifiedOfferRow(
            id=offer_id,
            platform=offer.chat.platform,
            chat_id=offer.chat.chat_id,
            message_id=offer.message_id,
            finding_kinds=json.dumps(sorted(set(offer.kinds))),
            key_id=key_id,
            sealed_meta=sealed_meta,
            sealed_images=sealed_images,
            created_at=now,
            expires_at=now + lifetime,
        )
        with writing(self._sessions) as session:
            session.add(row)
        return offer_id

    def claim(self, offer_id: str, presser: UserRef) -> ClaimedOffer | Refusal:
        """Lock an unexpired, unclaimed offer for its author and return it decrypted; else why not.

        An expired offer is deleted on the spot. A claim older than the core's claim timeout (a repost
        cut short by a crash) no longer locks the offer. Raises :class:`~bot.errors.SealError` when no key
        opens it.
        """
        now = self._clock()
        with writing(self._sessions) as session:
            row = session.scalar(
                select(DeidentifiedOfferRow).where(DeidentifiedOfferRow.id == offer_id).with_for_update()
            )
            if row is None:
                return Refusal.GONE
            if row.expires_at <= now:
                session.delete(row)
                return Refusal.EXPIRED
            offer = self._offer(row)
            if offer.author != presser:
                return Refusal.NOT_YOURS
            if row.claimed_at is not None and row.claimed_at > now - CLAIM_TIMEOUT:
                return Refusal.GONE  # a press a moment ago is posting it
            images = _unframe(self._sealer.open_raw(row.key_id, row.sealed_images, _aad("images", row.id)))
            row.claimed_at = now
        return ClaimedOffer(offer_id, offer, images)

    def release(self, offer_id: str) -> None:
        """Unlock a claimed offer whose repost failed: the poster may press again until it expires."""
        with writing(self._sessions) as session:
            row = session.get(DeidentifiedOfferRow, offer_id)
            if row is not None:
                row.claimed_at = None

    def purge(self, offer_id: str) -> bool:
        """Delete an offer and its images; False when it was already gone. Needs no key."""
        with writing(self._sessions) as session:
            result = session.execute(delete(DeidentifiedOfferRow).where(DeidentifiedOfferRow.id == offer_id))
            return bool(getattr(result, "rowcount", 0))

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete every offer past its lifetime; returns how many."""
        moment = now or self._clock()
        with writing(self._sessions) as session:
            result = session.execute(
                delete(DeidentifiedOfferRow).where(DeidentifiedOfferRow.expires_at <= moment)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def count(self) -> int:
        """How many offers are stored (operators and tests)."""
        with self._sessions() as session:
            return len(session.scalars(select(DeidentifiedOfferRow.id)).all())

    def _offer(self, row: DeidentifiedOfferRow) -> NewOffer:
        meta = json.loads(self._sealer.open_raw(row.key_id, row.sealed_meta, _aad("meta", row.id)))
        return NewOffer(
            chat=ChatRef(row.platform, row.chat_id),
            message_id=row.message_id,
            thread_id=meta["thread_id"],
            author=UserRef.parse(meta["author"]),
            author_name=meta["author_name"],
            language=choose_language(meta["language"], None),
            group_language=choose_language(meta["group_language"], None),
            kinds=tuple(json.loads(row.finding_kinds)),
        )

    def __repr__(self) -> str:
        return "SqlOfferStore()"


def _aad(field: str, offer_id: str) -> bytes:
    return b"|".join((_AAD_PREFIX, field.encode(), offer_id.encode()))


def _frame(images: Sequence[bytes]) -> bytes:
    """The images one after the other, each after its 4-byte length."""
    return b"".join(_LENGTH.pack(len(data)) + data for data in images)


def _unframe(blob: bytes) -> tuple[bytes, ...]:
    images: list[bytes] = []
    offset = 0
    while offset < len(blob):
        (length,) = _LENGTH.unpack_from(blob, offset)
        offset += _LENGTH.size
        images.append(blob[offset : offset + length])
        offset += length
    return tuple(images)
