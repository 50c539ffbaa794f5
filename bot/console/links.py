"""One-time login links to the console: issued by the bot (``/console``, next slice) or the operator's CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.consent.model import ChatRef, UserRef
from bot.storage.console_sessions import ConsoleScope, SqlConsoleAuth

#: The longest a login link may stay valid.
MAX_VALIDITY = timedelta(minutes=10)


class LoginLinks:
    """Issues login links on the console's public address; each opens one session, once."""

    def __init__(self, auth: SqlConsoleAuth, public_url: str, validity: timedelta) -> None:
        if validity > MAX_VALIDITY or validity <= timedelta(0):
            raise ValueError("a console login link is valid for 10 minutes at most")
        self._auth = auth
        self._base = public_url.rstrip("/")
        self._validity = validity

    def __repr__(self) -> str:
        return f"LoginLinks({self._base!r})"

    @property
    def minutes(self) -> int:
        """How many minutes a link stays valid (said to the moderator with it)."""
        return int(self._validity.total_seconds() // 60)

    def issue_login_link(self, moderator: UserRef, groups: Sequence[ChatRef]) -> str:
        """A link for ``moderator`` to review ``groups`` (the bot checked them on the platform just now)."""
        if not groups:
            raise ValueError("a moderator's login link needs at least one group")
        scope = ConsoleScope(moderator=moderator, groups=tuple(dict.fromkeys(groups)))
        return self._link(scope)

    def issue_operator_link(self) -> str:
        """A link for the operator: every group."""
        return self._link(ConsoleScope(operator=True))

    def _link(self, scope: ConsoleScope) -> str:
        return f"{self._base}/login/{self._auth.issue_link(scope, self._validity)}"
