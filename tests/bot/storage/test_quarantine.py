"""The encrypted quarantine on a real SQLite file: round trips, deletion, retention, keys and rotation."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.consent.model import ChatRef, UserRef
from bot.domain import Post
from bot.storage import BotDatabase, open_bot_database
from bot.storage.keys import QuarantineKeyring, generate_key, load_keyring
from bot.storage.quarantine import (
    QuarantineItemNotFoundError,
    QuarantineItemNotPendingError,
    QuarantineKeyError,
    QuarantineStatus,
    QuarantineStore,
)
from config.settings import Settings
from tests.fakes.clock import MovableClock
from tests.fakes.database import run_sql, stored_bytes

CHAT = ChatRef("telegram", "-1001234")
OTHER_CHAT = ChatRef("discord", "555")
AUTHOR = UserRef("telegram", "424242")
MODERATOR = UserRef("telegram", "777")
CAPTION = "Mme Josephine Exemplaire, née le 12/03/1950, escarre sacrée J3"
RETENTION = timedelta(days=7)


def _post(message_id: str = "99", chat: ChatRef = CHAT, caption: str = CAPTION) -> Post:
    return Post(
        chat=chat,
        message_id=message_id,
        author=AUTHOR,
        author_name="Dr Alice Martin",
        caption=caption,
        images=(),
        sent_at=datetime(2025, 3, 1, 11, 59, tzinfo=UTC),
        thread_id="17",
    )


def _images() -> list[tuple[str, bytes]]:
    # Random bytes with a marker: easy to find in a file if they ever reached it in clear.
    return [
        ("photo-1", b"PATIENT-IMAGE-ONE" + os.urandom(20_000)),
        ("photo-2", b"PATIENT-IMAGE-TWO" + os.urandom(3_000)),
    ]


def _put(
    store: QuarantineStore, post: Post | None = None, images: list[tuple[str, bytes]] | None = None
) -> str:
    return store.put(
        post or _post(),
        images if images is not None else _images(),
        ["face", "name"],
        "no-consent",
        RETENTION,
        "fr",
    )


def _sealed_blobs(db_url: str) -> list[bytes]:
    return [bytes(row[0]) for row in run_sql(db_url, "SELECT sealed FROM quarantine_images")]


def _status_in_database(db_url: str, item_id: str) -> str:
    [(status,)] = run_sql(db_url, "SELECT status FROM quarantine_items WHERE id = :id", id=item_id)
    return str(status)


@pytest.fixture
def keyring(settings: Settings) -> QuarantineKeyring:
    return load_keyring(settings)[0]


@pytest.fixture
def store(db: BotDatabase, keyring: QuarantineKeyring, clock: MovableClock) -> QuarantineStore:
    return QuarantineStore(db, keyring, clock)


def test_round_trip_across_a_restart_then_approve_deletes_the_blobs(
    settings: Settings, db_url: str, db_path: Path, clock: MovableClock
) -> None:
    images = _images()
    db = open_bot_database(db_url)
    item_id = QuarantineStore(db, load_keyring(settings)[0], clock).put(
        _post(), images, ["face"], "no-consent", RETENTION, "fr"
    )
    db.close()

    db = open_bot_database(db_url)  # a new process: the database and the key file read again
    try:
        store = QuarantineStore(db, load_keyring(settings)[0], clock)
        item = store.get(item_id)
        assert item.status is QuarantineStatus.PENDING
        assert (item.chat, item.message_id, item.thread_id) == (CHAT, "99", "17")
        assert (item.author, item.author_name, item.caption) == (AUTHOR, "Dr Alice Martin", CAPTION)
        assert item.finding_kinds == ("face",)
        assert item.image_count == 2
        assert item.created_at == clock.now
        assert item.expires_at == clock.now + RETENTION
        assert store.images(item_id) == images
        sealed = _sealed_blobs(db_url)
        assert len(sealed) == 2

        approved = store.approve(item_id, MODERATOR)
        assert list(approved.images) == images
        assert (approved.caption, approved.author, approved.thread_id) == (CAPTION, AUTHOR, "17")
        assert approved.chat == CHAT

        after = store.get(item_id)
        assert after.status is QuarantineStatus.APPROVED
        assert after.caption is None
        assert after.decided_by == MODERATOR
        assert after.decided_at == clock.now
        assert _sealed_blobs(db_url) == []
        with pytest.raises(QuarantineItemNotPendingError):
            store.images(item_id)
        with pytest.raises(QuarantineItemNotPendingError):
            store.approve(item_id, MODERATOR)
    finally:
        db.close()
    # Gone from what the database holds, not only from the table (SQLite: from the file itself, with
    # secure_delete; the WAL is checkpointed at close).
    content = stored_bytes(db_url, db_path)
    for blob in sealed:
        assert blob[40:200] not in content


@pytest.mark.sqlite_only
def test_no_plaintext_image_or_caption_in_the_database_files(
    store: QuarantineStore, db: BotDatabase, db_url: str, db_path: Path
) -> None:
    images = _images()
    _put(store, images=images)
    content = stored_bytes(db_url, db_path)  # with the WAL still there
    assert db_path.with_name(db_path.name + "-wal").exists()
    db.close()
    content += stored_bytes(db_url, db_path)
    for _, data in images:
        assert data[:17] not in content
        assert data[100:400] not in content
    for secret in (CAPTION, "Exemplaire", "Dr Alice Martin", AUTHOR.user_id):
        assert secret.encode() not in content


def test_reject_deletes_at_once_and_needs_no_key(
    store: QuarantineStore, db: BotDatabase, db_url: str, clock: MovableClock
) -> None:
    item_id = _put(store)
    keyless = QuarantineStore(db, QuarantineKeyring(generate_key("other")), clock)
    keyless.reject(item_id, MODERATOR)
    assert _sealed_blobs(db_url) == []
    assert _status_in_database(db_url, item_id) == "rejected"
    with pytest.raises(QuarantineItemNotPendingError) as caught:
        keyless.reject(item_id, MODERATOR)
    assert caught.value.status is QuarantineStatus.REJECTED


def test_reject_clears_the_caption(store: QuarantineStore) -> None:
    item_id = _put(store)
    store.reject(item_id, MODERATOR)
    item = store.get(item_id)
    assert (item.status, item.caption, item.decided_by) == (QuarantineStatus.REJECTED, None, MODERATOR)


def test_retention_purge_with_an_injected_clock(
    store: QuarantineStore, db_url: str, clock: MovableClock
) -> None:
    old = _put(store)
    clock.advance(days=3)
    recent = _put(store, _post("100"))
    clock.advance(days=4)  # old is exactly at its expiry; recent has 3 days left

    assert store.get(old).status is QuarantineStatus.PURGED  # no longer offered, even before the purge
    assert [item.item_id for item in store.pending()] == [recent]
    with pytest.raises(QuarantineItemNotPendingError):
        store.images(old)

    assert store.purge_expired() == 1
    assert store.purge_expired() == 0
    assert len(_sealed_blobs(db_url)) == 2  # recent's
    assert store.get(old).caption is None
    assert store.get(recent).status is QuarantineStatus.PENDING
    assert store.purge_expired(now=clock.now + timedelta(days=3)) == 1
    assert _sealed_blobs(db_url) == []
    assert store.get(recent).status is QuarantineStatus.PURGED


def test_approving_an_expired_item_purges_it_and_refuses(
    store: QuarantineStore, db_url: str, clock: MovableClock
) -> None:
    item_id = _put(store)
    clock.advance(days=8)
    with pytest.raises(QuarantineItemNotPendingError) as caught:
        store.approve(item_id, MODERATOR)
    assert caught.value.status is QuarantineStatus.PURGED
    assert _sealed_blobs(db_url) == []


def test_a_wrong_key_fails_loudly(store: QuarantineStore, db: BotDatabase, clock: MovableClock) -> None:
    item_id = _put(store)
    # Same key id, other material: must not decrypt to garbage.
    impostor = QuarantineStore(db, QuarantineKeyring(generate_key(_key_id(store, item_id))), clock)
    with pytest.raises(QuarantineKeyError, match="in the keyring"):
        impostor.images(item_id)
    with pytest.raises(QuarantineKeyError):
        impostor.get(item_id)
    with pytest.raises(QuarantineKeyError):
        impostor.approve(item_id, MODERATOR)
    assert store.get(item_id).status is QuarantineStatus.PENDING  # the failed approve changed nothing
    missing = QuarantineStore(db, QuarantineKeyring(generate_key("elsewhere")), clock)
    with pytest.raises(QuarantineKeyError, match="missing from the keyring"):
        missing.images(item_id)
    assert missing.missing_keys() == {_key_id(store, item_id)}
    assert store.missing_keys() == frozenset()


def _key_id(store: QuarantineStore, item_id: str) -> str:
    return store.get(item_id).key_id


def test_rotation_old_items_stay_readable_new_ones_use_the_new_key(
    db: BotDatabase, db_url: str, clock: MovableClock
) -> None:
    old_key = generate_key("k1")
    images = _images()
    old_item = QuarantineStore(db, QuarantineKeyring(old_key), clock).put(
        _post(), images, [], "no-consent", RETENTION, "fr"
    )
    rotated = QuarantineStore(db, QuarantineKeyring(generate_key("k2"), [old_key]), clock)
    assert rotated.images(old_item) == images
    assert rotated.get(old_item).caption == CAPTION
    new_item = _put(rotated, _post("100"))
    key_ids = dict(run_sql(db_url, "SELECT id, key_id FROM quarantine_items"))
    blob_keys = dict(run_sql(db_url, "SELECT item_id, key_id FROM quarantine_images"))
    assert key_ids == {old_item: "k1", new_item: "k2"}
    assert blob_keys == {old_item: "k1", new_item: "k2"}
    # The approval of an old item is sealed with the current key.
    rotated.approve(old_item, MODERATOR)
    assert rotated.get(old_item).decided_by == MODERATOR


def test_a_blob_moved_to_another_item_does_not_decrypt(
    store: QuarantineStore, db: BotDatabase, db_url: str
) -> None:
    first = _put(store)
    second = _put(store, _post("100"))
    db.close()
    [(blob,)] = run_sql(
        db_url, "SELECT sealed FROM quarantine_images WHERE item_id = :id AND position = 0", id=first
    )
    run_sql(
        db_url,
        "UPDATE quarantine_images SET sealed = :blob WHERE item_id = :id AND position = 0",
        blob=bytes(blob),
        id=second,
    )
    with pytest.raises(QuarantineKeyError):
        store.images(second)
    assert len(store.images(first)) == 2


def test_pending_and_counts_per_chat(store: QuarantineStore, clock: MovableClock) -> None:
    a = _put(store)
    clock.advance(minutes=1)
    b = _put(store, _post("100", chat=OTHER_CHAT))
    clock.advance(minutes=1)
    c = _put(store, _post("101"))
    assert [item.item_id for item in store.pending()] == [a, b, c]
    assert [item.item_id for item in store.pending(CHAT)] == [a, c]
    assert store.count_pending(CHAT) == 2
    assert store.count_pending(OTHER_CHAT) == 1
    assert store.count_pending() == 3
    store.reject(a, MODERATOR)
    assert store.count_pending(CHAT) == 1
    assert [item.item_id for item in store.pending(CHAT)] == [c]


def test_unknown_item(store: QuarantineStore) -> None:
    for call in (store.get, store.images, lambda item: store.approve(item, MODERATOR)):
        with pytest.raises(QuarantineItemNotFoundError):
            call("0" * 32)


def test_reprs_hide_caption_name_and_images(store: QuarantineStore) -> None:
    item_id = _put(store)
    approved_repr = repr(store.get(item_id)) + repr(store.approve(item_id, MODERATOR))
    for secret in (CAPTION, "Dr Alice Martin", "PATIENT-IMAGE"):
        assert secret not in approved_repr


def test_input_is_validated(store: QuarantineStore) -> None:
    with pytest.raises(ValueError, match="same id"):
        _put(store, images=[("x", b"1"), ("x", b"2")])
    with pytest.raises(ValueError, match="positive"):
        store.put(_post(), [], [], "r", timedelta(0), "fr")


def test_concurrent_approvals_release_the_post_once(store: QuarantineStore) -> None:
    item_id = _put(store)
    results: list[str] = []

    def approve() -> None:
        try:
            store.approve(item_id, MODERATOR)
            results.append("approved")
        except QuarantineItemNotPendingError:
            results.append("refused")

    threads = [threading.Thread(target=approve) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["approved"] + ["refused"] * 5


def test_update_findings_then_purge_by_the_bot(store: QuarantineStore, db_url: str) -> None:
    item_id = store.put(_post(), _images(), [], "pending-detection", RETENTION, "fr")
    store.update_findings(item_id, ["face", "barcode", "face"], "no-consent-identifying")
    item = store.get(item_id)
    assert (item.finding_kinds, item.reason) == (("barcode", "face"), "no-consent-identifying")
    assert store.purge(item_id)
    assert not store.purge(item_id)
    assert _sealed_blobs(db_url) == []
    assert (store.get(item_id).status, store.get(item_id).caption) == (QuarantineStatus.PURGED, None)
    with pytest.raises(QuarantineItemNotPendingError):
        store.update_findings(item_id, [], "late")
