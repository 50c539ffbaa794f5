"""What the console needs from the running bot: who moderates a group now, and how to repost an item."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from bot.consent.model import ChatRef, UserRef
from bot.core.review import Reviewer
from bot.domain import ApprovedPost
from bot.errors import ConfigurationError


class ModeratorCheck(Protocol):
    """Whether a person moderates a group right now (asked again at every request of their session)."""

    async def is_moderator(self, user: UserRef, chat: ChatRef) -> bool:
        """True when ``user`` may review ``chat``'s quarantine now."""
        ...


class Reposter(Protocol):
    """Reposts an approved item in its group, as the review buttons do (needs the platform's client)."""

    def serves(self, chat: ChatRef) -> bool:
        """Whether this reposter can repost in ``chat`` now.

        Asked before approving: approving purges the held copy, so never approve what cannot be reposted.
        """
        ...

    async def repost(self, approved: ApprovedPost, reviewer: Reviewer) -> None:
        """Send ``approved``'s images back to its chat (and let the review service remember the repost)."""
        ...


class Previewer(Protocol):
    """A de-identified rendering of one image, or None when none can be made (never the original)."""

    async def preview(self, data: bytes, name_hint: str) -> bytes | None:
        """JPEG bytes of a de-identified rendering of ``data``, or None."""
        ...


class LinkScopeModeratorCheck:
    """Trusts the scope the login link was issued with (the standalone ``consentguard console``).

    The link is issued by the bot after it checked the person on the platform; while the session lasts
    (idle timeout, at most the link's scope), this check says yes for those groups. Served by the running
    bot (``consentguard run``), the console gets :class:`PlatformModeratorCheck` instead.
    """

    async def is_moderator(self, user: UserRef, chat: ChatRef) -> bool:
        """Always True: the session's scope already limits the groups."""
        return True


class PlatformModeratorCheck:
    """Asks the running platform of each group (``consentguard run``); no running platform: no."""

    def __init__(self, checks: Mapping[str, ModeratorCheck]) -> None:
        self.checks = dict(checks)

    async def is_moderator(self, user: UserRef, chat: ChatRef) -> bool:
        """The answer of ``chat``'s platform, asked now (False for a platform this bot does not run)."""
        check = self.checks.get(chat.platform)
        return check is not None and await check.is_moderator(user, chat)


class PlatformReposter:
    """Reposts through the running platform of the item's group (``consentguard run``)."""

    def __init__(self, reposters: Mapping[str, Reposter]) -> None:
        self.reposters = dict(reposters)

    def serves(self, chat: ChatRef) -> bool:
        """Whether ``chat``'s platform runs in this bot."""
        reposter = self.reposters.get(chat.platform)
        return reposter is not None and reposter.serves(chat)

    async def repost(self, approved: ApprovedPost, reviewer: Reviewer) -> None:
        """Hand ``approved`` to its platform's reposter; a platform this bot does not run is an error."""
        reposter = self.reposters.get(approved.chat.platform)
        if reposter is None:
            raise ConfigurationError(f"no running {approved.chat.platform} platform to repost with")
        await reposter.repost(approved, reviewer)
