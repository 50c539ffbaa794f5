"""The sealed store of de-identified offers: nothing in clear on disk, one claim at a time, purges."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.consent.model import ChatRef, UserRef
from bot.core.deidentified import CLAIM_TIMEOUT, ClaimedOffer, NewOffer, Refusal
from bot.storage import BotDatabase
from bot.storage.deidentified_offers import SqlOfferStore
from bot.storage.keys import load_keyring
from config.settings import Settings
from tests.fakes.clock import MovableClock
from tests.fakes.database import stored_bytes

ALICE = UserRef("telegram", "42")
OFFER = NewOffer(
    chat=ChatRef("telegram", "-1001"),
    message_id="5",
    thread_id="77",
    author=ALICE,
    author_name="Dr Alicette Zorglub",
    language="en",
    group_language="fr",
    kinds=("face", "person_name"),
)
IMAGES = [b"\xff\xd8masked-one-MARKER", b"\xff\xd8masked-two-MARKER", b""]


@pytest.fixture
def store(db: BotDatabase, settings: Settings, clock: MovableClock) -> SqlOfferStore:
    keyring, _ = load_keyring(settings)
    return SqlOfferStore(db, keyring, clock)


def test_images_and_people_are_sealed_on_disk(
    store: SqlOfferStore, db: BotDatabase, db_url: str, db_path: Path
) -> None:
    store.put(OFFER, IMAGES, timedelta(hours=24))
    db.close()
    on_disk = stored_bytes(db_url, db_path)
    assert b"MARKER" not in on_disk
    assert b"Zorglub" not in on_disk
    assert b"telegram:42" not in on_disk


def test_the_author_claims_the_images_back_in_order(store: SqlOfferStore) -> None:
    offer_id = store.put(OFFER, IMAGES, timedelta(hours=24))
    claimed = store.claim(offer_id, ALICE)
    assert isinstance(claimed, ClaimedOffer)
    assert claimed.images == tuple(IMAGES)
    assert claimed.offer == OFFER
    assert "MARKER" not in repr(claimed)
    assert "Zorglub" not in repr(claimed)


def test_a_claim_locks_until_released_or_stale(store: SqlOfferStore, clock: MovableClock) -> None:
    offer_id = store.put(OFFER, IMAGES, timedelta(hours=24))
    assert isinstance(store.claim(offer_id, ALICE), ClaimedOffer)
    assert store.claim(offer_id, ALICE) is Refusal.GONE
    store.release(offer_id)
    assert isinstance(store.claim(offer_id, ALICE), ClaimedOffer)
    clock.advance(seconds=CLAIM_TIMEOUT.total_seconds() + 1)  # the repost was cut short by a crash
    assert isinstance(store.claim(offer_id, ALICE), ClaimedOffer)


def test_someone_else_cannot_claim(store: SqlOfferStore) -> None:
    offer_id = store.put(OFFER, IMAGES, timedelta(hours=24))
    assert store.claim(offer_id, UserRef("telegram", "43")) is Refusal.NOT_YOURS
    assert store.claim(offer_id, UserRef("discord", "42")) is Refusal.NOT_YOURS


def test_expiry_and_purges(store: SqlOfferStore, clock: MovableClock) -> None:
    first = store.put(OFFER, IMAGES, timedelta(hours=1))
    second = store.put(OFFER, IMAGES, timedelta(hours=3))
    third = store.put(OFFER, IMAGES, timedelta(hours=3))
    assert store.purge(third)
    assert not store.purge(third)
    clock.advance(hours=2)
    assert store.claim(first, ALICE) is Refusal.EXPIRED
    assert store.claim(first, ALICE) is Refusal.GONE  # deleted on the spot
    assert store.purge_expired() == 0
    clock.advance(hours=1)
    assert store.purge_expired() == 1
    assert store.claim(second, ALICE) is Refusal.GONE
    assert store.count() == 0
