"""De-identified reposts: after a removal, offer the poster a masked copy of their image(s) to post instead.

When an offer is made (every condition holds):

* the group is in identifying-only mode and its policy lets a clean image without consent through
  (``decide(policy, no consent, clean)`` allows). In strict mode every patient image needs a consent, masked
  or not: no offer there. Monitor mode removes nothing: no offer either;
* the post was removed (delete or quarantine, and the platform confirmed the removal) because detection found
  identifying features, and the caption quoted no token: a quoted token that does not work means the poster
  thought the image needed a consent, and a withdrawn consent must not be worked around with a masked copy;
* every medium of the post is a still image of the poster's own that the bot downloaded and scanned without a
  failure: a post with a video, a PDF, a DICOM file, a link preview or a sticker gets no offer at all;
* the poster received the private reminder (the offer follows it in the same private chat);
* the platform's front end serves the confirm button (it attaches its :class:`OfferChannel`);
* EVERY image renders clean (:class:`Deidentifier`: faces and text masked solid, metadata stripped, and a
  fresh scan of the result finds nothing). One image that does not: no offer.

The rendering is made after the removal and the reminder, in the background: it never delays either. The
masked JPEGs are stored sealed (:class:`OfferStore`) for :attr:`DeidentifiedOffers.lifetime` (24 hours) and
purged after, by the bot's periodic purge. The poster gets the masked images privately, with a confirm
button; pressing it (the poster only, once, before expiry) posts them in the group, with an attribution line
and without the original caption (it may name the patient), then purges the stored copy and audits the
repost (decision ``deidentified-repost``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.consent.model import ChatRef, UserRef
from bot.core.policy import GroupPolicy, Mode, Policies, decide
from bot.core.ports import AuditTrail
from bot.domain import (
    AuditEvent,
    Clock,
    ConsentOutcome,
    ConsentState,
    Decision,
    DetectionOutcome,
    DetectionState,
    Post,
    PostImage,
    Verdict,
    utc_now,
)
from bot.errors import ConsentGuardError
from bot.messages import Language, choose_language
from bot.messages.deidentified_catalog import deidentified_texts
from detectors.sniff import MediaKind, sniff

log = logging.getLogger(__name__)

#: The audit log's decision (and reason) for a de-identified repost.
REPOST_DECISION = "deidentified-repost"
#: How long a claimed offer stays locked while its repost is under way; after that (a crash) it can be
#: confirmed again.
CLAIM_TIMEOUT = timedelta(minutes=5)
_REMOVED = (Verdict.DELETE, Verdict.QUARANTINE)


class Deidentifier(Protocol):
    """Renders one still image masked and stripped, only when a fresh scan of the result finds nothing."""

    async def render(self, data: bytes, name_hint: str) -> bytes | None:
        """A clean JPEG of ``data``, or None (not a still image, not maskable, rescan not clean, error)."""
        ...


@dataclass(frozen=True, slots=True)
class NewOffer:
    """What an offer remembers besides its images (stored sealed, except the chat and ids)."""

    chat: ChatRef
    message_id: str
    thread_id: str | None
    author: UserRef
    author_name: str = dataclasses.field(repr=False)
    #: The poster's language (the offer and the answers to their press).
    language: Language
    #: The group's language (the attribution line everyone reads).
    group_language: Language
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimedOffer:
    """An offer its poster confirmed, with the masked images, ready to post."""

    offer_id: str
    offer: NewOffer
    images: tuple[bytes, ...] = dataclasses.field(repr=False)


class Refusal(enum.StrEnum):
    """Why a press on the confirm button posts nothing."""

    GONE = "gone"  # unknown, already used, or in use by a press a moment ago
    EXPIRED = "expired"
    NOT_YOURS = "not-yours"


class OfferStore(Protocol):
    """Sealed storage of offers (bot.storage.deidentified_offers.SqlOfferStore); synchronous, short."""

    def put(self, offer: NewOffer, images: Sequence[bytes], lifetime: timedelta) -> str:
        """Store an offer; returns its opaque id (32 hex digits)."""
        ...

    def claim(self, offer_id: str, presser: UserRef) -> ClaimedOffer | Refusal:
        """Lock an unexpired offer for its author and return it decrypted; or say why not."""
        ...

    def release(self, offer_id: str) -> None:
        """Unlock a claimed offer whose repost failed (the poster may press again)."""
        ...

    def purge(self, offer_id: str) -> bool:
        """Delete an offer and its images; False when it was already gone."""
        ...

    def purge_expired(self, now: datetime | None = None) -> int:
        """Delete the offers past their lifetime; returns how many."""
        ...


class OfferChannel(Protocol):
    """What a platform does for offers; attached by its front end, which serves the confirm button."""

    async def send_offer(
        self, user: UserRef, text: str, offer_id: str, label: str, previews: Sequence[bytes]
    ) -> bool:
        """Send the masked ``previews`` and ``text`` with a confirm button privately; False if refused."""
        ...

    async def post_deidentified(self, claimed: ClaimedOffer, attribution: str) -> list[str]:
        """Post the masked images in the offer's group (and thread) under ``attribution``; the message ids."""
        ...


class Outcome(enum.StrEnum):
    """What a press on the confirm button came to."""

    POSTED = "posted"
    GONE = "gone"
    EXPIRED = "expired"
    NOT_YOURS = "not-yours"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The outcome of a press and the answer to show the presser."""

    outcome: Outcome
    text: str


def offer_allowed(policy: GroupPolicy, decision: Decision, *, removed: bool) -> bool:
    """Whether a removed post's decision allows offering a masked copy (see the module docstring).

    The policy is asked, not assumed: a masked image is a clean image without consent, and only where the
    group allows such an image as posted can its masked copy go up.
    """
    if policy.mode is not Mode.IDENTIFYING_ONLY or not removed or decision.verdict not in _REMOVED:
        return False
    detection = decision.detection
    if detection.state is not DetectionState.IDENTIFYING or detection.failures:
        return False
    if decision.consent.state is not ConsentState.MISSING:
        return False
    return masked_copy_allowed(policy)


def masked_copy_allowed(policy: GroupPolicy) -> bool:
    """Whether ``policy`` lets a clean image without consent through (asked again at confirmation)."""
    if policy.mode is not Mode.IDENTIFYING_ONLY:
        return False
    masked = decide(policy, ConsentOutcome(ConsentState.MISSING), DetectionOutcome(DetectionState.CLEAN))
    return masked.verdict is Verdict.ALLOW


def still_images(post: Post, images: Sequence[tuple[PostImage, bytes]]) -> bool:
    """Whether the post is only still images of the poster's own, every one downloaded."""
    if not images or len(images) != len(post.images):
        return False
    return all(not image.incidental and sniff(data) is MediaKind.IMAGE for image, data in images)


class DeidentifiedOffers:
    """Makes offers after removals (in the background) and carries out a poster's confirmation."""

    def __init__(
        self,
        *,
        store: OfferStore,
        deidentifier: Deidentifier,
        audit: AuditTrail,
        clock: Clock = utc_now,
        lifetime: timedelta = timedelta(hours=24),
        max_renders: int = 1,
        max_waiting: int = 16,
        policies: Policies | None = None,
    ) -> None:
        """``max_renders``: renderings at once (each scans its output again: CPU the scans also need).

        ``max_waiting``: offers started and not yet made; past it, no offer (each holds its post's images in
        memory: a burst of removals must not pile them up behind one rendering at a time).
        ``policies``: the groups' policies in force, asked again when the poster confirms: a group switched
        to strict mode since the offer gets no masked copy.
        """
        self._store = store
        self._deidentifier = deidentifier
        self._audit = audit
        self._clock = clock
        self.lifetime = lifetime
        self._renders = asyncio.Semaphore(max(1, max_renders))
        self._max_waiting = max(1, max_waiting)
        self._policies = policies
        self._channels: dict[str, OfferChannel] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def deidentifier(self) -> Deidentifier:
        """The renderer of the masked copies (the console served by the bot previews with it too)."""
        return self._deidentifier

    def attach(self, platform: str, channel: OfferChannel) -> None:
        """Offer on ``platform``: called by its front end, which serves the confirm button."""
        self._channels[platform] = channel

    # -- making offers ------------------------------------------------------------------------------

    def consider(
        self,
        post: Post,
        policy: GroupPolicy,
        decision: Decision,
        images: Sequence[tuple[PostImage, bytes]],
        *,
        removed: bool,
        reminded: bool,
    ) -> bool:
        """Start an offer in the background when ``post`` qualifies; True when one was started.

        ``reminded``: the private reminder reached the poster. Returns at once: the rendering never delays
        the pipeline.
        """
        channel = self._channels.get(post.chat.platform)
        if channel is None or not reminded or not offer_allowed(policy, decision, removed=removed):
            return False
        if not still_images(post, images):
            return False
        if len(self._tasks) >= self._max_waiting:
            log.info("post %s: no de-identified offer, %d already waiting", post.key, len(self._tasks))
            return False
        offer = NewOffer(
            chat=post.chat,
            message_id=post.message_id,
            thread_id=post.thread_id,
            author=post.author,
            author_name=post.author_name,
            language=choose_language(policy.language, post.author_language),
            group_language=choose_language(policy.language, None),
            kinds=tuple(sorted(decision.detection.kinds)),
        )
        work = [(image.file_name or image.image_id, data) for image, data in images]
        task = asyncio.create_task(self._offer(post.key, offer, work, channel, post.chat_title))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _offer(
        self,
        post_key: str,
        offer: NewOffer,
        images: list[tuple[str, bytes]],
        channel: OfferChannel,
        group_title: str | None,
    ) -> None:
        try:
            await self._make_offer(post_key, offer, images, channel, group_title)
        except Exception as exc:  # an offer is a courtesy: a fault loses it, never the moderation
            log.error("post %s: de-identified offer failed (%s)", post_key, type(exc).__name__)

    async def _make_offer(
        self,
        post_key: str,
        offer: NewOffer,
        images: list[tuple[str, bytes]],
        channel: OfferChannel,
        group_title: str | None,
    ) -> None:
        masked: list[bytes] = []
        async with self._renders:
            for name_hint, data in images:
                jpeg = await self._deidentifier.render(data, name_hint)
                if jpeg is None:
                    log.info("post %s: an image has no clean rendering; no offer", post_key)
                    return
                masked.append(jpeg)
        offer_id = await asyncio.to_thread(self._store.put, offer, masked, self.lifetime)
        texts = deidentified_texts(offer.language)
        hours = max(1, round(self.lifetime.total_seconds() / 3600))
        text = texts.offer.format(of_group=texts.of_group(group_title), hours=hours)
        sent = False
        try:
            sent = await channel.send_offer(offer.author, text, offer_id, texts.confirm_label, masked)
        finally:
            if not sent:  # nobody can confirm it: nothing kept
                await asyncio.to_thread(self._store.purge, offer_id)
        if not sent:
            log.info("post %s: the poster cannot be reached privately; no offer", post_key)
            return
        log.info("post %s: de-identified offer %s sent (%d image(s))", post_key, offer_id, len(masked))

    # -- confirming ---------------------------------------------------------------------------------

    async def confirm(self, offer_id: str, presser: UserRef, presser_language: str | None) -> Confirmation:
        """The poster pressed confirm: post the masked images, purge the copy, audit; the answer to show."""
        try:
            claimed = await asyncio.to_thread(self._store.claim, offer_id, presser)
        except ConsentGuardError as exc:  # a key that no longer opens it: as good as gone
            log.error("offer %s cannot be opened (%s)", offer_id, type(exc).__name__)
            return self._answer(Outcome.GONE, choose_language(None, presser_language))
        if isinstance(claimed, Refusal):
            return self._answer(Outcome(claimed.value), choose_language(None, presser_language))
        offer = claimed.offer
        if self._policies is not None and not masked_copy_allowed(self._policies.for_chat(offer.chat)):
            # The group's rule changed since the offer (strict or monitor now): the offer is void.
            log.info("offer %s withdrawn: the group no longer allows it", offer_id)
            await asyncio.to_thread(self._store.purge, offer_id)
            return self._answer(Outcome.GONE, offer.language)
        channel = self._channels.get(offer.chat.platform)
        group_texts = deidentified_texts(offer.group_language)
        attribution = group_texts.attribution_for(offer.author_name)
        try:
            if channel is None:
                raise LookupError("no offer channel for this platform")
            message_ids = await channel.post_deidentified(claimed, attribution)
        except Exception as exc:  # the poster may press again: the copy stays until it expires
            log.error("offer %s: repost failed (%s)", offer_id, type(exc).__name__)
            await asyncio.to_thread(self._store.release, offer_id)
            return self._answer(Outcome.FAILED, offer.language)
        await asyncio.to_thread(self._store.purge, offer_id)
        event = AuditEvent(
            time=self._clock(),
            platform=offer.chat.platform,
            chat_id=offer.chat.chat_id,
            message_id=offer.message_id,
            poster=offer.author,
            verdict=Verdict.ALLOW.value,
            reason=REPOST_DECISION,
            kinds=offer.kinds,
            decision=REPOST_DECISION,
        )
        await asyncio.to_thread(self._audit.record, event)
        log.info("offer %s posted as %d message(s)", offer_id, len(message_ids))
        return self._answer(Outcome.POSTED, offer.language)

    @staticmethod
    def _answer(outcome: Outcome, language: Language) -> Confirmation:
        texts = deidentified_texts(language)
        answers = {
            Outcome.POSTED: texts.posted,
            Outcome.GONE: texts.gone,
            Outcome.EXPIRED: texts.expired,
            Outcome.NOT_YOURS: texts.not_yours,
            Outcome.FAILED: texts.failed,
        }
        return Confirmation(outcome, answers[outcome])

    # -- housekeeping -------------------------------------------------------------------------------

    async def purge_expired(self) -> int:
        """Delete offers past their lifetime (the pipeline's periodic purge calls it); how many."""
        purged = await asyncio.to_thread(self._store.purge_expired, self._clock())
        if purged:
            log.info("purged %d expired de-identified offer(s)", purged)
        return purged

    async def idle(self) -> None:
        """Wait for the offers being made (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel the offers being made: a lost offer costs the poster nothing but the offer."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
