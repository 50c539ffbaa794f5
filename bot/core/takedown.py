"""Withdrawal takes posts down: the revocation follower.

A patient may withdraw consent at any time; the posts the bot allowed under that consent must then go. The
pipeline remembers every post it allows under a consent (:class:`ConsentedPostLog`, keyed by a keyed hash of
the registry's token fingerprint: the bot's database holds no value the registry could match without the
bot's key), and the review service the repost of an approved item whose caption quotes a consent token.
:class:`RevocationFollower` asks the registry for revocations every ``interval`` (the feed of
``GET /v1/revocations``), marks the matching posts withdrawn, and takes each down through the Platform port:

    revocations since the cursor -> mark the posts withdrawn (durable) -> for each withdrawn post:
        delete it -> audit -> tell the poster privately -> tell the moderators
        the platform no longer lets a bot delete it (Telegram: older than 48 hours) or refuses:
            the moderators get a link to each message so that a person deletes it; audited as such

Idempotent: a post is settled once (a revocation read twice finds nothing left to do). Durable: marking and
taking down are separate steps, so a post whose removal failed (the platform unreachable) is tried again at
the next round, and after a restart; the cursor is stored, and the first start reads a margin back. The
registry being down is retried at the next round; nothing here ever stops the bot. Logs carry ids and
counts, never a token, a caption or a name.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.consent.model import ChatRef, Revocation, UserRef
from bot.consent.port import ConsentLookup
from bot.consent.token import ConsentToken
from bot.core.periodic import Periodic
from bot.core.policy import Policies
from bot.core.ports import AuditTrail, Platform
from bot.domain import AuditEvent, Clock, ConsentState, Verdict, utc_now
from bot.errors import ConsentLookupError
from bot.messages import choose_language, group_notice, withdrawal_moderator_notice, withdrawal_poster_notice

log = logging.getLogger(__name__)

#: The audit log's reason for a post taken down because its consent was withdrawn.
WITHDRAWN_REASON = "consent-withdrawn"
#: The cursor's name in the bot's storage.
CURSOR_NAME = "revocations"
#: Each poll reads this far behind the cursor: a revocation committed late with an earlier time, or a post
#: allowed just as its consent was withdrawn, is caught at the next round (settled posts are not redone).
OVERLAP = timedelta(minutes=2)


class TakedownOutcome(enum.StrEnum):
    """How a withdrawn post ended. Values are stored and audited."""

    REMOVED = "removed"
    REFUSED = "refused"  # the platform would not delete it (rights missing, too old after all)
    TOO_OLD = "too-old"  # past the platform's deletion window: not even tried
    GONE = "gone"  # the platform is not served by this bot any more: nothing can be done here


def registry_fingerprint(token: ConsentToken) -> str:
    """The id the registry publishes in its revocation feed: lowercase hex ``sha256(compact token)``.

    (docs/consent-api.md; not the keyed fingerprint of the audit log.)
    """
    return hashlib.sha256(token.compact.encode()).hexdigest()


def takedown_key(key: bytes, fingerprint: str) -> str:
    """What the bot stores to find a consent's posts: a keyed hash of the registry's fingerprint."""
    return hmac.new(key, fingerprint.strip().lower().encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ConsentedPost:
    """A post the bot allowed under a consent: what a takedown needs (no caption, no image, no token)."""

    chat: ChatRef
    message_ids: tuple[str, ...]
    author: UserRef
    author_name: str = dataclasses.field(repr=False)
    posted_at: datetime
    thread_id: str | None = None
    author_language: str | None = None
    chat_title: str | None = dataclasses.field(default=None, repr=False)
    #: The audit log's keyed fingerprint of the token (links the takedown to the allow event).
    token_fingerprint: str | None = None
    #: The storage's id, set on posts read back for a takedown.
    record_id: int | None = None

    @property
    def message_id(self) -> str:
        """The post's first message (its key in the audit log)."""
        return self.message_ids[0]


class ConsentedPostLog(Protocol):
    """Posts allowed under a consent, and which of them must come down (bot.storage.takedowns)."""

    def remember(self, post: ConsentedPost, key: str) -> None:
        """Record that ``post`` was allowed under the consent whose takedown key is ``key`` (replaces)."""
        ...

    def forget(self, chat: ChatRef, message_id: str) -> None:
        """The post was removed (an edit judged again): a withdrawal has nothing left to take down."""
        ...

    def mark_withdrawn(self, key: str, at: datetime) -> int:
        """Mark the posts of consent ``key`` for takedown (not those settled already); how many."""
        ...

    def withdrawn(self) -> list[ConsentedPost]:
        """Posts marked for takedown and not settled yet, oldest first (``record_id`` set)."""
        ...

    def settle(self, record_id: int, outcome: str) -> bool:
        """Record how the takedown ended; False when it was settled already (then do nothing more)."""
        ...


class CursorStore(Protocol):
    """Named positions in external feeds, kept across restarts (bot.storage.takedowns.SqlCursorStore)."""

    def load(self, name: str) -> datetime | None:
        """The stored position, or None the first time."""
        ...

    def save(self, name: str, at: datetime) -> None:
        """Store the position."""
        ...


class RevocationFollower:
    """Polls the registry's revocations and takes the withdrawn posts down; one per process."""

    def __init__(
        self,
        *,
        consent: ConsentLookup,
        platforms: Mapping[str, Platform],
        policies: Policies,
        posts: ConsentedPostLog,
        cursor: CursorStore,
        audit: AuditTrail,
        key: bytes,
        clock: Clock = utc_now,
        interval_s: float = 10.0,
        first_lookback: timedelta = timedelta(minutes=10),
    ) -> None:
        self._consent = consent
        self._platforms = platforms
        self._policies = policies
        self._posts = posts
        self._cursor = cursor
        self._audit = audit
        self._key = key
        self._clock = clock
        self._first_lookback = first_lookback
        self._rounds = Periodic(
            self.poll_once, interval_s=interval_s, name="consentguard-revocations", what="revocation round"
        )
        self._round = asyncio.Lock()
        #: Rounds completed (for tests and diagnostics: no sleeping to find out).
        self.rounds = 0

    def __repr__(self) -> str:
        return f"RevocationFollower(interval_s={self._rounds.interval_s})"

    # -- running ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Poll every ``interval_s`` seconds until :meth:`aclose` (the first round after one interval)."""
        self._rounds.start()

    async def aclose(self) -> None:
        """Stop polling (a round in progress is cancelled; what it did not settle is done next start)."""
        await self._rounds.aclose()

    # -- one round ----------------------------------------------------------------------------------

    async def poll_once(self) -> int:
        """Read new revocations, mark their posts, take down every withdrawn post; how many were settled."""
        async with self._round:
            try:
                await self._read_revocations()
            except ConsentLookupError as exc:
                # The withdrawn posts already known are still taken down; the feed is read again next round.
                log.warning("revocations could not be read (%s); retrying next round", type(exc).__name__)
            settled = await self._take_down_withdrawn()
            self.rounds += 1
            return settled

    async def _read_revocations(self) -> None:
        stored = await asyncio.to_thread(self._cursor.load, CURSOR_NAME)
        since = stored - OVERLAP if stored is not None else self._clock() - self._first_lookback
        cursor = stored
        while True:
            revocations = await self._consent.revocations_since(since)
            if not revocations:
                break
            marked = 0
            for revocation in revocations:
                marked += await asyncio.to_thread(
                    self._posts.mark_withdrawn,
                    takedown_key(self._key, revocation.token_fingerprint),
                    revocation.revoked_at,
                )
            if marked:
                log.info("%d post(s) allowed under withdrawn consents marked for takedown", marked)
            latest = max(revocation.revoked_at for revocation in revocations)
            cursor = latest if cursor is None else max(cursor, latest)
            if not _full_page(revocations) or latest <= since:
                break  # the registry sent everything (or a page of one instant: nothing more to page by)
            since = latest
        if cursor is None:
            cursor = since + OVERLAP  # nothing revoked yet: start there next time, not "now minus margin"
        if cursor != stored:
            await asyncio.to_thread(self._cursor.save, CURSOR_NAME, cursor)

    async def _take_down_withdrawn(self) -> int:
        settled = 0
        for post in await asyncio.to_thread(self._posts.withdrawn):
            try:
                if await self._take_down(post):
                    settled += 1
            except Exception as exc:  # the platform or the database: this post is tried again next round
                log.warning(
                    "takedown of %s:%s failed (%s); retrying next round",
                    post.chat,
                    post.message_id,
                    type(exc).__name__,
                )
        return settled

    async def _take_down(self, post: ConsentedPost) -> bool:
        assert post.record_id is not None  # noqa: S101 - withdrawn() always sets it
        platform = self._platforms.get(post.chat.platform)
        if platform is None:
            # This bot no longer serves that platform: a bot elsewhere cannot be asked. Leave it marked,
            # the platform may come back (its token set again) and the post is taken down then.
            return False
        age = self._clock() - post.posted_at
        window = platform.deletion_window()
        if window is not None and age >= window:
            outcome = TakedownOutcome.TOO_OLD
        else:
            removed = await platform.delete_messages(post.chat, post.message_ids, post.thread_id)
            outcome = TakedownOutcome.REMOVED if removed else TakedownOutcome.REFUSED
        # Settled before anyone is told: a crash after this point never repeats the messages, and a
        # takedown settled by another round in the meantime stops here.
        if not await asyncio.to_thread(self._posts.settle, post.record_id, outcome.value):
            return False
        log.info("withdrawn post %s:%s: %s", post.chat, post.message_id, outcome.value)
        await self._record(post, outcome)
        await self._tell(platform, post, outcome)
        return True

    async def _record(self, post: ConsentedPost, outcome: TakedownOutcome) -> None:
        decision = {
            TakedownOutcome.REMOVED: None,
            TakedownOutcome.REFUSED: "removal-refused",
            TakedownOutcome.TOO_OLD: "removal-too-old",
        }.get(outcome)
        event = AuditEvent(
            time=self._clock(),
            platform=post.chat.platform,
            chat_id=post.chat.chat_id,
            message_id=post.message_id,
            poster=post.author,
            verdict=Verdict.DELETE.value,
            reason=WITHDRAWN_REASON,
            consent_state=ConsentState.REVOKED.value,
            token_fingerprint=post.token_fingerprint,
            decision=decision,
        )
        await asyncio.to_thread(self._audit.record, event)

    async def _tell(self, platform: Platform, post: ConsentedPost, outcome: TakedownOutcome) -> None:
        policy = self._policies.for_chat(post.chat)
        language = choose_language(policy.language, post.author_language)
        removed = outcome is TakedownOutcome.REMOVED
        links = [] if removed else [platform.message_link(post.chat, mid) for mid in post.message_ids]
        moderators = withdrawal_moderator_notice(
            language,
            poster_name=post.author_name,
            group_title=post.chat_title,
            outcome=outcome.value,
            links=[link for link in links if link],
            message_ids=post.message_ids,
        )
        # Each step on its own: the moderators hear of it even when the poster cannot be reached.
        try:
            text = withdrawal_poster_notice(language, group_title=post.chat_title, removed=removed)
            if not await platform.send_private(post.author, text):
                notice = group_notice(
                    language,
                    poster_mention=platform.mention(post.author, post.author_name),
                    start_link=platform.start_link(),
                )
                await platform.send_group_notice(post.chat, notice, policy.notice_ttl_s, post.thread_id)
        except Exception as exc:  # the moderators must still be told
            log.warning("withdrawn post %s: the poster could not be told (%s)", post.chat, type(exc).__name__)
        await platform.notify_moderators(post.chat, policy.review_chat, moderators, None)


def _full_page(revocations: list[Revocation]) -> bool:
    """Whether the registry may have more after this page (its default page is 1,000)."""
    return len(revocations) >= 1000
