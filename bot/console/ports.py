"""What the console needs from the running bot: who moderates a group now, and how to repost an item."""

from __future__ import annotations

from typing import Protocol

from bot.consent.model import ChatRef, UserRef
from bot.core.review import Reviewer
from bot.domain import ApprovedPost


class ModeratorCheck(Protocol):
    """Whether a person moderates a group right now (asked again at every request of their session)."""

    async def is_moderator(self, user: UserRef, chat: ChatRef) -> bool:
        """True when ``user`` may review ``chat``'s quarantine now."""
        ...


class Reposter(Protocol):
    """Reposts an approved item in its group, as the review buttons do (needs the platform's client)."""

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
    (idle timeout, at most the link's scope), this check says yes for those groups. The running bot will
    give the console its platform-backed check (administrators or the policy's moderators, asked again at
    each request) in the next slice.
    """

    async def is_moderator(self, user: UserRef, chat: ChatRef) -> bool:
        """Always True: the session's scope already limits the groups."""
        return True
