"""The moderation pipeline: a Post in, a Decision carried out. Platform-neutral.

    accept (at most once) -> detect and look up consent at the same time -> decide -> act -> audit

Exposure time protects the patient: in strict mode a post whose caption holds no valid-looking token is
removed as soon as its images are safely held (encrypted) in quarantine, before detection finishes; detection
then only decides between delete and quarantine and what the reminder says.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.consent.model import (
    ConsentStatus,
    ConsentUse,
    ScopeProblem,
    ScopeRequest,
    TokenProblem,
    check_scope,
)
from bot.consent.port import ConsentLookup
from bot.consent.token import ConsentToken, find_token
from bot.core.codec import PayloadCodec
from bot.core.policy import GroupPolicy, Mode, Policies, decide
from bot.core.ports import AuditTrail, ImageScanner, Offences, Platform, PostLog, Quarantine
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
from bot.errors import ConsentGuardError, ConsentLookupError, ConsentUseRefusedError
from bot.messages import (
    Language,
    choose_language,
    group_notice,
    moderator_notice,
    monitor_notice,
    poster_reminder,
    repeat_offence_alert,
    review_hint,
)

log = logging.getLogger(__name__)

_SCOPE_STATES = {
    ScopeProblem.REVOKED: ConsentState.REVOKED,
    ScopeProblem.EXPIRED: ConsentState.EXPIRED,
    ScopeProblem.UNKNOWN: ConsentState.UNKNOWN,
    ScopeProblem.WRONG_GROUP: ConsentState.OUT_OF_SCOPE,
    ScopeProblem.WRONG_POSTER: ConsentState.OUT_OF_SCOPE,
    ScopeProblem.WRONG_PURPOSE: ConsentState.OUT_OF_SCOPE,
    ScopeProblem.USED_UP: ConsentState.USED_UP,
}
_REMOVED = (Verdict.DELETE, Verdict.QUARANTINE)


@dataclass(frozen=True, slots=True)
class HandledPost:
    """What the pipeline did with a post (for adapters, the demo and tests)."""

    post_key: str
    decision: Decision
    quarantine_item: str | None = None
    poster_notified_privately: bool = False


@dataclass(slots=True)
class _Fetched:
    images: list[tuple[PostImage, bytes]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Moderator:
    """Handles posts from every platform; one instance per process, built in bot/bootstrap.py (the root)."""

    def __init__(
        self,
        *,
        platforms: dict[str, Platform],
        policies: Policies,
        scanner: ImageScanner,
        consent: ConsentLookup,
        quarantine: Quarantine,
        audit: AuditTrail,
        worklog: PostLog,
        offences: Offences,
        token_key: bytes,
        payload_codec: PayloadCodec,
        clock: Clock = utc_now,
        retry_delays_s: Sequence[float] = (30.0, 120.0, 600.0),
    ) -> None:
        self._platforms = platforms
        self.policies = policies
        self._scanner = scanner
        self._consent = consent
        self._quarantine = quarantine
        self._audit = audit
        self._worklog = worklog
        self._offences = offences
        self._token_key = token_key
        self._codec = payload_codec
        self._clock = clock
        self._retry_delays_s = tuple(retry_delays_s)
        self._background: set[asyncio.Task[None]] = set()

    # -- entry points -------------------------------------------------------------------------------

    async def handle(self, post: Post) -> HandledPost | None:
        """Judge and act on ``post``; None when this message (and revision) was already handled."""
        if not await self.accept(post):
            return None
        return await self.process(post)

    async def accept(self, post: Post) -> bool:
        """Persist that ``post`` must be handled (before its update is acknowledged); False if seen before."""
        accepted = await asyncio.to_thread(
            self._worklog.accept_revision, post.key, _revision(post), self._codec.encode(post)
        )
        if not accepted:
            log.info("post %s already handled; skipped", post.key)
        return accepted

    async def resume(self) -> int:
        """Finish the posts accepted before a crash or restart; returns how many were resumed."""
        unfinished = await asyncio.to_thread(self._worklog.unfinished)
        resumed = 0
        for post_key, payload in unfinished:
            try:
                post = self._codec.decode(payload, self._platforms)
            except (ValueError, ConsentGuardError):
                log.error("unfinished post %s cannot be decoded; marked failed", post_key)
                await asyncio.to_thread(self._worklog.mark_done, post_key, "undecodable")
                continue
            log.info("resuming post %s", post_key)
            await self.process(post)
            resumed += 1
        return resumed

    async def purge_expired(self) -> int:
        """Purge quarantined images past their group's retention; returns how many items."""
        purged = await asyncio.to_thread(self._quarantine.purge_expired)
        if purged:
            log.info("purged %d quarantined item(s) past their retention", purged)
        return purged

    def start_housekeeping(self, interval_s: float = 3600.0) -> None:
        """Purge expired quarantine items now and then every ``interval_s`` seconds until closed."""

        async def loop() -> None:
            while True:
                try:
                    await self.purge_expired()
                except Exception:  # a failed purge is retried next round; it must not stop the bot
                    log.exception("quarantine purge failed")
                await asyncio.sleep(interval_s)

        task = asyncio.create_task(loop())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        """Cancel pending retries and housekeeping."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # -- the pipeline -------------------------------------------------------------------------------

    async def process(self, post: Post) -> HandledPost:
        """Judge and act on an accepted post."""
        platform = self._platforms[post.chat.platform]
        policy = self.policies.for_chat(post.chat)
        search = find_token(post.caption)
        consent_task = asyncio.create_task(self._consent_outcome(post, policy, search.token, search.problem))
        fetched = await self._fetch(post)

        early_item: str | None = None
        if policy.mode is Mode.STRICT and not search.found and fetched.images and not fetched.failures:
            # Nothing can make this post acceptable: hold the images, remove the post now, judge after.
            early_item = await self._hold(post, fetched, [], "pending-detection", policy)
            await platform.delete_messages(post.chat, post.message_ids, post.thread_id)

        detection = await self._detect(fetched)
        consent = await consent_task
        decision = decide(policy, consent, detection)
        if decision.record_use:
            decision = await self._record_uses(post, policy, search.token, fetched, decision, detection)
        handled = await self._act(platform, post, policy, decision, fetched, early_item)
        await asyncio.to_thread(self._worklog.mark_done, post.key, decision.verdict.value)
        return handled

    async def _fetch(self, post: Post) -> _Fetched:
        fetched = _Fetched()
        for image in post.images:
            if image.unavailable_reason:
                fetched.failures.append(image.unavailable_reason)
                continue
            try:
                fetched.images.append((image, await image.fetch()))
            except Exception as exc:  # any download failure means "could not check": fail closed
                log.warning(
                    "image %s of %s could not be fetched: %s", image.image_id, post.key, type(exc).__name__
                )
                fetched.failures.append(f"download failed ({type(exc).__name__})")
        return fetched

    async def _detect(self, fetched: _Fetched) -> DetectionOutcome:
        reports = await asyncio.gather(
            *(self._scanner.scan(data, image.file_name or image.image_id) for image, data in fetched.images)
        )
        kinds: set[str] = set()
        failures = list(fetched.failures)
        for report in reports:
            kinds.update(report.kinds)
            if report.error is not None:
                failures.append(report.error_type or "ScanError")
        if kinds - {"plain_text"}:
            return DetectionOutcome(DetectionState.IDENTIFYING, frozenset(kinds), tuple(failures))
        if failures or not fetched.images:
            return DetectionOutcome(DetectionState.FAILED, frozenset(kinds), tuple(failures) or ("no image",))
        return DetectionOutcome(DetectionState.CLEAN)

    async def _consent_outcome(
        self, post: Post, policy: GroupPolicy, token: ConsentToken | None, problem: TokenProblem | None
    ) -> ConsentOutcome:
        if token is None:
            if problem is not None:
                return ConsentOutcome(ConsentState.MALFORMED, token_problem=problem)
            return ConsentOutcome(ConsentState.MISSING)
        fingerprint = token.fingerprint(self._token_key)
        try:
            record = await self._consent.lookup(token)
        except ConsentLookupError as exc:
            log.warning("consent lookup for %s failed: %s", post.key, type(exc).__name__)
            return ConsentOutcome(ConsentState.UNAVAILABLE, token_fingerprint=fingerprint)
        if record.status is ConsentStatus.GRANTED:
            request = ScopeRequest(
                chat=post.chat,
                poster=post.author,
                purpose=policy.purpose,
                images=len(post.images),
                at=self._clock(),
            )
            scope = check_scope(record, request)
        else:
            scope = ScopeProblem(record.status.value)
        if scope is None:
            return ConsentOutcome(ConsentState.VALID, token_fingerprint=fingerprint)
        return ConsentOutcome(_SCOPE_STATES[scope], token_fingerprint=fingerprint, scope_problem=scope)

    async def _record_uses(
        self,
        post: Post,
        policy: GroupPolicy,
        token: ConsentToken | None,
        fetched: _Fetched,
        decision: Decision,
        detection: DetectionOutcome,
    ) -> Decision:
        if token is None:  # pragma: no cover - a valid consent always has a token
            return decision
        try:
            for image, data in fetched.images:
                use = ConsentUse(
                    chat=post.chat,
                    message_id=image.message_id or post.message_id,
                    image_sha256=hashlib.sha256(data).hexdigest(),
                    poster=post.author,
                    purpose=policy.purpose,
                )
                await self._consent.record_use(token, use)
        except ConsentUseRefusedError as exc:
            # Used up or revoked between the lookup and now: judge again with the registry's answer.
            consent = replace(decision.consent, state=_SCOPE_STATES[exc.problem], scope_problem=exc.problem)
            return decide(policy, consent, detection)
        except ConsentLookupError:
            consent = replace(decision.consent, state=ConsentState.UNAVAILABLE)
            return decide(policy, consent, detection)
        return decision

    # -- acting ---------------------------------------------------------------------------------------

    async def _act(
        self,
        platform: Platform,
        post: Post,
        policy: GroupPolicy,
        decision: Decision,
        fetched: _Fetched,
        early_item: str | None,
    ) -> HandledPost:
        item = early_item
        language = choose_language(policy.language, post.author_language)
        if decision.verdict is Verdict.QUARANTINE:
            if item is None and fetched.images:
                item = await self._hold(
                    post, fetched, sorted(decision.detection.kinds), decision.reason, policy
                )
            elif item is not None:
                await asyncio.to_thread(
                    self._quarantine.update_findings, item, sorted(decision.detection.kinds), decision.reason
                )
        elif item is not None:
            # Detection said delete (or the early hold turned out unnecessary): no copy is kept.
            await asyncio.to_thread(self._quarantine.purge, item)
            item = None
        if decision.verdict in _REMOVED and early_item is None:
            await platform.delete_messages(post.chat, post.message_ids, post.thread_id)
        notified = False
        if decision.verdict in _REMOVED and decision.notify_poster:
            notified = await self._tell_poster(platform, post, policy, decision, language)
        if decision.verdict is Verdict.QUARANTINE:
            text = moderator_notice(
                decision, language, poster_name=post.author_name, group_title=post.chat_title, item_ref=item
            )
            await platform.notify_moderators(post.chat, policy.review_chat, text, item)
        if decision.verdict is Verdict.MONITOR:
            text = monitor_notice(
                decision, language, poster_name=post.author_name, group_title=post.chat_title
            )
            await platform.notify_moderators(post.chat, policy.review_chat, text, None)
        if decision.verdict in _REMOVED:
            await self._count_offence(platform, post, policy, language)
        await self._audit_decision(post, decision)
        if decision.retry and item is not None:
            self._schedule_retry(post, policy, item)
        log.info(
            "post %s: %s (%s) kinds=%s",
            post.key,
            decision.verdict.value,
            decision.reason,
            ",".join(sorted(decision.detection.kinds)) or "-",
        )
        return HandledPost(post.key, decision, item, notified)

    async def _hold(
        self, post: Post, fetched: _Fetched, kinds: list[str], reason: str, policy: GroupPolicy
    ) -> str:
        images = [(image.image_id, data) for image, data in fetched.images]
        return await asyncio.to_thread(
            self._quarantine.put, post, images, kinds, reason, policy.retention, policy.language
        )

    async def _tell_poster(
        self, platform: Platform, post: Post, policy: GroupPolicy, decision: Decision, language: Language
    ) -> bool:
        text = poster_reminder(
            decision,
            language,
            group_title=post.chat_title,
            bot_mention="consentguard",
            review_hint=review_hint(language),
        )
        if await platform.send_private(post.author, text):
            return True
        notice = group_notice(
            language,
            poster_mention=platform.mention(post.author, post.author_name),
            start_link=platform.start_link(),
        )
        await platform.send_group_notice(post.chat, notice, policy.notice_ttl_s, post.thread_id)
        return False

    async def _count_offence(
        self, platform: Platform, post: Post, policy: GroupPolicy, language: Language
    ) -> None:
        count = await asyncio.to_thread(self._offences.add, post.chat, self._audit.pseudonymise(post.author))
        if count >= policy.repeat_offence_threshold and count % policy.repeat_offence_threshold == 0:
            text = repeat_offence_alert(
                language,
                poster_name=post.author_name,
                group_title=post.chat_title,
                count=count,
            )
            await platform.notify_moderators(post.chat, policy.review_chat, text, None)

    async def _audit_decision(self, post: Post, decision: Decision) -> None:
        event = AuditEvent(
            time=self._clock(),
            platform=post.chat.platform,
            chat_id=post.chat.chat_id,
            message_id=post.message_id,
            poster=post.author,
            verdict=decision.verdict.value,
            reason=decision.reason,
            kinds=sorted(decision.detection.kinds),
            consent_state=decision.consent.state.value,
            token_fingerprint=decision.consent.token_fingerprint,
        )
        await asyncio.to_thread(self._audit.record, event)

    # -- retries ------------------------------------------------------------------------------------

    def _schedule_retry(self, post: Post, policy: GroupPolicy, item: str) -> None:
        task = asyncio.create_task(self._retry(post, policy, item))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _retry(self, post: Post, policy: GroupPolicy, item: str) -> None:
        """Check a quarantined post again later; restore it only by a moderator, but settle what we can."""
        search = find_token(post.caption)
        for delay in self._retry_delays_s:
            await asyncio.sleep(delay)
            with contextlib.suppress(Exception):
                images = await asyncio.to_thread(self._quarantine.images, item)
                fetched = _Fetched([(_image(post, image_id), data) for image_id, data in images])
                detection = await self._detect(fetched)
                consent = await self._consent_outcome(post, policy, search.token, search.problem)
                decision = decide(policy, consent, detection)
                if decision.retry:
                    continue
                await asyncio.to_thread(
                    self._quarantine.update_findings, item, sorted(detection.kinds), decision.reason
                )
                await self._audit_decision(post, replace(decision, reason=f"retry:{decision.reason}"))
                if decision.verdict is Verdict.DELETE:
                    await asyncio.to_thread(self._quarantine.purge, item)
                return
        log.warning("post %s still could not be checked after retries; left for moderators", post.key)


def _image(post: Post, image_id: str) -> PostImage:
    for image in post.images:
        if image.image_id == image_id:
            return image
    raise KeyError(image_id)


def _revision(post: Post) -> str:
    """An edit is judged again: the revision changes with the caption or the media, not otherwise."""
    material = json.dumps([post.caption, [i.image_id for i in post.images]], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()[:16]
