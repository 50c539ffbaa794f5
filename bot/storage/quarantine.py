"""The encrypted quarantine: posts held back for a moderator, stored so that nobody else can see them.

Every image, the caption, the author and the deciding moderator are encrypted with AES-256-GCM under the
keyring's current key (:mod:`bot.storage.keys`) by :class:`bot.storage.sealing.Sealer`, with a fresh 12-byte
nonce and, as associated data, the item id and what the value is (an image's id, "caption"...): a
ciphertext moved to another item or field does not decrypt. Plaintext never reaches the database. What
stays in clear is what the bot needs to find and expire items: the chat, the message id, finding kinds,
reason, language and dates.

Images and the caption are deleted as soon as a moderator approves or rejects the item, or when its
retention runs out (:meth:`QuarantineStore.purge_expired`); on SQLite ``secure_delete`` zeroes what is
deleted. The item's row stays, without them, as the record that it existed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from bot.consent.model import ChatRef, UserRef
from bot.domain import ApprovedPost, Clock, Post, QuarantinedPost, QuarantineStatus, utc_now
from bot.errors import (
    QuarantineItemNotFoundError,
    QuarantineItemNotPendingError,
    QuarantineKeyError,
    SealError,
)
from bot.sqlbase import writing
from bot.storage.db import BotDatabase, QuarantineImageRow, QuarantineItemRow
from bot.storage.keys import QuarantineKeyring
from bot.storage.sealing import Sealer

_AAD_PREFIX = b"consentguard/quarantine/v1"


class QuarantineStore:
    """Encrypted storage of quarantined posts in the bot database; safe to call from several threads."""

    def __init__(self, db: BotDatabase, keyring: QuarantineKeyring, clock: Clock = utc_now) -> None:
        self._sessions = db.sessions
        self._keyring = keyring
        self._clock = clock
        # The quarantine keeps its on-disk layout (key id in a column, nonce + ciphertext in the blob):
        # the raw half of the shared sealer reads and writes exactly what older versions stored.
        self._sealer = Sealer(keyring)

    def put(
        self,
        post: Post,
        images: Sequence[tuple[str, bytes]],
        findings_kinds: Sequence[str],
        reason: str,
        retention: timedelta,
        language: str,
    ) -> str:
        """Quarantine ``post`` with the bytes of its ``images``; returns the new item's opaque id."""
        if retention <= timedelta(0):
            raise ValueError("the quarantine retention must be positive")
        image_ids = [image_id for image_id, _ in images]
        if len(set(image_ids)) != len(image_ids):
            raise ValueError("two images of a quarantined post have the same id")
        item_id = secrets.token_hex(16)
        # Encrypt before the transaction: the write lock is held only for the inserts.
        meta = {"author": str(post.author), "author_name": post.author_name, "thread_id": post.thread_id}
        key_id, sealed_meta = self._sealer.seal_raw(json.dumps(meta).encode(), _aad("meta", item_id))
        _, sealed_caption = self._sealer.seal_raw(post.caption.encode(), _aad("caption", item_id))
        image_rows = [
            QuarantineImageRow(
                item_id=item_id,
                position=position,
                image_id=image_id,
                key_id=key_id,
                sealed=self._sealer.seal_raw(data, _aad("image", item_id, image_id))[1],
            )
            for position, (image_id, data) in enumerate(images)
        ]
        now = self._clock()
        item = QuarantineItemRow(
            id=item_id,
            platform=post.chat.platform,
            chat_id=post.chat.chat_id,
            message_id=post.message_id,
            sent_at=post.sent_at,
            status=QuarantineStatus.PENDING.value,
            finding_kinds=json.dumps(sorted(set(findings_kinds))),
            reason=reason,
            language=language,
            image_count=len(image_rows),
            key_id=key_id,
            sealed_meta=sealed_meta,
            sealed_caption=sealed_caption,
            created_at=now,
            expires_at=now + retention,
        )
        with writing(self._sessions) as session:
            session.add(item)
            session.flush()  # the item first: the images reference it
            session.add_all(image_rows)
        return item_id

    def get(self, item_id: str) -> QuarantinedPost:
        """The item's metadata, decrypted; raises :class:`QuarantineItemNotFoundError` for an unknown id."""
        with self._sessions() as session:
            row = _load(session, item_id)
            return self._describe(row, self._clock())

    def images(self, item_id: str) -> list[tuple[str, bytes]]:
        """The decrypted images of a pending item, in posting order.

        Raises :class:`QuarantineKeyError` when no key decrypts them, and
        :class:`QuarantineItemNotPendingError` once they are deleted.
        """
        with self._sessions() as session:
            row = _load(session, item_id)
            _require_pending(row, self._clock())
            return self._decrypt_images(session, row)

    def held_copy(self, item_id: str) -> ApprovedPost:
        """The decrypted post of a pending item, as :meth:`approve` would hand it back; nothing is deleted.

        The review service reposts from this copy first and approves (deletes) only once the repost went
        up: a repost that fails leaves the item held, to be approved again or rejected.
        """
        with self._sessions() as session:
            row = _load(session, item_id)
            _require_pending(row, self._clock())
            return self._post_of(session, row)

    def approve(self, item_id: str, moderator: UserRef) -> ApprovedPost:
        """Hand back the decrypted post for reposting, and delete its images and caption.

        The deletion commits before this returns: repost from :meth:`held_copy` first (the review service
        does), so that a failed repost loses nothing.
        """
        now = self._clock()
        expired = False
        with writing(self._sessions) as session:
            row = _load(session, item_id, for_update=True)
            if _status(row, now) is QuarantineStatus.PURGED and row.status == QuarantineStatus.PENDING:
                # Past its retention: delete it now (commit), then refuse.
                self._purge(session, row, QuarantineStatus.PURGED)
                expired = True
            else:
                _require_pending(row, now)
                # Decrypt everything before deleting anything: a key error leaves the item untouched.
                approved = self._post_of(session, row)
                self._decide(session, row, QuarantineStatus.APPROVED, moderator, now)
        if expired:
            raise QuarantineItemNotPendingError(item_id, QuarantineStatus.PURGED)
        return approved

    def _post_of(self, session: Session, row: QuarantineItemRow) -> ApprovedPost:
        meta = self._meta(row)
        return ApprovedPost(
            item_id=row.id,
            chat=ChatRef(row.platform, row.chat_id),
            message_id=row.message_id,
            thread_id=meta.thread_id,
            author=meta.author,
            author_name=meta.author_name,
            caption=self._caption(row) or "",
            images=tuple(self._decrypt_images(session, row)),
            language=row.language,
        )

    def reject(self, item_id: str, moderator: UserRef, note: str = "") -> None:
        """Delete the item's images and caption now, and mark it rejected.

        Needs no key: a moderator can always get rid of an item, even one that no key decrypts. ``note``
        (the moderator's free text, which may name a patient) is kept sealed until the item's retention
        runs out (:meth:`notes`, :meth:`purge_expired`).
        """
        now = self._clock()
        with writing(self._sessions) as session:
            row = _load(session, item_id, for_update=True)
            if row.status != QuarantineStatus.PENDING:
                raise QuarantineItemNotPendingError(item_id, QuarantineStatus(row.status))
            self._decide(session, row, QuarantineStatus.REJECTED, moderator, now)
            if note:
                key_id, row.sealed_note = self._sealer.seal_raw(note.encode(), _aad("note", row.id))
                row.decided_key_id = key_id  # the same current key as the decider's (sealed just before)

    def notes(self, chat: ChatRef, message_ids: Sequence[str]) -> dict[str, str]:
        """The live notes of ``chat``'s rejected items among ``message_ids``, by message id (the history)."""
        if not message_ids:
            return {}
        query = select(QuarantineItemRow).where(
            QuarantineItemRow.platform == chat.platform,
            QuarantineItemRow.chat_id == chat.chat_id,
            QuarantineItemRow.message_id.in_(list(message_ids)),
            QuarantineItemRow.sealed_note.is_not(None),
            QuarantineItemRow.expires_at > self._clock(),
        )
        with self._sessions() as session:
            rows = list(session.scalars(query))
        notes: dict[str, str] = {}
        for row in rows:
            if row.sealed_note is not None and row.decided_key_id is not None:
                notes[row.message_id] = self._open(
                    row.decided_key_id, row.sealed_note, _aad("note", row.id), row.id
                ).decode()
        return notes

    def update_findings(self, item_id: str, findings_kinds: Sequence[str], reason: str) -> None:
        """Replace the finding kinds and reason of a pending item (held before detection had finished)."""
        with writing(self._sessions) as session:
            row = _load(session, item_id, for_update=True)
            if row.status != QuarantineStatus.PENDING:
                raise QuarantineItemNotPendingError(item_id, QuarantineStatus(row.status))
            row.finding_kinds = json.dumps(sorted(set(findings_kinds)))
            row.reason = reason

    def purge(self, item_id: str) -> bool:
        """Delete a pending item's images and caption without a moderator (the bot settled it).

        Marks it purged; returns False, changing nothing, when it was no longer pending. Needs no key.
        """
        with writing(self._sessions) as session:
            row = _load(session, item_id, for_update=True)
            if row.status != QuarantineStatus.PENDING:
                return False
            self._purge(session, row, QuarantineStatus.PURGED)
            return True

    def pending(self, chat: ChatRef | None = None) -> list[QuarantinedPost]:
        """Items awaiting a decision (in ``chat``, or everywhere), oldest first, decrypted."""
        now = self._clock()
        query = _pending_query(chat, now).order_by(QuarantineItemRow.created_at, QuarantineItemRow.id)
        with self._sessions() as session:
            return [self._describe(row, now) for row in session.scalars(query)]

    def count_pending(self, chat: ChatRef | None = None) -> int:
        """How many items await a decision (in ``chat``, or everywhere); decrypts nothing."""
        query = _pending_query(chat, self._clock()).with_only_columns(
            func.count(), maintain_column_froms=True
        )
        with self._sessions() as session:
            return session.scalar(query) or 0

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete the images and caption of every pending item past its retention; returns how many."""
        moment = now or self._clock()
        expired = select(QuarantineItemRow.id).where(
            QuarantineItemRow.status == QuarantineStatus.PENDING.value,
            QuarantineItemRow.expires_at <= moment,
        )
        with writing(self._sessions) as session:
            session.execute(delete(QuarantineImageRow).where(QuarantineImageRow.item_id.in_(expired)))
            result = session.execute(
                update(QuarantineItemRow)
                .where(
                    QuarantineItemRow.status == QuarantineStatus.PENDING.value,
                    QuarantineItemRow.expires_at <= moment,
                )
                .values(status=QuarantineStatus.PURGED.value, sealed_caption=None)
                .execution_options(synchronize_session=False)
            )
            # Rejection notes go with the retention of the item they were about.
            session.execute(
                update(QuarantineItemRow)
                .where(QuarantineItemRow.sealed_note.is_not(None), QuarantineItemRow.expires_at <= moment)
                .values(sealed_note=None)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def missing_keys(self) -> frozenset[str]:
        """Ids of keys that stored items need but the keyring lacks (check this at start-up)."""
        with self._sessions() as session:
            used = set(session.scalars(select(QuarantineItemRow.key_id).distinct()))
            used |= set(session.scalars(select(QuarantineImageRow.key_id).distinct()))
            used |= {
                key_id
                for key_id in session.scalars(select(QuarantineItemRow.decided_key_id).distinct())
                if key_id is not None
            }
        return frozenset(used - set(self._keyring.key_ids))

    # -- internals ---------------------------------------------------------------------------------

    def _decide(
        self,
        session: Session,
        row: QuarantineItemRow,
        status: QuarantineStatus,
        moderator: UserRef,
        now: datetime,
    ) -> None:
        row.decided_at = now
        row.decided_key_id, row.sealed_decided_by = self._sealer.seal_raw(
            str(moderator).encode(), _aad("decided_by", row.id)
        )
        self._purge(session, row, status)

    @staticmethod
    def _purge(session: Session, row: QuarantineItemRow, status: QuarantineStatus) -> None:
        session.execute(delete(QuarantineImageRow).where(QuarantineImageRow.item_id == row.id))
        row.sealed_caption = None
        row.status = status.value

    def _describe(self, row: QuarantineItemRow, now: datetime) -> QuarantinedPost:
        meta = self._meta(row)
        decided_by = None
        if row.sealed_decided_by is not None and row.decided_key_id is not None:
            plain = self._open(row.decided_key_id, row.sealed_decided_by, _aad("decided_by", row.id), row.id)
            decided_by = UserRef.parse(plain.decode())
        return QuarantinedPost(
            item_id=row.id,
            chat=ChatRef(row.platform, row.chat_id),
            message_id=row.message_id,
            thread_id=meta.thread_id,
            author=meta.author,
            author_name=meta.author_name,
            caption=self._caption(row),
            sent_at=row.sent_at,
            finding_kinds=tuple(json.loads(row.finding_kinds)),
            reason=row.reason,
            language=row.language,
            image_count=row.image_count,
            created_at=row.created_at,
            expires_at=row.expires_at,
            status=_status(row, now),
            key_id=row.key_id,
            decided_at=row.decided_at,
            decided_by=decided_by,
        )

    def _meta(self, row: QuarantineItemRow) -> _Meta:
        plain = self._open(row.key_id, row.sealed_meta, _aad("meta", row.id), row.id)
        data = json.loads(plain)
        return _Meta(UserRef.parse(data["author"]), data["author_name"], data["thread_id"])

    def _caption(self, row: QuarantineItemRow) -> str | None:
        if row.sealed_caption is None:
            return None
        return self._open(row.key_id, row.sealed_caption, _aad("caption", row.id), row.id).decode()

    def _decrypt_images(self, session: Session, row: QuarantineItemRow) -> list[tuple[str, bytes]]:
        blobs = session.scalars(
            select(QuarantineImageRow)
            .where(QuarantineImageRow.item_id == row.id)
            .order_by(QuarantineImageRow.position)
        )
        return [
            (
                blob.image_id,
                self._open(blob.key_id, blob.sealed, _aad("image", row.id, blob.image_id), row.id),
            )
            for blob in blobs
        ]

    def _open(self, key_id: str, sealed: bytes, aad: bytes, item_id: str) -> bytes:
        try:
            return self._sealer.open_raw(key_id, sealed, aad)
        except SealError as exc:
            known = "in the keyring" if self._sealer.knows(key_id) else "missing from the keyring"
            raise QuarantineKeyError(
                f"no quarantine key decrypts item {item_id} (written with key {key_id!r}, {known})"
            ) from exc


@dataclass(frozen=True, slots=True)
class _Meta:
    author: UserRef
    author_name: str = field(repr=False)
    thread_id: str | None


def _aad(kind: str, item_id: str, image_id: str = "") -> bytes:
    # The image id comes last, so no choice of it can make two different fields share associated data.
    return b"|".join((_AAD_PREFIX, kind.encode(), item_id.encode(), image_id.encode()))


def _load(session: Session, item_id: str, *, for_update: bool = False) -> QuarantineItemRow:
    query = select(QuarantineItemRow).where(QuarantineItemRow.id == item_id)
    row = session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise QuarantineItemNotFoundError(f"no quarantine item {item_id}")
    return row


def _status(row: QuarantineItemRow, now: datetime) -> QuarantineStatus:
    status = QuarantineStatus(row.status)
    if status is QuarantineStatus.PENDING and row.expires_at <= now:
        return QuarantineStatus.PURGED
    return status


def _require_pending(row: QuarantineItemRow, now: datetime) -> None:
    status = _status(row, now)
    if status is not QuarantineStatus.PENDING:
        raise QuarantineItemNotPendingError(row.id, status)


def _pending_query(chat: ChatRef | None, now: datetime) -> Select[QuarantineItemRow]:
    query = select(QuarantineItemRow).where(
        QuarantineItemRow.status == QuarantineStatus.PENDING.value, QuarantineItemRow.expires_at > now
    )
    if chat is not None:
        query = query.where(
            QuarantineItemRow.platform == chat.platform, QuarantineItemRow.chat_id == chat.chat_id
        )
    return query
