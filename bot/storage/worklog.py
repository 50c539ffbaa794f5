"""The work log: each platform message is handled at most once, and work cut short by a crash resumes.

The pipeline *accepts* a message before doing anything visible with it and marks it *done* after; a message
redelivered by the platform (a reconnect, a webhook retry) is refused by :meth:`WorkLog.accept`, and what was
accepted but never finished is listed by :meth:`WorkLog.unfinished` at start-up. An edited message is judged
again: each revision is accepted once, under the same post key.

Several front ends may share the database (webhook replicas, Discord shards): each item carries a lease, its
owner's name and an expiry that the owner renews while it lives. :meth:`WorkLog.claim_unfinished` gives a
front end only the items that are its own or whose lease ran out (their front end died), taking each with a
compare-and-set, so two replicas never resume the same post and a live one's posts are never taken from it.

:class:`OffenceCounter` counts removals per poster and chat, for the reminder's escalation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.consent.model import ChatRef
from bot.domain import Clock, utc_now
from bot.sqlbase import writing
from bot.storage.db import BotDatabase, OffenceRow, WorkItemRow

#: The revision of a message as first posted (edits bring their own revision ids).
ORIGINAL = ""
#: How long a front end's hold on its unfinished items lasts without renewal (it renews every minute).
DEFAULT_LEASE = timedelta(minutes=5)


class WorkItem(NamedTuple):
    """An accepted message (or revision) never marked done: unpacks as ``(post_key, payload)``.

    The revision is not listed: the payload carries the post, from which the caller recomputes it.
    """

    post_key: str
    payload: bytes

    def __repr__(self) -> str:
        # The payload may hold a caption (encrypted or not): never in a log line.
        return f"WorkItem(post_key={self.post_key!r}, payload=<{len(self.payload)} bytes>)"


class WorkLog:
    """At-most-once acceptance of platform messages, and the list of what to resume after a crash."""

    def __init__(
        self, db: BotDatabase, clock: Clock = utc_now, *, owner: str = "", lease: timedelta = DEFAULT_LEASE
    ) -> None:
        self._sessions = db.sessions
        self._clock = clock
        #: This front end's name in the leases: stable across its restarts, distinct between replicas.
        self.owner = owner
        self._lease = lease

    def accept(self, post_key: str, payload: bytes) -> bool:
        """Record that the message ``post_key`` is being handled; False when it already was (skip it)."""
        return self.accept_revision(post_key, ORIGINAL, payload)

    def accept_revision(self, post_key: str, revision: str, payload: bytes) -> bool:
        """Like :meth:`accept` for one revision of an edited message: each (key, revision) is accepted once.

        ``payload`` is stored as given until the work is done: the caller encrypts what must be.
        """
        row = self._new_row(post_key, revision, payload, self._clock())
        try:
            with writing(self._sessions) as session:
                session.add(row)
        except IntegrityError:
            # The unique (post_key, revision) constraint: another accept won, in this process or another.
            return False
        return True

    def accept_revisions(self, items: Sequence[tuple[str, str, bytes]]) -> list[bool]:
        """:meth:`accept_revision` for several posts in one transaction (one commit for a burst).

        Each item is (post key, revision, payload); the answer says, item by item, whether it was new.
        """
        accepted: list[bool] = []
        now = self._clock()
        with writing(self._sessions) as session:
            for post_key, revision, payload in items:
                try:
                    with session.begin_nested():  # a savepoint: a repeat fails alone, not the batch
                        session.add(self._new_row(post_key, revision, payload, now))
                    accepted.append(True)
                except IntegrityError:
                    accepted.append(False)
        return accepted

    def _new_row(self, post_key: str, revision: str, payload: bytes, now: datetime) -> WorkItemRow:
        """An accepted item, leased to this front end from the start."""
        return WorkItemRow(
            post_key=post_key,
            revision=revision,
            payload=bytes(payload),
            accepted_at=now,
            lease_owner=self.owner,
            lease_until=now + self._lease,
        )

    def mark_done(self, post_key: str, outcome: str, *, revision: str | None = None) -> bool:
        """Record that handling finished with ``outcome`` and drop the payload; False if nothing was open.

        With ``revision``, only that revision is closed. Without it, every open revision of the message is:
        judging its latest content settles the older ones. Pass the revision when two revisions of one
        message may be handled at the same time, so that the first to finish cannot close the other.
        """
        conditions = [WorkItemRow.post_key == post_key, WorkItemRow.done_at.is_(None)]
        if revision is not None:
            conditions.append(WorkItemRow.revision == revision)
        with writing(self._sessions) as session:
            result = session.execute(
                update(WorkItemRow)
                .where(*conditions)
                .values(done_at=self._clock(), outcome=outcome, payload=b"")
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0))

    def unfinished(self) -> list[WorkItem]:
        """Everything accepted and not done, oldest first: the work to resume at start-up."""
        query = (
            select(WorkItemRow)
            .where(WorkItemRow.done_at.is_(None))
            .order_by(WorkItemRow.accepted_at, WorkItemRow.id)
        )
        with self._sessions() as session:
            return [WorkItem(row.post_key, row.payload) for row in session.scalars(query)]

    def claim_unfinished(self) -> list[WorkItem]:
        """The unfinished items this front end may resume, oldest first, each now leased to it.

        Its own (from before a restart, or a post that failed and waits for its retry) and those whose lease
        ran out. Each is taken with a conditional UPDATE: of two replicas claiming one item, one gets it.
        """
        now = self._clock()
        query = (
            select(WorkItemRow.id, WorkItemRow.post_key)
            .where(WorkItemRow.done_at.is_(None), self._claimable(now))
            .order_by(WorkItemRow.accepted_at, WorkItemRow.id)
        )
        with self._sessions() as session:
            candidates = list(session.execute(query))
        claimed: list[WorkItem] = []
        for item_id, _post_key in candidates:
            with writing(self._sessions) as session:
                result = session.execute(
                    update(WorkItemRow)
                    .where(WorkItemRow.id == item_id, WorkItemRow.done_at.is_(None), self._claimable(now))
                    .values(lease_owner=self.owner, lease_until=now + self._lease)
                    .execution_options(synchronize_session=False)
                )
                if not getattr(result, "rowcount", 0):
                    continue  # another replica took it, or it was finished, in between
                row = session.get(WorkItemRow, item_id)
                if row is not None:
                    claimed.append(WorkItem(row.post_key, row.payload))
        return claimed

    def renew_leases(self) -> int:
        """Extend this front end's hold on every item it has not finished; returns how many."""
        now = self._clock()
        with writing(self._sessions) as session:
            result = session.execute(
                update(WorkItemRow)
                .where(WorkItemRow.done_at.is_(None), WorkItemRow.lease_owner == self.owner)
                .values(lease_until=now + self._lease)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def _claimable(self, now: datetime) -> Any:
        return or_(
            WorkItemRow.lease_owner == self.owner,
            WorkItemRow.lease_until.is_(None),
            WorkItemRow.lease_until < now,
        )

    def forget_older_than(self, age: timedelta) -> int:
        """Delete finished entries accepted more than ``age`` ago; returns how many.

        Unfinished entries are kept whatever their age: forgetting one would lose the work. After this,
        a redelivery of a forgotten message would be accepted again, so keep ``age`` well above how long a
        platform may redeliver (a day is plenty for Telegram and Discord).
        """
        cutoff = self._clock() - age
        with writing(self._sessions) as session:
            result = session.execute(
                delete(WorkItemRow)
                .where(WorkItemRow.done_at.is_not(None), WorkItemRow.accepted_at < cutoff)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)


class OffenceCounter:
    """How many posts of each poster (by pseudonym) were removed in each chat."""

    def __init__(self, db: BotDatabase, clock: Clock = utc_now) -> None:
        self._sessions = db.sessions
        self._clock = clock

    def add(self, chat: ChatRef, poster_pseudonym: str) -> int:
        """Count one more removal; returns the poster's new count in that chat."""
        now = self._clock()
        for _attempt in range(2):
            try:
                with writing(self._sessions) as session:
                    row = session.scalar(_offence(chat, poster_pseudonym).with_for_update())
                    if row is None:
                        row = OffenceRow(
                            platform=chat.platform,
                            chat_id=chat.chat_id,
                            poster=poster_pseudonym,
                            count=0,
                            first_at=now,
                            last_at=now,
                        )
                        session.add(row)
                    row.count += 1
                    row.last_at = now
                    return row.count
            except IntegrityError:
                # PostgreSQL: a concurrent first offence inserted the row first; count on top of it.
                continue
        raise RuntimeError("could not count the offence")  # pragma: no cover - two lost races in a row

    def count(self, chat: ChatRef, poster_pseudonym: str) -> int:
        """The poster's removals in that chat (0 when none)."""
        with self._sessions() as session:
            row = session.scalar(_offence(chat, poster_pseudonym))
            return 0 if row is None else row.count

    def reset(self, chat: ChatRef, poster_pseudonym: str) -> None:
        """Forget the poster's removals in that chat."""
        with writing(self._sessions) as session:
            session.execute(
                delete(OffenceRow).where(
                    OffenceRow.platform == chat.platform,
                    OffenceRow.chat_id == chat.chat_id,
                    OffenceRow.poster == poster_pseudonym,
                )
            )


def _offence(chat: ChatRef, poster_pseudonym: str) -> Select[OffenceRow]:
    return select(OffenceRow).where(
        OffenceRow.platform == chat.platform,
        OffenceRow.chat_id == chat.chat_id,
        OffenceRow.poster == poster_pseudonym,
    )
