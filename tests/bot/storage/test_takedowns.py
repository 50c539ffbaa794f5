"""Consented posts and feed cursors in the bot database (real SQLite)."""

from __future__ import annotations

from datetime import timedelta

from bot.consent.model import ChatRef, UserRef
from bot.core.takedown import ConsentedPost
from bot.storage import BotDatabase
from bot.storage.keys import QuarantineKeyring, generate_key
from bot.storage.sealing import Sealer
from bot.storage.takedowns import UNKNOWN_AUTHOR, SqlConsentedPosts, SqlCursorStore
from tests.fakes.clock import MovableClock

GROUP = ChatRef("telegram", "-1001")
ALICE = UserRef("telegram", "42")


def post(message_id: str = "7", *more: str) -> ConsentedPost:
    return ConsentedPost(
        chat=GROUP,
        message_ids=(message_id, *more),
        author=ALICE,
        author_name="Dr Alice",
        posted_at=MovableClock().now,
        author_language="fr",
        chat_title="Dermato avis",
        token_fingerprint="abcd",  # noqa: S106 - a keyed hash, not a secret
    )


def store(db: BotDatabase, clock: MovableClock, key_id: str = "k1") -> SqlConsentedPosts:
    return SqlConsentedPosts(db, Sealer(QuarantineKeyring(generate_key(key_id))), clock)


def test_a_withdrawn_post_comes_back_whole_and_settles_once(db: BotDatabase, clock: MovableClock) -> None:
    posts = store(db, clock)
    posts.remember(post("7", "8"), "key-a")
    posts.remember(post("9"), "key-b")
    assert posts.mark_withdrawn("key-a", clock()) == 1
    assert posts.mark_withdrawn("key-a", clock()) == 0  # read twice: marked once
    (withdrawn,) = posts.withdrawn()
    assert withdrawn.message_ids == ("7", "8")
    assert (withdrawn.author, withdrawn.author_name, withdrawn.chat_title) == (
        ALICE,
        "Dr Alice",
        "Dermato avis",
    )
    assert withdrawn.record_id is not None
    assert posts.settle(withdrawn.record_id, "removed")
    assert not posts.settle(withdrawn.record_id, "removed")
    assert posts.withdrawn() == []
    assert posts.outcome(GROUP, "7") == "removed"


def test_names_are_sealed_at_rest(db: BotDatabase, clock: MovableClock) -> None:
    store(db, clock).remember(post(), "key-a")
    with db.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT sealed_people FROM consented_posts").scalar()
    assert b"Dr Alice" not in raw
    assert b"Dermato" not in raw


def test_a_post_allowed_again_replaces_its_row_and_forget_drops_it(
    db: BotDatabase, clock: MovableClock
) -> None:
    posts = store(db, clock)
    posts.remember(post(), "key-a")
    posts.remember(post(), "key-b")  # an edit quoting another consent
    assert posts.mark_withdrawn("key-a", clock()) == 0
    posts.forget(GROUP, "7")
    assert posts.mark_withdrawn("key-b", clock()) == 0


def test_forget_keeps_a_takedown_under_way(db: BotDatabase, clock: MovableClock) -> None:
    posts = store(db, clock)
    posts.remember(post(), "key-a")
    posts.mark_withdrawn("key-a", clock())
    posts.forget(GROUP, "7")
    assert len(posts.withdrawn()) == 1


def test_a_row_no_key_opens_still_comes_down(db: BotDatabase, clock: MovableClock) -> None:
    store(db, clock, "old").remember(post(), "key-a")
    posts = store(db, clock, "new")
    posts.mark_withdrawn("key-a", clock())
    (withdrawn,) = posts.withdrawn()
    assert withdrawn.message_ids == ("7",)
    assert withdrawn.author == UserRef("telegram", UNKNOWN_AUTHOR)


def test_the_cursor_is_kept(db: BotDatabase, clock: MovableClock) -> None:
    cursors = SqlCursorStore(db)
    assert cursors.load("revocations") is None
    cursors.save("revocations", clock())
    cursors.save("revocations", clock() + timedelta(seconds=5))
    assert cursors.load("revocations") == clock() + timedelta(seconds=5)
