"""The ports the core calls: what the pipeline and the review service need from the world outside.

Each is a :class:`typing.Protocol`; adapters live at the edge (``bot.platforms``, ``bot.storage``,
``bot.scanning``, ``bot.consent.httpx_lookup``) and the composition root (``bot.bootstrap``) plugs them in.
Storage ports are synchronous (short transactions); the core runs them with ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.consent.model import ChatRef, UserRef
from bot.core.policy import GroupPolicy
from bot.domain import ApprovedPost, AuditEvent, FetchBytes, Post, QuarantinedPost
from detectors.engine import ScanReport


class Platform(Protocol):
    """Actions the pipeline needs; adapters translate them to their SDK and handle rate limits."""

    name: str

    async def delete_messages(
        self, chat: ChatRef, message_ids: tuple[str, ...], thread_id: str | None = None
    ) -> bool:
        """Delete messages (in ``thread_id`` when the platform keeps threads apart).

        True when every message is gone (already-deleted ones count as gone); False when the platform
        refused (the bot lacks the right, the message is too old). Anything else raises: the pipeline then
        fails closed and tries again.
        """
        ...

    def message_link(self, chat: ChatRef, message_id: str) -> str | None:
        """A link moderators can open to reach the message, when the platform has one."""
        ...

    def deletion_window(self) -> timedelta | None:
        """How old a message may be for the bot to delete it (Telegram: 48 hours); None: any age."""
        ...

    async def send_private(self, user: UserRef, text: str) -> bool:
        """Message a user privately; False when refused (the user never opened a chat with the bot)."""
        ...

    async def send_group_notice(self, chat: ChatRef, text: str, ttl_s: int, thread_id: str | None) -> None:
        """Post a short notice in the group and delete it after ``ttl_s`` seconds."""
        ...

    async def notify_moderators(
        self, chat: ChatRef, review_chat: ChatRef | None, text: str, item_id: str | None
    ) -> None:
        """Tell the moderators (in ``review_chat``, else privately); with review buttons for an item."""
        ...

    def mention(self, user: UserRef, name: str) -> str:
        """How to mention ``user`` in a group message."""
        ...

    def start_link(self) -> str | None:
        """A link that opens a private chat with the bot, when the platform has one."""
        ...

    def fetcher(self, chat: ChatRef, image_id: str) -> FetchBytes:
        """Re-create the download of an image from its id (to resume work after a restart)."""
        ...


class ImageScanner(Protocol):
    """Scans one image's bytes; never raises for a bad image (the report carries the error)."""

    async def scan(self, data: bytes, name_hint: str) -> ScanReport:
        """Scan ``data``; a timeout or crash comes back as a report with ``error`` set."""
        ...

    async def aclose(self) -> None:
        """Stop the workers."""
        ...


class Quarantine(Protocol):
    """Encrypted copies of removed posts awaiting a moderator (bot.storage.quarantine.QuarantineStore)."""

    def put(
        self,
        post: Post,
        images: Sequence[tuple[str, bytes]],
        findings_kinds: Sequence[str],
        reason: str,
        retention: timedelta,
        language: str,
    ) -> str:
        """Hold ``post``'s images; returns the item id."""
        ...

    def get(self, item_id: str) -> QuarantinedPost:
        """One item's metadata (QuarantineItemNotFoundError if unknown)."""
        ...

    def images(self, item_id: str) -> list[tuple[str, bytes]]:
        """A pending item's decrypted images."""
        ...

    def held_copy(self, item_id: str) -> ApprovedPost:
        """A pending item's decrypted post, to repost before approving; nothing is deleted."""
        ...

    def approve(self, item_id: str, moderator: UserRef) -> ApprovedPost:
        """Release a pending item for reposting (its copy is deleted)."""
        ...

    def reject(self, item_id: str, moderator: UserRef, note: str = "") -> None:
        """Purge a pending item on a moderator's decision; ``note`` is kept sealed for its retention."""
        ...

    def notes(self, chat: ChatRef, message_ids: Sequence[str]) -> dict[str, str]:
        """Live rejection notes of ``chat``'s items among ``message_ids``, by message id."""
        ...

    def update_findings(self, item_id: str, findings_kinds: Sequence[str], reason: str) -> None:
        """Record what detection found after the item was held."""
        ...

    def purge(self, item_id: str) -> bool:
        """Delete an item's images without a moderator."""
        ...

    def pending(self, chat: ChatRef | None = None) -> list[QuarantinedPost]:
        """Items awaiting review, of one chat or all."""
        ...

    def purge_expired(self, now: datetime | None = None) -> int:
        """Purge items past their retention; returns how many."""
        ...


class AuditTrail(Protocol):
    """The append-only audit log (bot.storage.audit.AuditLog)."""

    def record(self, event: AuditEvent) -> None:
        """Append one event (people are pseudonymised by the log)."""
        ...

    def pseudonymise(self, user: UserRef) -> str:
        """The keyed pseudonym of ``user``."""
        ...


class PostLog(Protocol):
    """Which posts were accepted and which are done: at-most-once handling (bot.storage.worklog.WorkLog)."""

    def accept_revision(self, post_key: str, revision: str, payload: bytes) -> bool:
        """Record a post (revision) to handle; False if it was seen before."""
        ...

    def accept_revisions(self, items: Sequence[tuple[str, str, bytes]]) -> list[bool]:
        """Several (post key, revision, payload) at once, in one transaction; which were new."""
        ...

    def mark_done(self, post_key: str, outcome: str, *, revision: str | None = None) -> bool:
        """Record that a post was handled."""
        ...

    def unfinished(self) -> Sequence[tuple[str, bytes]]:
        """Accepted posts never marked done: (post key, payload)."""
        ...

    def claim_unfinished(self) -> Sequence[tuple[str, bytes]]:
        """The unfinished posts this front end may resume (its own, or another's whose lease ran out)."""
        ...

    def renew_leases(self) -> int:
        """Keep this front end's hold on its unfinished posts (other replicas leave them alone)."""
        ...

    def forget_older_than(self, age: timedelta) -> int:
        """Delete finished entries accepted more than ``age`` ago (never unfinished ones); how many."""
        ...


class Offences(Protocol):
    """Counts removals per poster and group (bot.storage.worklog.OffenceCounter)."""

    def add(self, chat: ChatRef, poster_pseudonym: str) -> int:
        """Count one more removal; returns the new count."""
        ...


class GroupSettingsStore(Protocol):
    """Moderators' policy changes, persisted so they outlive a restart (bot.storage.group_settings)."""

    def load(self) -> dict[str, GroupPolicy]:
        """Every group's saved policy, by ``platform:chat`` name."""
        ...

    def save(self, chat: ChatRef, policy: GroupPolicy, changed_by: UserRef) -> None:
        """Persist ``chat``'s policy as a moderator just set it."""
        ...


class ConsoleLinks(Protocol):
    """One-time login links to the moderators' web console (``bot.console.LoginLinks``); ``/console``."""

    @property
    def minutes(self) -> int:
        """How many minutes a link stays valid."""
        ...

    def issue_login_link(self, moderator: UserRef, groups: Sequence[ChatRef]) -> str:
        """A link for ``moderator`` to review ``groups``, which the platform said they moderate just now."""
        ...
