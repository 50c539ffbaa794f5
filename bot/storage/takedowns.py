"""Posts allowed under a consent, to take down when it is withdrawn; and the feed cursors.

:class:`SqlConsentedPosts` is the :class:`bot.core.takedown.ConsentedPostLog` port: one row per allowed post,
found by the keyed hash of its consent (``takedown_key``), marked ``withdrawn`` when the registry publishes
the revocation and ``settled`` once the takedown is done (deleted, refused or too old). Settling is one
conditional UPDATE, so two rounds (or two processes) cannot take one post down twice. Who posted it (and
the group's title) is sealed with the storage keyring; ids and times are not.

:class:`SqlCursorStore` keeps where the bot is in the registry's revocation feed, so that a restart resumes.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Delete, Select, delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.consent.model import ChatRef, UserRef
from bot.core.takedown import ConsentedPost
from bot.domain import Clock, utc_now
from bot.errors import SealError
from bot.sqlbase import writing
from bot.storage.db import BotDatabase, ConsentedPostRow, FeedCursorRow
from bot.storage.sealing import Sealer

#: Associated data of the sealed people of a consented post (with the row's platform, chat and message).
CONSENTED_CONTEXT = b"consentguard consented-post v1"
#: Who posted a row that no key of the keyring opens any more: the post is still taken down.
UNKNOWN_AUTHOR = "?"


class _People(BaseModel):
    model_config = ConfigDict(frozen=True)

    author: str
    author_name: str
    author_language: str | None
    chat_title: str | None


class SqlConsentedPosts:
    """The consented posts in the bot database (a :class:`bot.core.takedown.ConsentedPostLog`)."""

    def __init__(self, db: BotDatabase, sealer: Sealer, clock: Clock = utc_now) -> None:
        self._sessions = db.sessions
        self._sealer = sealer
        self._clock = clock

    def __repr__(self) -> str:
        return "SqlConsentedPosts()"

    def remember(self, post: ConsentedPost, key: str) -> None:
        """Record ``post`` under consent ``key``; a post allowed again (an edit) replaces its old row."""
        people = _People(
            author=str(post.author),
            author_name=post.author_name,
            author_language=post.author_language,
            chat_title=post.chat_title,
        )
        sealed = self._sealer.seal(people.model_dump_json().encode(), _aad(post.chat, post.message_id))
        row = ConsentedPostRow(
            platform=post.chat.platform,
            chat_id=post.chat.chat_id,
            message_id=post.message_id,
            message_ids=json.dumps(list(post.message_ids)),
            thread_id=post.thread_id,
            takedown_key=key,
            token_fingerprint=post.token_fingerprint,
            posted_at=post.posted_at,
            allowed_at=self._clock(),
            sealed_people=sealed,
        )
        for _attempt in range(2):
            try:
                with writing(self._sessions) as session:
                    session.execute(_delete_open(post.chat, post.message_id))
                    session.add(row)
                return
            except IntegrityError:
                # A settled row of the same message (taken down, then posted again under the same id is
                # impossible; an edit of a settled one): the message's history is replaced.
                with writing(self._sessions) as session:
                    session.execute(_delete_all(post.chat, post.message_id))
        raise RuntimeError("could not record the consented post")  # pragma: no cover

    def forget(self, chat: ChatRef, message_id: str) -> None:
        """Drop the post's row unless a takedown is under way (it was removed for another reason)."""
        with writing(self._sessions) as session:
            session.execute(_delete_open(chat, message_id).where(ConsentedPostRow.withdrawn_at.is_(None)))

    def mark_withdrawn(self, key: str, at: datetime) -> int:
        """Mark consent ``key``'s posts for takedown (those not marked yet); how many were marked."""
        with writing(self._sessions) as session:
            result = session.execute(
                update(ConsentedPostRow)
                .where(ConsentedPostRow.takedown_key == key, ConsentedPostRow.withdrawn_at.is_(None))
                .values(withdrawn_at=at)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def withdrawn(self) -> list[ConsentedPost]:
        """Posts marked for takedown and not settled, oldest withdrawal first."""
        query = (
            select(ConsentedPostRow)
            .where(ConsentedPostRow.withdrawn_at.is_not(None), ConsentedPostRow.settled_at.is_(None))
            .order_by(ConsentedPostRow.withdrawn_at, ConsentedPostRow.id)
        )
        with self._sessions() as session:
            return [self._post(row) for row in session.scalars(query)]

    def settle(self, record_id: int, outcome: str) -> bool:
        """Record the takedown's outcome; False when it was settled already."""
        with writing(self._sessions) as session:
            result = session.execute(
                update(ConsentedPostRow)
                .where(ConsentedPostRow.id == record_id, ConsentedPostRow.settled_at.is_(None))
                .values(settled_at=self._clock(), outcome=outcome)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0))

    def outcome(self, chat: ChatRef, message_id: str) -> str | None:
        """How the post's takedown ended (None: not settled, or unknown); for tests and operators."""
        with self._sessions() as session:
            row = session.scalar(_select(chat, message_id))
            return None if row is None else row.outcome

    def _post(self, row: ConsentedPostRow) -> ConsentedPost:
        chat = ChatRef(row.platform, row.chat_id)
        try:
            opened = self._sealer.open(row.sealed_people, _aad(chat, row.message_id))
            people = _People.model_validate_json(opened)
            author = UserRef.parse(people.author)
        except (SealError, ValueError):
            # The key that sealed it left the keyring: the post still comes down; nobody can be named.
            people = _People(author=f"{row.platform}:{UNKNOWN_AUTHOR}", author_name=UNKNOWN_AUTHOR,
                             author_language=None, chat_title=None)  # fmt: skip
            author = UserRef(row.platform, UNKNOWN_AUTHOR)
        return ConsentedPost(
            chat=chat,
            message_ids=tuple(str(i) for i in json.loads(row.message_ids)) or (row.message_id,),
            author=author,
            author_name=people.author_name,
            posted_at=row.posted_at,
            thread_id=row.thread_id,
            author_language=people.author_language,
            chat_title=people.chat_title,
            token_fingerprint=row.token_fingerprint,
            record_id=row.id,
        )


class SqlCursorStore:
    """Named feed positions in the bot database (a :class:`bot.core.takedown.CursorStore`)."""

    def __init__(self, db: BotDatabase) -> None:
        self._sessions = db.sessions

    def load(self, name: str) -> datetime | None:
        """The stored position of feed ``name``, or None."""
        with self._sessions() as session:
            row = session.get(FeedCursorRow, name)
            return None if row is None else row.position

    def save(self, name: str, at: datetime) -> None:
        """Store the position of feed ``name``."""
        with writing(self._sessions) as session:
            row = session.get(FeedCursorRow, name)
            if row is None:
                session.add(FeedCursorRow(name=name, position=at))
            else:
                row.position = at


def _aad(chat: ChatRef, message_id: str) -> bytes:
    return CONSENTED_CONTEXT + f"|{chat}|{message_id}".encode()


def _select(chat: ChatRef, message_id: str) -> Select[ConsentedPostRow]:
    return select(ConsentedPostRow).where(
        ConsentedPostRow.platform == chat.platform,
        ConsentedPostRow.chat_id == chat.chat_id,
        ConsentedPostRow.message_id == message_id,
    )


def _delete_all(chat: ChatRef, message_id: str) -> Delete:
    return delete(ConsentedPostRow).where(
        ConsentedPostRow.platform == chat.platform,
        ConsentedPostRow.chat_id == chat.chat_id,
        ConsentedPostRow.message_id == message_id,
    )


def _delete_open(chat: ChatRef, message_id: str) -> Delete:
    return _delete_all(chat, message_id).where(ConsentedPostRow.settled_at.is_(None))
