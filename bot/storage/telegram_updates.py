"""Which Telegram updates the webhook replicas have taken: each update is handled by one replica, once.

In webhook mode Telegram may deliver one update twice (a retry after a timeout, a lost answer), and behind a
load balancer the two deliveries can reach different replicas. The work log already refuses a post seen
before, but commands and button presses are not posts: this table stops those running twice too.

A delivery first *claims* its ``(bot id, update id)`` (insert-if-absent, one transaction), hands the update
over, then *confirms* the claim once the update is durably accepted, or *releases* it when accepting failed
so that Telegram's redelivery is handled again. A claim is never taken for "done": a replica that dies
between claim and confirm leaves a claim that another replica takes over once its lease has run out, so a
crash can delay an update but never drop it. Rows are forgotten after a week
(:meth:`TelegramUpdateLog.forget_older_than`, on the webhook's periodic purge): Telegram keeps an
undelivered update for 24 hours at most, so it cannot come back later than that.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import BigInteger, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain import Clock, utc_now
from bot.sqlbase import UtcDateTime, writing
from bot.storage.db import Base, BotDatabase

#: What a claim found: ``new`` (handle it), ``done`` (handled already: acknowledge it), ``busy`` (another
#: delivery is handling it now: let Telegram retry). Spelled as in bot.platforms.telegram.webhook's port.
ClaimOutcome = Literal["new", "done", "busy"]

#: How long a claim protects an update being handled; past it the handler is presumed dead.
DEFAULT_LEASE = timedelta(seconds=60)


class TelegramUpdateRow(Base):
    """One Telegram update claimed by a webhook delivery (confirmed once durably accepted)."""

    __tablename__ = "telegram_updates"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class TelegramUpdateLog:
    """Claims on Telegram updates, shared by every replica through the bot database; thread-safe."""

    def __init__(self, db: BotDatabase, clock: Clock = utc_now, *, lease: timedelta = DEFAULT_LEASE) -> None:
        self._sessions = db.sessions
        self._clock = clock
        self._lease = lease

    def claim(self, bot_id: int, update_id: int) -> ClaimOutcome:
        """Take the update if nobody has it (or its claim went stale); say what was found."""
        now = self._clock()
        with writing(self._sessions) as session:
            try:
                with session.begin_nested():  # a savepoint: a duplicate key fails alone, not the transaction
                    session.add(TelegramUpdateRow(bot_id=bot_id, update_id=update_id, claimed_at=now))
                return "new"
            except IntegrityError:
                pass
            row = session.get(TelegramUpdateRow, (bot_id, update_id), with_for_update=True)
            if row is None:
                return "busy"  # released between our insert and this read: the redelivery will claim it
            if row.done_at is not None:
                return "done"
            if row.claimed_at > now - self._lease:
                return "busy"
            # The claiming replica died (or hangs) without confirming or releasing: take the update over.
            # Its posts are in the work log at most once, whoever handles it.
            row.claimed_at = now
            return "new"

    def confirm(self, bot_id: int, update_id: int) -> None:
        """Mark the update durably accepted: a later delivery of it is acknowledged without handling."""
        with writing(self._sessions) as session:
            session.execute(
                update(TelegramUpdateRow)
                .where(TelegramUpdateRow.bot_id == bot_id, TelegramUpdateRow.update_id == update_id)
                .values(done_at=self._clock())
                .execution_options(synchronize_session=False)
            )

    def release(self, bot_id: int, update_id: int) -> None:
        """Drop an unconfirmed claim (accepting the update failed): its redelivery is handled afresh."""
        with writing(self._sessions) as session:
            session.execute(
                delete(TelegramUpdateRow)
                .where(
                    TelegramUpdateRow.bot_id == bot_id,
                    TelegramUpdateRow.update_id == update_id,
                    TelegramUpdateRow.done_at.is_(None),
                )
                .execution_options(synchronize_session=False)
            )

    def forget_older_than(self, age: timedelta) -> int:
        """Delete claims made more than ``age`` ago (keep it well over Telegram's 24 hours); how many."""
        cutoff = self._clock() - age
        with writing(self._sessions) as session:
            result = session.execute(
                delete(TelegramUpdateRow)
                .where(TelegramUpdateRow.claimed_at < cutoff)
                .execution_options(synchronize_session=False)
            )
            return int(getattr(result, "rowcount", 0) or 0)
