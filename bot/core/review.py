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
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from bot.consent.model import ChatRef, UserRef
from bot.consent.token import find_token
from bot.core.policy import GroupPolicy, GroupPolicySchema, Mode, Policies, policy_error
from bot.core.ports import AuditTrail, GroupSettingsStore, Quarantine
from bot.core.takedown import ConsentedPost, ConsentedPostLog, registry_fingerprint, takedown_key
from bot.domain import ApprovedPost, AuditEvent, Clock, QuarantinedPost, Verdict, utc_now
from bot.errors import NotAModeratorError, PolicyError

log = logging.getLogger(__name__)

#: Settings whose values name people or chats: audited by key only (the audit log keeps no one in clear).
_NAMES_PEOPLE = frozenset({"moderators", "exempt_posters", "review_chat"})
#: Room left in the audit's reason column after "moderator-policy-changed:".
_DETAIL_CHARS = 100

#: The longest free note a rejecting moderator may add.
NOTE_CHARS = 500

#: Reasons a moderator may give for rejecting an item (the console offers them; a free note may follow).
REJECT_REASONS = ("identifying", "no-consent", "out-of-scope", "off-topic", "other")


@dataclass(frozen=True, slots=True)
class Reviewer:
    """The person acting, as the platform describes them right now."""

    user: UserRef
    name: str = dataclasses.field(repr=False)  # shown to moderators, never logged
    #: Whether the platform says this person administers the group (checked by the adapter at each action).
    platform_admin: bool = False
    #: The bot's operator (a ``consentguard console link --operator`` session): every group, whatever its
    #: ``moderators`` list says.
    operator: bool = False


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
        #: One decision at a time per item (approve reposts before it purges): by item id.
        self._decisions: dict[str, tuple[asyncio.Lock, int]] = {}

    # -- who may act --------------------------------------------------------------------------------

    def policy(self, chat: ChatRef) -> GroupPolicy:
        """The policy in force in ``chat``."""
        return self._policies.for_chat(chat)

    def is_moderator(self, chat: ChatRef, reviewer: Reviewer) -> bool:
        """The policy's ``moderators`` list when it has one, else the platform's administrators."""
        if reviewer.operator:
            return True
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

    async def approve(
        self,
        item_id: str,
        reviewer: Reviewer,
        repost: Callable[[ApprovedPost], Awaitable[object]] | None = None,
    ) -> ApprovedPost:
        """Repost an item with ``repost``, then purge its copy; audited.

        The copy is purged only once ``repost`` returned: a repost that fails (the platform down, the bot
        removed from the group) raises and leaves the item held, to be approved again or rejected. While
        one moderator's approval runs, another's approval or rejection of the same item waits for it (then
        finds it decided). Without ``repost`` the item is released as it is (the caller reposts it).
        """
        item = await self.item(item_id)
        self._require_moderator(item.chat, reviewer)
        async with self._deciding(item_id):
            if repost is not None:
                await repost(await asyncio.to_thread(self._quarantine.held_copy, item_id))
            approved = await asyncio.to_thread(self._quarantine.approve, item_id, reviewer.user)
        await self._record(approved.chat, approved.message_id, approved.author, reviewer, "approved")
        return approved

    @contextlib.asynccontextmanager
    async def _deciding(self, item_id: str) -> AsyncIterator[None]:
        lock, users = self._decisions.get(item_id, (asyncio.Lock(), 0))
        self._decisions[item_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._decisions[item_id]
            if users == 1:  # the last one in: forget the item
                del self._decisions[item_id]
            else:
                self._decisions[item_id] = (lock, users - 1)

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

    async def reject(
        self, item_id: str, reviewer: Reviewer, reason: str = "", note: str = ""
    ) -> QuarantinedPost:
        """Purge an item now; audited with the moderator's reason code.

        ``note``: the moderator's free text (at most :data:`NOTE_CHARS`), never in the audit log (it may name
        a patient): kept sealed with the item until its retention runs out.
        """
        if len(note) > NOTE_CHARS:
            raise ValueError(f"a rejection note has at most {NOTE_CHARS} characters")
        item = await self.item(item_id)
        self._require_moderator(item.chat, reviewer)
        async with self._deciding(item_id):  # never purged under an approval's repost
            await asyncio.to_thread(self._quarantine.reject, item_id, reviewer.user, note.strip())
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

    async def update_policy(
        self, chat: ChatRef, changes: Mapping[str, object], reviewer: Reviewer
    ) -> tuple[GroupPolicy, list[str]]:
        """Change several settings of ``chat`` at once (the console's settings page).

        ``changes`` uses the keys of a policy file's group table (:class:`GroupPolicySchema`: ``mode``,
        ``identifying_action``, ``retention_days``, ``language``, ``review_chat``, ``moderators``...), checked
        by the same schema as a policy file (a bad value raises :class:`PolicyError` naming the key). Nothing
        changed: nothing stored or audited. Otherwise persisted, audited (the keys changed, and the new
        values of those that name no one) and in force for the next post. Returns the policy in force and
        the keys changed.

        A moderator cannot leave a ``moderators`` list that does not name them: they would lose the group
        mid-session (the operator can).
        """
        self._require_moderator(chat, reviewer)
        current = self.policy(chat)
        values = GroupPolicySchema.of(current, source=f"group settings of {chat}").model_dump(mode="json")
        wanted = {**values, **changes}
        try:
            schema = GroupPolicySchema.model_validate(wanted)
        except ValidationError as exc:
            raise policy_error(f"group settings of {chat}", exc) from None
        policy = schema.apply_to(current)
        changed = [key for key, value in schema.model_dump(mode="json").items() if values.get(key) != value]
        if not changed:
            return current, []
        if policy.moderators and not reviewer.operator and reviewer.user not in policy.moderators:
            raise PolicyError("moderators: the list must name you, or you would lose this group")
        await asyncio.to_thread(self._group_settings.save, chat, policy, reviewer.user)
        self._policies.set(chat, policy)
        new = schema.model_dump(mode="json")
        detail = ",".join(key if key in _NAMES_PEOPLE else f"{key}={new[key]}" for key in changed)
        if len(detail) > _DETAIL_CHARS:  # the keys alone, rather than a value cut in the middle
            detail = ",".join(changed)[:_DETAIL_CHARS]
        await self._record(chat, "", reviewer.user, reviewer, "policy-changed", detail)
        return policy, changed

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
