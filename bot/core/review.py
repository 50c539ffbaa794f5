"""The review service: what moderators do with the quarantine and their group's policy, on any front end.

Used by the Telegram and Discord adapters (buttons and commands) and by the operator CLI; the web console
will use it too. Every action is authorised here, at the moment it is taken (the platform's answer about
the person is passed in fresh by the adapter), and every action lands in the audit log.

Who is a moderator of a group: the people listed in its policy's ``moderators`` when the list is not
empty; otherwise whoever the platform says administers the group (Telegram administrators, Discord
members with Manage Messages in the channel).

An approved item the adapter reposted under a consent token (quoted in its caption) is remembered like a
post the pipeline allows under a consent (:meth:`ReviewService.reposted`): a withdrawal takes the repost
down too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.consent.model import ChatRef, UserRef
from bot.consent.token import find_token
from bot.core.policy import GroupPolicy, Mode, Policies
from bot.core.ports import AuditTrail, GroupSettingsStore, Quarantine
from bot.core.takedown import ConsentedPost, ConsentedPostLog, registry_fingerprint, takedown_key
from bot.domain import ApprovedPost, AuditEvent, Clock, QuarantinedPost, Verdict, utc_now
from bot.errors import NotAModeratorError

log = logging.getLogger(__name__)

#: Reasons a moderator may give for rejecting an item (the console offers them; a free note may follow).
REJECT_REASONS = ("identifying", "no-consent", "out-of-scope", "off-topic", "other")


@dataclass(frozen=True, slots=True)
class Reviewer:
    """The person acting, as the platform describes them right now."""

    user: UserRef
    name: str = dataclasses.field(repr=False)  # shown to moderators, never logged
    #: Whether the platform says this person administers the group (checked by the adapter at each action).
    platform_admin: bool = False


class ReviewService:
    """Queue, preview, approve, reject and policy changes: authorised, audited, effective at once."""

    def __init__(
        self,
        *,
        quarantine: Quarantine,
        audit: AuditTrail,
        policies: Policies,
        group_settings: GroupSettingsStore,
        clock: Clock = utc_now,
        consented: ConsentedPostLog | None = None,
        token_key: bytes = b"",
    ) -> None:
        """``consented`` and ``token_key`` (the pipeline's): where reposts under a consent are remembered."""
        if consented is not None and not token_key:
            raise ValueError("remembering reposts under a consent needs the token key")
        self._quarantine = quarantine
        self._audit = audit
        self._policies = policies
        self._group_settings = group_settings
        self._clock = clock
        self._consented = consented
        self._token_key = token_key

    # -- who may act --------------------------------------------------------------------------------

    def policy(self, chat: ChatRef) -> GroupPolicy:
        """The policy in force in ``chat``."""
        return self._policies.for_chat(chat)

    def is_moderator(self, chat: ChatRef, reviewer: Reviewer) -> bool:
        """The policy's ``moderators`` list when it has one, else the platform's administrators."""
        listed = self.policy(chat).moderators
        if listed:
            return reviewer.user in listed
        return reviewer.platform_admin

    def _require_moderator(self, chat: ChatRef, reviewer: Reviewer) -> None:
        if not self.is_moderator(chat, reviewer):
            raise NotAModeratorError(f"{reviewer.user.platform} user is not a moderator of this group")

    # -- the queue ----------------------------------------------------------------------------------

    async def pending_count(self, chat: ChatRef) -> int:
        """How many items of ``chat`` await review (shown to anyone by /status)."""
        return len(await asyncio.to_thread(self._quarantine.pending, chat))

    async def queue(self, chat: ChatRef, reviewer: Reviewer) -> list[QuarantinedPost]:
        """Items of ``chat`` awaiting review, newest first (moderators only)."""
        self._require_moderator(chat, reviewer)
        items = await asyncio.to_thread(self._quarantine.pending, chat)
        return sorted(items, key=lambda item: item.created_at, reverse=True)

    async def item(self, item_id: str) -> QuarantinedPost:
        """One item's metadata (QuarantineItemNotFoundError when unknown)."""
        return await asyncio.to_thread(self._quarantine.get, item_id)

    async def preview(self, item_id: str, reviewer: Reviewer) -> list[tuple[str, bytes]]:
        """The decrypted images, for a moderator who asked to see them; audited as a reveal."""
        item = await self.item(item_id)
        self._require_moderator(item.chat, reviewer)
        images = await asyncio.to_thread(self._quarantine.images, item_id)
        await self._record(item.chat, item.message_id, item.author, reviewer, "revealed")
        return images

    async def approve(self, item_id: str, reviewer: Reviewer) -> ApprovedPost:
        """Release an item for reposting (its copy is purged); audited."""
        item = await self.item(item_id)
        self._require_moderator(item.chat, reviewer)
        approved = await asyncio.to_thread(self._quarantine.approve, item_id, reviewer.user)
        await self._record(approved.chat, approved.message_id, approved.author, reviewer, "approved")
        return approved

    async def reposted(self, approved: ApprovedPost, message_ids: Sequence[str]) -> bool:
        """The adapter reposted ``approved`` as ``message_ids``: remember them if a consent covers them.

        Called right after the repost succeeded. When the caption the repost carries quotes a consent
        token, the new messages are remembered under that consent's takedown key, as the pipeline remembers
        a post it allows (with the original author, the repost's chat and thread, now): the patient
        withdrawing that consent takes the repost down. No token (or nothing reposted): nothing is kept.
        Returns whether the repost was remembered. Never logs the token or the caption.
        """
        if self._consented is None or not message_ids:
            return False
        token = find_token(approved.caption).token
        if token is None:
            return False
        post = ConsentedPost(
            chat=approved.chat,
            message_ids=tuple(message_ids),
            author=approved.author,
            author_name=approved.author_name,
            posted_at=self._clock(),
            thread_id=approved.thread_id,
            token_fingerprint=token.fingerprint(self._token_key),
        )
        key = takedown_key(self._token_key, registry_fingerprint(token))
        await asyncio.to_thread(self._consented.remember, post, key)
        log.info(
            "repost of item %s (%d message(s)) remembered for a withdrawal of its consent",
            approved.item_id,
            len(post.message_ids),
        )
        return True

    async def reject(self, item_id: str, reviewer: Reviewer, reason: str = "") -> QuarantinedPost:
        """Purge an item now; audited with the moderator's reason code."""
        item = await self.item(item_id)
        self._require_moderator(item.chat, reviewer)
        await asyncio.to_thread(self._quarantine.reject, item_id, reviewer.user)
        await self._record(item.chat, item.message_id, item.author, reviewer, "rejected", reason)
        return item

    # -- the group's policy -------------------------------------------------------------------------

    async def set_mode(self, chat: ChatRef, mode: Mode, reviewer: Reviewer) -> GroupPolicy:
        """Change ``chat``'s mode: persisted, audited, and in force for the next post."""
        self._require_moderator(chat, reviewer)
        policy = dataclasses.replace(self.policy(chat), mode=mode)
        await asyncio.to_thread(self._group_settings.save, chat, policy, reviewer.user)
        self._policies.set(chat, policy)
        await self._record(chat, "", reviewer.user, reviewer, "policy-changed", f"mode={mode.value}")
        return policy

    async def _record(
        self,
        chat: ChatRef,
        message_id: str,
        poster: UserRef,
        reviewer: Reviewer,
        decision: str,
        detail: str = "",
    ) -> None:
        event = AuditEvent(
            time=self._clock(),
            platform=chat.platform,
            chat_id=chat.chat_id,
            message_id=message_id,
            poster=poster,
            verdict=Verdict.QUARANTINE.value if message_id else "policy",
            reason=f"moderator-{decision}" + (f":{detail}" if detail else ""),
            moderator=reviewer.user,
            decision=decision,
        )
        await asyncio.to_thread(self._audit.record, event)
