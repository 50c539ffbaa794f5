"""The web console's one-time login links and sessions, in the bot database.

Only SHA-256 hashes of the secrets are stored (a 256-bit link secret, a 256-bit session id): a copy of the
database opens no session. A link is redeemed by one conditional UPDATE, so two browsers cannot both use it.
Each link and session carries its scope: the operator (every group), or one moderator and their groups.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from bot.consent.model import ChatRef, UserRef
from bot.domain import Clock, utc_now
from bot.sqlbase import writing
from bot.storage.db import BotDatabase, ConsoleLinkRow, ConsoleSessionRow


class LinkRefusedError(Exception):
    """A login link that cannot open a session: ``reason`` is ``unknown``, ``used`` or ``expired``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"login link {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ConsoleScope:
    """Who a link or session is for: the operator (every group), or a moderator of some groups."""

    operator: bool = False
    moderator: UserRef | None = None
    groups: tuple[ChatRef, ...] = ()

    def to_json(self) -> str:
        """The scope as stored."""
        return json.dumps(
            {
                "operator": self.operator,
                "moderator": str(self.moderator) if self.moderator else None,
                "groups": [str(chat) for chat in self.groups],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ConsoleScope:
        """Read a stored scope."""
        data = json.loads(text)
        moderator = UserRef.parse(data["moderator"]) if data.get("moderator") else None
        groups = tuple(ChatRef.parse(chat) for chat in data.get("groups", []))
        return cls(operator=bool(data.get("operator")), moderator=moderator, groups=groups)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A live console session (the id itself is only in the browser's cookie)."""

    id_hash: str = field(repr=False)
    scope: ConsoleScope
    csrf: str = field(repr=False)
    language: str
    last_seen: datetime
    revealed_item: str | None = None
    revealed_at: datetime | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SqlConsoleAuth:
    """Login links and sessions of the console, in the bot database; safe from several threads."""

    def __init__(self, db: BotDatabase, clock: Clock = utc_now) -> None:
        self._sessions = db.sessions
        self._clock = clock

    def __repr__(self) -> str:
        return "SqlConsoleAuth()"

    # -- links --------------------------------------------------------------------------------------------

    def issue_link(self, scope: ConsoleScope, validity: timedelta) -> str:
        """A new one-time link secret for ``scope``, valid for ``validity``; returned once, stored hashed."""
        secret = secrets.token_urlsafe(32)
        now = self._clock()
        with writing(self._sessions) as session:
            session.execute(delete(ConsoleLinkRow).where(ConsoleLinkRow.expires_at <= now))
            session.add(
                ConsoleLinkRow(
                    secret_hash=_hash(secret),
                    scope=scope.to_json(),
                    created_at=now,
                    expires_at=now + validity,
                )
            )
        return secret

    def redeem(self, secret: str) -> ConsoleScope:
        """Use a link once: its scope, or :class:`LinkRefusedError` (unknown, used or expired)."""
        now, digest = self._clock(), _hash(secret)
        with writing(self._sessions) as session:
            used = session.execute(
                update(ConsoleLinkRow)
                .where(
                    ConsoleLinkRow.secret_hash == digest,
                    ConsoleLinkRow.used_at.is_(None),
                    ConsoleLinkRow.expires_at > now,
                )
                .values(used_at=now)
            )
            row = session.get(ConsoleLinkRow, digest)
            if row is None:
                raise LinkRefusedError("unknown")
            if getattr(used, "rowcount", 0) != 1:
                raise LinkRefusedError("used" if row.used_at is not None else "expired")
            return ConsoleScope.from_json(row.scope)

    # -- sessions -----------------------------------------------------------------------------------------

    def open_session(self, scope: ConsoleScope, language: str) -> tuple[str, ConsoleSession]:
        """A new session for ``scope``: its id (for the cookie, never stored) and what is stored."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        row = ConsoleSessionRow(
            id_hash=_hash(session_id),
            scope=scope.to_json(),
            csrf=secrets.token_urlsafe(32),
            language=language,
            created_at=now,
            last_seen=now,
        )
        with writing(self._sessions) as session:
            session.add(row)
        return session_id, _describe(row)

    def session(self, session_id: str, idle: timedelta) -> ConsoleSession | None:
        """The live session of ``session_id``, stamped active now; None when unknown or idle too long."""
        now, digest = self._clock(), _hash(session_id)
        with writing(self._sessions) as session:
            session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.last_seen <= now - idle))
            row = session.get(ConsoleSessionRow, digest)
            if row is None:
                return None
            row.last_seen = now
            return _describe(row)

    def set_language(self, id_hash: str, language: str) -> None:
        """Remember the session's language."""
        with writing(self._sessions) as session:
            session.execute(
                update(ConsoleSessionRow)
                .where(ConsoleSessionRow.id_hash == id_hash)
                .values(language=language)
            )

    def mark_revealed(self, id_hash: str, item_id: str) -> None:
        """The session has just revealed ``item_id``: its originals may be served to it for a short while."""
        with writing(self._sessions) as session:
            session.execute(
                update(ConsoleSessionRow)
                .where(ConsoleSessionRow.id_hash == id_hash)
                .values(revealed_item=item_id, revealed_at=self._clock())
            )

    def close_session(self, id_hash: str) -> None:
        """Log out: the session is deleted."""
        with writing(self._sessions) as session:
            session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == id_hash))

    def count_sessions(self) -> int:
        """Live session rows (tests, housekeeping)."""
        with self._sessions() as session:
            return len(session.scalars(select(ConsoleSessionRow.id_hash)).all())


def _describe(row: ConsoleSessionRow) -> ConsoleSession:
    return ConsoleSession(
        id_hash=row.id_hash,
        scope=ConsoleScope.from_json(row.scope),
        csrf=row.csrf,
        language=row.language,
        last_seen=row.last_seen,
        revealed_item=row.revealed_item,
        revealed_at=row.revealed_at,
    )
