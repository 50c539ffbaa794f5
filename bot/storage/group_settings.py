"""Group settings changed by moderators (the /policy command), kept across restarts.

The policy file says how each group starts; what its moderators change is stored here, one row per chat,
and overrides the file's table for that chat at the next start. The policy is stored as the JSON of
:class:`bot.core.policy.GroupPolicySchema`, the schema a policy file's table has: one schema, one set of
checks, whichever way the settings come in.

Who made the change is not stored: the audit log records moderators by keyed pseudonym, and a clear user
id here would undo that.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.consent.model import ChatRef, UserRef
from bot.core.policy import GroupPolicy, group_policy_from_json, group_policy_to_json
from bot.domain import Clock, utc_now
from bot.sqlbase import writing
from bot.storage.db import BotDatabase, GroupSettingsRow


class SqlGroupSettings:
    """Each group's stored policy in the bot database (a :class:`bot.core.ports.GroupSettingsStore`)."""

    def __init__(self, db: BotDatabase, clock: Clock = utc_now) -> None:
        self._sessions = db.sessions
        self._clock = clock

    def load(self) -> dict[str, GroupPolicy]:
        """Every stored policy, by ``platform:chat`` name; raises :class:`PolicyError` for a bad row."""
        with self._sessions() as session:
            rows = [
                (row.platform, row.chat_id, row.policy) for row in session.scalars(select(GroupSettingsRow))
            ]
        policies: dict[str, GroupPolicy] = {}
        for platform, chat_id, text in rows:
            name = str(ChatRef(platform, chat_id))
            policies[name] = group_policy_from_json(text, source=f"stored group settings of {name}")
        return policies

    def save(self, chat: ChatRef, policy: GroupPolicy, changed_by: UserRef) -> None:
        """Store ``policy`` as ``chat``'s, replacing what was stored (``changed_by`` is not kept)."""
        # Serialised (and checked) before the transaction: the write lock is held for the write only.
        text = group_policy_to_json(policy, source=f"group settings of {chat}")
        for _attempt in range(2):
            try:
                with writing(self._sessions) as session:
                    row = session.scalar(
                        select(GroupSettingsRow)
                        .where(
                            GroupSettingsRow.platform == chat.platform,
                            GroupSettingsRow.chat_id == chat.chat_id,
                        )
                        .with_for_update()
                    )
                    if row is None:
                        session.add(
                            GroupSettingsRow(
                                platform=chat.platform,
                                chat_id=chat.chat_id,
                                policy=text,
                                updated_at=self._clock(),
                            )
                        )
                    else:
                        row.policy = text
                        row.updated_at = self._clock()
                    return
            except IntegrityError:
                # PostgreSQL: a concurrent first save inserted the row first; write over it.
                continue
        raise RuntimeError("could not save the group settings")  # pragma: no cover - two lost races in a row
