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
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TypeVar

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
from bot.core.deidentified import DeidentifiedOffers
from bot.core.metrics import Metrics, NoMetrics, consent_error_kind
from bot.core.policy import GroupPolicy, Mode, Policies, decide
from bot.core.ports import AuditTrail, ImageScanner, Offences, Platform, PostLog, Quarantine
from bot.core.poster_limit import PosterLimit
from bot.core.takedown import ConsentedPost, ConsentedPostLog, registry_fingerprint, takedown_key
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
    removal_refused_alert,
    repeat_offence_alert,
    review_hint,
)
from detectors.engine import ScanReport

log = logging.getLogger(__name__)
T = TypeVar("T")

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
class _Progress:
    """How far handling a post got: what the fail-closed path can reuse after a fault."""

    fetched: _Fetched | None = None
    held_item: str | None = None  # the quarantine item holding the images, once written
    removed: bool = False  # the platform confirmed the post is gone
    consent_task: asyncio.Task[ConsentOutcome] | None = None


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
        max_concurrent: int = 4,
        max_backlog: int = 32,
        worklog_retention: timedelta = timedelta(days=7),
        removal_first_s: float = 2.0,
        consented: ConsentedPostLog | None = None,
        poster_limit: PosterLimit | None = None,
        offers: DeidentifiedOffers | None = None,
        metrics: Metrics | None = None,
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
        # Finished entries only guard against redelivery (minutes to a day); kept a week, then forgotten.
        self._worklog_retention = worklog_retention
        self._background: set[asyncio.Task[None]] = set()
        #: Posts accepted by this process and not finished yet: the periodic resumer leaves them alone.
        self._in_flight: set[str] = set()
        # Two bounds. At most ``max_concurrent`` posts are scanned at once (their images queue for the scan
        # workers); fetching, holding and removing (strict mode's early removal) are cheap and not limited by
        # it, so a burst is removed at once even while its scans queue. At most ``max_backlog`` posts are held
        # in all: adapters that can leave the rest on the platform (Telegram's getUpdates) wait for room.
        self._scan_slots = asyncio.Semaphore(max(1, max_concurrent))
        self._max_backlog = max(1, max_backlog)
        self._room = asyncio.Condition()
        # Strict mode's early removals go before scans. The scan workers take every core they can; a scan
        # started while a burst is still being held and removed makes each removal wait for CPU (issue 11:
        # for a 30-post burst, removal p95 fell from 1.9 s to 1.4 s). New scans therefore wait until no early
        # removal is pending, but never longer than ``removal_first_s``: a steady stream of removals cannot
        # starve detection.
        self._removals_pending = 0
        self._removals_settled = asyncio.Condition()
        self._removal_first_s = removal_first_s
        # Posts allowed under a consent are remembered, so that a withdrawal takes them down
        # (bot.core.takedown); the per-poster limit keeps one member from spending the registry budget.
        self._consented = consented
        self._poster_limit = poster_limit
        # A removed post may be offered back de-identified (bot.core.deidentified): in the background,
        # after the removal and the reminder, never delaying either.
        self._offers = offers
        # Counts and timings for operators (verdicts, detection time, consent API errors); never patient data.
        self._metrics: Metrics = metrics or NoMetrics()

    # -- entry points -------------------------------------------------------------------------------

    async def handle(self, post: Post) -> HandledPost | None:
        """Judge and act on ``post``; None when this message (and revision) was already handled."""
        if not await self.accept(post):
            return None
        return await self.process(post)

    async def accept(self, post: Post) -> bool:
        """Persist that ``post`` must be handled (before its update is acknowledged); False if seen before."""
        (accepted,) = await self.accept_many([post])
        return accepted

    async def accept_many(self, posts: Sequence[Post]) -> list[bool]:
        """:meth:`accept` for a batch of updates in one transaction: one commit for a burst, not one each."""
        items = [(post.key, _revision(post), self._codec.encode(post)) for post in posts]
        results = await asyncio.to_thread(self._worklog.accept_revisions, items)
        for post, accepted in zip(posts, results, strict=True):
            if accepted:
                self._in_flight.add(post.key)
            else:
                log.info("post %s already handled; skipped", post.key)
        return results

    @property
    def in_flight(self) -> int:
        """How many accepted posts are not finished yet (waiting for a slot or being handled)."""
        return len(self._in_flight)

    @property
    def backlog_limit(self) -> int:
        """How many accepted, unfinished posts an adapter may hand over before it waits for room."""
        return self._max_backlog

    async def wait_for_room(self) -> None:
        """Wait until fewer than :attr:`backlog_limit` posts are in flight (the rest wait on the platform)."""
        async with self._room:
            await self._room.wait_for(lambda: len(self._in_flight) < self.backlog_limit)

    async def resume(self) -> int:
        """Finish the posts accepted but not done (before a crash, or after a fault); returns how many.

        Each post is handled on its own: one that fails again is removed (fail closed) and stays in the work
        log for the next round; it never stops the others. Posts in flight in this process are left alone.
        """
        unfinished = await asyncio.to_thread(self._worklog.claim_unfinished)
        resumed = 0
        for post_key, payload in unfinished:
            if post_key in self._in_flight:
                continue
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
        """Purge quarantined images past their group's retention, and old finished work-log entries.

        Returns how many quarantine items were purged.
        """
        purged = await asyncio.to_thread(self._quarantine.purge_expired)
        if self._offers is not None:
            await self._offers.purge_expired()
        if purged:
            log.info("purged %d quarantined item(s) past their retention", purged)
        forgotten = await asyncio.to_thread(self._worklog.forget_older_than, self._worklog_retention)
        if forgotten:
            log.info(
                "forgot %d finished work-log entr(ies) older than %s", forgotten, self._worklog_retention
            )
        return purged

    def start_housekeeping(self, interval_s: float = 3600.0, resume_interval_s: float = 60.0) -> None:
        """Until closed: purge expired quarantine items and old work-log entries, finish unfinished posts.

        Purges run every ``interval_s`` seconds; the resumer every ``resume_interval_s`` seconds (a durable
        retry: those posts are in the work log, so a restart resumes them too).
        """

        async def purge() -> None:
            while True:
                try:
                    await self.purge_expired()
                except Exception:  # a failed purge is retried next round; it must not stop the bot
                    log.exception("quarantine purge failed")
                await asyncio.sleep(interval_s)

        async def resume() -> None:
            while True:
                await asyncio.sleep(resume_interval_s)
                try:
                    # Hold on to this front end's posts first (other replicas wait for the lease to run
                    # out), then take what a dead replica left.
                    await asyncio.to_thread(self._worklog.renew_leases)
                    await self.resume()
                except Exception:  # the work log itself is unreadable now: try again next round
                    log.exception("resuming unfinished posts failed")

        for loop in (purge(), resume()):
            task = asyncio.create_task(loop)
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        """Cancel pending retries and housekeeping."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # -- the pipeline -------------------------------------------------------------------------------

    async def process(self, post: Post) -> HandledPost:
        """Judge and act on an accepted post. A fault never leaves it up: it is removed (fail closed)."""
        progress = _Progress()
        self._in_flight.add(post.key)
        try:
            return await self._judge(post, progress)
        except Exception as exc:  # whatever broke, the post must not stay up without a verdict
            log.error(
                "post %s: handling failed (%s); removing it (fail closed)", post.key, type(exc).__name__
            )
            return await self._fail_closed(post, progress)
        finally:
            self._in_flight.discard(post.key)
            if progress.consent_task is not None and not progress.consent_task.done():
                progress.consent_task.cancel()
            async with self._room:
                self._room.notify_all()

    async def _judge(self, post: Post, progress: _Progress) -> HandledPost:
        platform = self._platforms[post.chat.platform]
        policy = self.policies.for_chat(post.chat)
        if policy.mode is Mode.STRICT and not post.posts_media:
            # Only link previews or stickers: what they show is judged, not the every-image rule.
            policy = replace(policy, mode=Mode.IDENTIFYING_ONLY)
        if post.author in policy.exempt_posters:
            # An integration the moderators trust (a bridge, a lab results webhook): audited, not looked at.
            handled = await self._act(platform, post, policy, _exempt(), _Fetched(), progress)
            await asyncio.to_thread(self._worklog.mark_done, post.key, Verdict.ALLOW.value)
            return handled
        search = find_token(post.caption)
        consent_task = asyncio.create_task(self._consent_outcome(post, policy, search.token, search.problem))
        progress.consent_task = consent_task
        removes_early = (
            policy.mode is Mode.STRICT and not search.found and policy.unchecked_files is not Verdict.ALLOW
        )
        if removes_early:
            self._removals_pending += 1
        try:
            fetched = progress.fetched = await self._fetch(post)
            if removes_early and fetched.images and not fetched.failures:
                # Nothing can make this post acceptable: hold the images, remove the post now, judge after.
                progress.held_item = await self._hold(post, fetched, [], "pending-detection", policy)
                progress.removed = await platform.delete_messages(post.chat, post.message_ids, post.thread_id)
        finally:
            if removes_early:
                self._removals_pending -= 1
                async with self._removals_settled:
                    self._removals_settled.notify_all()

        detection = await self._detect(fetched)
        consent = await consent_task
        decision = decide(policy, consent, detection)
        if decision.record_use:
            decision = await self._record_uses(post, policy, search.token, fetched, decision, detection)
        handled = await self._act(platform, post, policy, decision, fetched, progress)
        await self._remember_consent(post, search.token, handled.decision)
        await asyncio.to_thread(self._worklog.mark_done, post.key, decision.verdict.value)
        return handled

    async def _remember_consent(self, post: Post, token: ConsentToken | None, decision: Decision) -> None:
        """Keep what a withdrawal of the consent needs to take the post down; forget a removed post.

        Before the post is marked done: if this fails, the post is judged again (fail closed), never left
        up under a consent whose withdrawal could not reach it.
        """
        if self._consented is None:
            return
        if decision.verdict is Verdict.ALLOW and decision.consent.state is ConsentState.VALID and token:
            consented = ConsentedPost(
                chat=post.chat,
                message_ids=post.message_ids,
                author=post.author,
                author_name=post.author_name,
                posted_at=post.sent_at,
                thread_id=post.thread_id,
                author_language=post.author_language,
                chat_title=post.chat_title,
                token_fingerprint=decision.consent.token_fingerprint,
            )
            key = takedown_key(self._token_key, registry_fingerprint(token))
            await asyncio.to_thread(self._consented.remember, consented, key)
        elif decision.verdict in _REMOVED:
            await asyncio.to_thread(self._consented.forget, post.chat, post.message_id)

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
        # Timed from here, waits included: the metric is the delay detection adds to a post, queueing too.
        started = time.perf_counter()
        await self._after_removals()
        async with self._scan_slots:
            reports = await asyncio.gather(
                *(self._scan(data, image.file_name or image.image_id) for image, data in fetched.images)
            )
        if fetched.images:  # a post with nothing to scan would only pile zeros into the histogram
            self._metrics.detection_seconds(time.perf_counter() - started)
        kinds: set[str] = set()
        failures = list(fetched.failures)
        for report in reports:
            kinds.update(report.kinds)
            if report.error is not None:
                failures.append(report.error_type or "ScanError")
        if kinds - {"plain_text"}:
            return DetectionOutcome(DetectionState.IDENTIFYING, frozenset(kinds), tuple(failures))
        if failures and fetched.images and all(f == _UNCHECKABLE for f in failures):
            return DetectionOutcome(DetectionState.UNCHECKABLE, frozenset(kinds), tuple(failures))
        if failures or not fetched.images:
            return DetectionOutcome(DetectionState.FAILED, frozenset(kinds), tuple(failures) or ("no image",))
        return DetectionOutcome(DetectionState.CLEAN)

    async def _after_removals(self) -> None:
        """Wait (bounded) until no strict-mode early removal is pending: removals first, then scans."""
        if self._removals_pending == 0:
            return
        async with self._removals_settled:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._removals_settled.wait_for(lambda: self._removals_pending == 0),
                    self._removal_first_s,
                )

    async def _scan(self, data: bytes, name_hint: str) -> ScanReport:
        """One image's scan; a scan cancelled under us (a pool restart) is a failed scan, not a lost post."""
        try:
            return await self._scanner.scan(data, name_hint)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we are being cancelled ourselves (shutdown): the work log resumes the post
            return ScanReport(error="scan cancelled", error_type="ScanCancelled")

    async def _consent_outcome(
        self, post: Post, policy: GroupPolicy, token: ConsentToken | None, problem: TokenProblem | None
    ) -> ConsentOutcome:
        if token is None:
            if problem is not None:
                return ConsentOutcome(ConsentState.MALFORMED, token_problem=problem)
            return ConsentOutcome(ConsentState.MISSING)
        fingerprint = token.fingerprint(self._token_key)
        limit = self._poster_limit
        if limit is not None and not limit.try_spend(post.author):
            # The registry is not asked: this poster's share of the bot's lookup budget is spent.
            log.warning("post %s: the poster's consent lookup limit is reached; not looked up", post.key)
            return ConsentOutcome(ConsentState.RATE_LIMITED, token_fingerprint=fingerprint)
        try:
            record = await self._consent.lookup(token)
        except ConsentLookupError as exc:
            log.warning("consent lookup for %s failed: %s", post.key, type(exc).__name__)
            self._metrics.consent_error(consent_error_kind(exc))
            return ConsentOutcome(ConsentState.UNAVAILABLE, token_fingerprint=fingerprint)
        if limit is not None and record.status is ConsentStatus.UNKNOWN:
            limit.charge_unknown(post.author)  # a guess, or a typo: it costs the poster more
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
        except ConsentLookupError as exc:
            self._metrics.consent_error(consent_error_kind(exc))
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
        progress: _Progress,
    ) -> HandledPost:
        early_item = item = progress.held_item  # held before detection (strict mode's early removal)
        language = choose_language(policy.language, post.author_language)
        if decision.verdict is Verdict.QUARANTINE:
            if item is None and fetched.images:
                item = progress.held_item = await self._hold(
                    post, fetched, sorted(decision.detection.kinds), decision.reason, policy
                )
            elif item is not None:
                await asyncio.to_thread(
                    self._quarantine.update_findings, item, sorted(decision.detection.kinds), decision.reason
                )
        elif item is not None:
            # Detection said delete (or the early hold turned out unnecessary): no copy is kept.
            await asyncio.to_thread(self._quarantine.purge, item)
            item = progress.held_item = None
        if decision.verdict in _REMOVED and early_item is None:
            progress.removed = await platform.delete_messages(post.chat, post.message_ids, post.thread_id)
        if decision.verdict in _REMOVED and not progress.removed:
            await self._removal_refused(platform, post, policy, decision, language)
        notified = False
        if decision.verdict in _REMOVED and decision.notify_poster:
            notified = await self._tell_poster(platform, post, policy, decision, language, progress.removed)
            if self._offers is not None:
                try:
                    self._offers.consider(
                        post, policy, decision, fetched.images, removed=progress.removed, reminded=notified
                    )
                except Exception:  # an offer is a courtesy: a bug in it never stops the moderation
                    log.exception("post %s: the de-identified offer could not start", post.key)
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
        # Counted here, once per post, not in _audit_decision: that runs for refused removals and retries too.
        self._metrics.post_judged(decision.verdict.value)
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
        self,
        platform: Platform,
        post: Post,
        policy: GroupPolicy,
        decision: Decision,
        language: Language,
        removed: bool = True,
    ) -> bool:
        text = poster_reminder(
            decision,
            language,
            group_title=post.chat_title,
            bot_mention="consentguard",
            review_hint=review_hint(language),
            removed=removed,
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

    async def _removal_refused(
        self, platform: Platform, post: Post, policy: GroupPolicy, decision: Decision, language: Language
    ) -> None:
        """The platform would not delete: audit it as such and tell the moderators where the post is."""
        log.error("post %s: the platform refused its removal; moderators alerted", post.key)
        await self._audit_decision(post, decision, removal="refused")
        text = removal_refused_alert(
            language,
            poster_name=post.author_name,
            group_title=post.chat_title,
            link=platform.message_link(post.chat, post.message_id),
        )
        await platform.notify_moderators(post.chat, policy.review_chat, text, None)

    async def _fail_closed(self, post: Post, progress: _Progress) -> HandledPost:
        """After a fault: hold the images if we can, remove the post, tell whom we can, keep it for a retry.

        Every step is attempted on its own (the fault may be in any of them). The post stays unfinished in
        the work log until it is confirmed removed, so the periodic resumer (and a restart) tries again.
        """
        platform = self._platforms[post.chat.platform]
        policy = self.policies.for_chat(post.chat)
        language = choose_language(policy.language, post.author_language)
        fetched = progress.fetched
        if progress.held_item is None:
            try:
                fetched = fetched or await self._fetch(post)
                if fetched.images:
                    progress.held_item = await self._hold(post, fetched, [], "fault", policy)
            except Exception as exc:  # removing the post matters more than keeping a copy
                log.error("post %s: could not hold its images (%s)", post.key, type(exc).__name__)
        unreachable = False
        if not progress.removed:
            try:
                progress.removed = await platform.delete_messages(post.chat, post.message_ids, post.thread_id)
            except Exception as exc:  # left unfinished: the resumer tries again
                log.error("post %s: could not remove it (%s); will retry", post.key, type(exc).__name__)
                unreachable = True
        item = progress.held_item
        decision = Decision(
            verdict=Verdict.QUARANTINE if item else Verdict.DELETE,
            reason="fault",
            consent=ConsentOutcome(ConsentState.UNAVAILABLE),
            detection=DetectionOutcome(DetectionState.FAILED, failures=("fault",)),
            retry=item is not None,
        )
        if unreachable:
            # Nothing is said yet: the post stays in the work log and the resumer tries again shortly.
            await _attempt(post, "audit", self._audit_decision(post, decision, removal="failed"))
            return HandledPost(post.key, decision, item, False)
        self._metrics.post_judged(decision.verdict.value)  # not when unreachable: the resumer judges it again
        if progress.removed:
            await _attempt(post, "audit", self._audit_decision(post, decision))
        else:
            refused = self._removal_refused(platform, post, policy, decision, language)
            await _attempt(post, "refused", refused)
        told = self._tell_poster(platform, post, policy, decision, language, progress.removed)
        notified = await _attempt(post, "poster", told) is True
        if item is not None:
            text = moderator_notice(
                decision, language, poster_name=post.author_name, group_title=post.chat_title, item_ref=item
            )
            notice = platform.notify_moderators(post.chat, policy.review_chat, text, item)
            await _attempt(post, "moderators", notice)
            self._schedule_retry(post, policy, item)
        with contextlib.suppress(Exception):  # if this fails too, the resumer judges the post again
            await asyncio.to_thread(self._worklog.mark_done, post.key, "fault")
        return HandledPost(post.key, decision, item, notified)

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

    async def _audit_decision(self, post: Post, decision: Decision, *, removal: str | None = None) -> None:
        """Record the decision; ``removal`` says when the platform refused it or it failed."""
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
            decision=f"removal-{removal}" if removal else None,
            posted_at=post.sent_at,
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


async def _attempt(post: Post, step: str, work: Awaitable[T]) -> T | None:
    """One step of the fail-closed path: a failure is logged and must not skip the steps after it."""
    try:
        return await work
    except Exception as exc:  # the fault may be in this very step (the database, the platform...)
        log.error("post %s: fail-closed step %s failed (%s)", post.key, step, type(exc).__name__)
        return None


#: The scan error of a file whose kind the engine cannot look into (see detectors.errors).
_UNCHECKABLE = "UnsupportedImageError"


def _exempt() -> Decision:
    return Decision(
        verdict=Verdict.ALLOW,
        reason="exempt-poster",
        consent=ConsentOutcome(ConsentState.MISSING),
        detection=DetectionOutcome(DetectionState.CLEAN),
        notify_poster=False,
    )


def _image(post: Post, image_id: str) -> PostImage:
    for image in post.images:
        if image.image_id == image_id:
            return image
    raise KeyError(image_id)


def _revision(post: Post) -> str:
    """An edit is judged again: the revision changes with the caption or the media, not otherwise."""
    material = json.dumps([post.caption, [i.image_id for i in post.images]], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()[:16]
