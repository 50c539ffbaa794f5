"""De-identified reposts through the real core: pipeline, offers service and sealed store on SQLite.

Detection, rendering and the platform are fakes: every still image "shows a face", the fake deidentifier
masks (or refuses) by rule, and the offer channel records what it would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from bot.bootstrap import Core, Overrides, open_core
from bot.consent.model import ConsentRecord, ConsentStatus, UserRef
from bot.consent.token import new_token
from bot.core.deidentified import REPOST_DECISION, ClaimedOffer, Outcome
from bot.domain import Post, PostImage
from detectors.base import Finding, FindingKind
from detectors.engine import ScanReport
from tests.bot.test_pipeline import ALICE, GROUP, NOW
from tests.fakes.clock import MovableClock
from tests.fakes.platform import FakeConsentLookup, RecordingPlatform
from tests.fakes.settings import make_settings
from tests.mediagen import clean_video

BOB = UserRef("telegram", "43")
IDENTIFYING_ONLY = '[default]\nmode = "identifying-only"\n'


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (shade, 90, 90)).save(out, "JPEG")
    return out.getvalue()


ORIGINAL_A, ORIGINAL_B, UNMASKABLE = jpeg(200), jpeg(120), jpeg(40)


class FaceScanner:
    """Every medium shows a face (the images are what the deidentifier and the offer rules look at)."""

    async def scan(self, data: bytes, name_hint: str) -> ScanReport:
        report = ScanReport()
        report.findings.append(Finding(FindingKind.FACE, "faces", 0.9, True, "human face"))
        return report

    async def aclose(self) -> None:
        return None


class FakeDeidentifier:
    """Masks by prefixing b"MASKED:"; refuses UNMASKABLE (a finding it could not place)."""

    def __init__(self) -> None:
        self.rendered: list[bytes] = []

    async def render(self, data: bytes, name_hint: str) -> bytes | None:
        self.rendered.append(data)
        return None if data == UNMASKABLE else b"MASKED:" + data[:8]


@dataclass
class FakeChannel:
    """An OfferChannel that records; ``reachable``/``fail_posts`` play a closed DM and a failed repost."""

    reachable: bool = True
    fail_posts: int = 0
    offers: list[tuple[UserRef, str, str, str, list[bytes]]] = field(default_factory=list)
    posted: list[tuple[ClaimedOffer, str]] = field(default_factory=list)

    async def send_offer(
        self, user: UserRef, text: str, offer_id: str, label: str, previews: Sequence[bytes]
    ) -> bool:
        if not self.reachable:
            return False
        self.offers.append((user, text, offer_id, label, list(previews)))
        return True

    async def post_deidentified(self, claimed: ClaimedOffer, attribution: str) -> list[str]:
        if self.fail_posts:
            self.fail_posts -= 1
            raise ConnectionError("platform unreachable")
        self.posted.append((claimed, attribution))
        return ["900"]


@dataclass
class Running:
    core: Core
    platform: RecordingPlatform
    channel: FakeChannel
    deidentifier: FakeDeidentifier
    consent: FakeConsentLookup
    clock: MovableClock

    async def post(self, *image_ids: str, caption: str = "avis ?", thread_id: str | None = "77") -> None:
        post = Post(
            chat=GROUP,
            message_id="1",
            author=ALICE,
            author_name="Dr\nAlice",
            caption=caption,
            images=tuple(PostImage(i, self.platform.fetcher(GROUP, i)) for i in image_ids),
            sent_at=NOW,
            thread_id=thread_id,
            chat_title="Dermato",
        )
        handled = await self.core.moderator.handle(post)
        assert handled is not None
        assert self.core.offers is not None
        await self.core.offers.idle()

    def offer_id(self) -> str:
        [(_, _, offer_id, _, _)] = self.channel.offers
        return offer_id

    def stored(self) -> int:
        return self.core.storage.offers.count()


async def _running(tmp_path: Path, policy: str, *, attach: str = "telegram") -> AsyncIterator[Running]:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(policy)
    settings = make_settings(data_dir=tmp_path / "data", policy_file=policy_file)
    images = {"a": ORIGINAL_A, "b": ORIGINAL_B, "bad": UNMASKABLE, "video": clean_video()}
    platform = RecordingPlatform(images)
    consent = FakeConsentLookup()
    clock = MovableClock(NOW)
    deidentifier = FakeDeidentifier()
    overrides = Overrides(
        clock=clock, scanner=FaceScanner(), consent=consent, revocation_poll_s=3600, deidentifier=deidentifier
    )
    async with contextlib.AsyncExitStack() as stack:
        core = await stack.enter_async_context(
            open_core(settings, platforms={"telegram": platform}, overrides=overrides)
        )
        channel = FakeChannel()
        assert core.offers is not None
        core.offers.attach(attach, channel)
        yield Running(core, platform, channel, deidentifier, consent, clock)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    async for value in _running(tmp_path, IDENTIFYING_ONLY):
        yield value


async def test_an_album_that_masks_clean_is_offered_after_the_removal_and_the_reminder(
    running: Running,
) -> None:
    await running.post("a", "b")
    actions = [call.action for call in running.platform.calls]
    assert actions.index("delete") < actions.index("private")  # removed, then told, then offered
    [(user, text, offer_id, label, previews)] = running.channel.offers
    assert user == ALICE
    assert "Dermato" in text
    assert "24" in text
    assert label
    assert previews == [b"MASKED:" + ORIGINAL_A[:8], b"MASKED:" + ORIGINAL_B[:8]]
    assert running.stored() == 1
    assert len(offer_id) == 32


async def test_confirming_posts_the_masked_images_purges_the_copy_and_audits(running: Running) -> None:
    await running.post("a", "b")
    assert running.core.offers is not None

    confirmation = await running.core.offers.confirm(running.offer_id(), ALICE, "fr")

    assert confirmation.outcome is Outcome.POSTED
    [(claimed, attribution)] = running.channel.posted
    assert claimed.images == (b"MASKED:" + ORIGINAL_A[:8], b"MASKED:" + ORIGINAL_B[:8])
    assert claimed.offer.chat == GROUP
    assert claimed.offer.thread_id == "77"
    assert attribution == "Publié par Dr Alice — version anonymisée par consentguard"
    assert "avis" not in attribution  # never the original caption
    assert running.stored() == 0
    out = io.StringIO()
    running.core.storage.audit.export(datetime(2000, 1, 1, tzinfo=UTC), "jsonl", out)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    [repost] = [event for event in events if event["decision"] == REPOST_DECISION]
    assert (repost["chat_id"], repost["message_id"]) == (GROUP.chat_id, "1")
    assert repost["reason"] == REPOST_DECISION
    assert "Alice" not in json.dumps(events)  # people are pseudonymised


async def test_only_the_poster_may_confirm_and_only_once(running: Running) -> None:
    await running.post("a")
    offers = running.core.offers
    assert offers is not None
    offer_id = running.offer_id()

    refused = await offers.confirm(offer_id, BOB, "en")
    assert refused.outcome is Outcome.NOT_YOURS
    assert refused.text == "Only the person who posted the image can confirm."
    assert running.stored() == 1

    assert (await offers.confirm(offer_id, ALICE, None)).outcome is Outcome.POSTED
    again = await offers.confirm(offer_id, ALICE, None)
    assert again.outcome is Outcome.GONE
    assert len(running.channel.posted) == 1


async def test_an_expired_offer_is_refused_and_purged(running: Running) -> None:
    await running.post("a")
    offers = running.core.offers
    assert offers is not None
    running.clock.advance(hours=24, seconds=1)

    expired = await offers.confirm(running.offer_id(), ALICE, "fr")

    assert expired.outcome is Outcome.EXPIRED
    assert expired.text == "Cette proposition a expiré."
    assert running.stored() == 0
    assert running.channel.posted == []


async def test_an_offer_is_void_once_the_group_requires_consent_for_every_image(running: Running) -> None:
    import dataclasses

    from bot.core.policy import Mode

    await running.post("a")
    offers = running.core.offers
    assert offers is not None
    policies = running.core.policies
    policies.set(GROUP, dataclasses.replace(policies.for_chat(GROUP), mode=Mode.STRICT))

    void = await offers.confirm(running.offer_id(), ALICE, "fr")

    assert void.outcome is Outcome.GONE
    assert running.channel.posted == []
    assert running.stored() == 0


async def test_the_periodic_purge_deletes_expired_offers(running: Running) -> None:
    await running.post("a")
    running.clock.advance(hours=23)
    await running.core.moderator.purge_expired()
    assert running.stored() == 1
    running.clock.advance(hours=2)
    await running.core.moderator.purge_expired()
    assert running.stored() == 0


async def test_a_failed_repost_can_be_confirmed_again(running: Running) -> None:
    await running.post("a")
    offers = running.core.offers
    assert offers is not None
    running.channel.fail_posts = 1

    failed = await offers.confirm(running.offer_id(), ALICE, "fr")
    assert failed.outcome is Outcome.FAILED
    assert running.stored() == 1

    assert (await offers.confirm(running.offer_id(), ALICE, "fr")).outcome is Outcome.POSTED
    assert running.stored() == 0


async def test_no_offer_when_one_image_has_no_clean_rendering(running: Running) -> None:
    await running.post("a", "bad")
    assert running.channel.offers == []
    assert running.stored() == 0


async def test_no_offer_for_a_post_with_a_video(running: Running) -> None:
    await running.post("a", "video")
    assert running.platform.actions("delete")
    assert running.channel.offers == []
    assert running.deidentifier.rendered == []  # not even tried


async def test_no_offer_when_the_reminder_could_not_be_delivered(running: Running) -> None:
    running.platform.closed_dms.add(ALICE)
    await running.post("a")
    assert running.channel.offers == []
    assert running.deidentifier.rendered == []


async def test_no_offer_kept_when_the_offer_itself_cannot_be_delivered(running: Running) -> None:
    running.channel.reachable = False
    await running.post("a")
    assert running.deidentifier.rendered == [ORIGINAL_A]
    assert running.stored() == 0


async def test_no_offer_when_a_token_was_quoted(running: Running) -> None:
    token = new_token()
    running.consent.records[token.compact] = ConsentRecord(status=ConsentStatus.REVOKED)
    await running.post("a", caption=f"#consent {token.value}")
    assert running.platform.actions("delete")
    assert running.channel.offers == []


async def test_no_offer_on_a_platform_whose_front_end_did_not_attach(tmp_path: Path) -> None:
    async for run in _running(tmp_path, IDENTIFYING_ONLY, attach="discord"):
        await run.post("a")
        assert run.channel.offers == []


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param("", id="strict: every image needs a consent, masked or not"),
        pytest.param('[default]\nmode = "monitor"\n', id="monitor: nothing removed"),
    ],
)
async def test_no_offer_outside_identifying_only_mode(tmp_path: Path, policy: str) -> None:
    async for run in _running(tmp_path, policy):
        await run.post("a")
        assert run.channel.offers == []
        assert run.deidentifier.rendered == []


async def test_a_burst_of_removals_holds_a_bounded_number_of_offers_in_memory() -> None:
    from bot.core.deidentified import DeidentifiedOffers
    from bot.core.policy import GroupPolicy, Mode
    from bot.domain import (
        ConsentOutcome,
        ConsentState,
        Decision,
        DetectionOutcome,
        DetectionState,
        Verdict,
    )

    class GatedDeidentifier:
        def __init__(self) -> None:
            self.gate = asyncio.Event()

        async def render(self, data: bytes, name_hint: str) -> bytes | None:
            await self.gate.wait()
            return None

    deidentifier = GatedDeidentifier()
    offers = DeidentifiedOffers(
        store=None,  # type: ignore[arg-type]  # never reached: every rendering waits, then gives none
        deidentifier=deidentifier,
        audit=None,  # type: ignore[arg-type]
        max_waiting=3,
    )
    offers.attach("telegram", FakeChannel())
    policy = GroupPolicy(mode=Mode.IDENTIFYING_ONLY)
    decision = Decision(
        verdict=Verdict.DELETE,
        reason="no-consent-identifying",
        consent=ConsentOutcome(ConsentState.MISSING),
        detection=DetectionOutcome(DetectionState.IDENTIFYING, frozenset({"face"})),
    )
    started = []
    for n in range(5):
        image = PostImage(f"img-{n}", fetch=None)  # type: ignore[arg-type]
        post = Post(
            chat=GROUP,
            message_id=str(n),
            author=ALICE,
            author_name="Dr Alice",
            caption="",
            images=(image,),
            sent_at=NOW,
        )
        started.append(
            offers.consider(post, policy, decision, [(image, ORIGINAL_A)], removed=True, reminded=True)
        )
    assert started == [True, True, True, False, False]  # the rest of the burst gets no offer
    deidentifier.gate.set()
    await offers.aclose()
