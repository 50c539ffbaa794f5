"""The work log (at-most-once, resume after a crash, revisions) and the offence counter."""

from __future__ import annotations

import threading
from datetime import timedelta

from bot.consent.model import ChatRef
from bot.storage import BotDatabase, open_bot_database
from bot.storage.worklog import OffenceCounter, WorkItem, WorkLog
from tests.fakes.clock import MovableClock

CHAT = ChatRef("telegram", "-1001234")
OTHER_CHAT = ChatRef("telegram", "-1009999")


def test_a_redelivered_message_is_accepted_once(db: BotDatabase, clock: MovableClock) -> None:
    log = WorkLog(db, clock)
    assert log.accept("telegram:-1001234:99", b"payload")
    assert not log.accept("telegram:-1001234:99", b"payload again")
    assert log.accept("telegram:-1001234:100", b"other")


def test_unfinished_work_survives_a_crash_and_done_work_does_not_come_back(
    db_url: str, clock: MovableClock
) -> None:
    db = open_bot_database(db_url)
    log = WorkLog(db, clock)
    log.accept("a", b"first")
    clock.advance(seconds=1)
    log.accept("b", b"second")
    clock.advance(seconds=1)
    log.accept("c", b"third")
    log.mark_done("b", "deleted")
    db.close()  # the process dies here

    db = open_bot_database(db_url)
    try:
        log = WorkLog(db, clock)
        resumed = log.unfinished()
        assert resumed == [("a", b"first"), ("c", b"third")]
        assert resumed[0] == WorkItem(post_key="a", payload=b"first")
        assert not log.accept("a", b"first")  # still known: a redelivery after the restart is skipped
        assert log.mark_done("a", "quarantined")
        assert not log.mark_done("a", "quarantined")
        assert [item.post_key for item in log.unfinished()] == ["c"]
    finally:
        db.close()


def test_each_revision_of_an_edited_message_is_accepted_once(db: BotDatabase) -> None:
    log = WorkLog(db)
    assert log.accept("k", b"v0")
    assert log.accept_revision("k", "edit-1", b"v1")
    assert not log.accept_revision("k", "edit-1", b"v1")
    assert log.accept_revision("k", "edit-2", b"v2")
    assert not log.accept_revision("k", "edit-2", b"v2")
    assert log.mark_done("k", "allowed", revision="")
    assert log.unfinished() == [("k", b"v1"), ("k", b"v2")]
    assert log.mark_done("k", "deleted", revision="edit-1")
    assert log.unfinished() == [("k", b"v2")]
    assert "v2" not in repr(log.unfinished())


def test_mark_done_without_revision_closes_every_open_revision(db: BotDatabase) -> None:
    log = WorkLog(db)
    log.accept_revision("k", "r1", b"v1")
    log.accept_revision("k", "r2", b"v2")
    log.accept_revision("other", "r1", b"x")
    assert log.mark_done("k", "deleted")
    assert log.unfinished() == [("other", b"x")]
    assert not log.mark_done("k", "deleted")


def test_payload_dropped_when_done_and_old_entries_forgotten(db: BotDatabase, clock: MovableClock) -> None:
    log = WorkLog(db, clock)
    log.accept("old-done", b"secret caption")
    log.accept("old-open", b"x")
    log.mark_done("old-done", "allowed")
    with db.engine.connect() as connection:
        payload = connection.exec_driver_sql(
            "SELECT payload FROM work_items WHERE post_key = 'old-done'"
        ).scalar()
    assert payload == b""
    clock.advance(days=3)
    log.accept("new", b"y")
    log.mark_done("new", "allowed")
    assert log.forget_older_than(timedelta(days=2)) == 1  # old-done only: old-open is unfinished work
    assert [item.post_key for item in log.unfinished()] == ["old-open"]
    assert log.accept("old-done", b"z")  # forgotten: accepted again
    assert not log.accept("new", b"y")


def test_concurrent_accepts_let_one_through(db: BotDatabase) -> None:
    log = WorkLog(db)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def accept() -> None:
        barrier.wait()
        results.append(log.accept("same", b"p"))

    threads = [threading.Thread(target=accept) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_offences_are_counted_per_poster_per_chat(db: BotDatabase) -> None:
    counter = OffenceCounter(db)
    assert counter.count(CHAT, "p1") == 0
    assert counter.add(CHAT, "p1") == 1
    assert counter.add(CHAT, "p1") == 2
    assert counter.add(CHAT, "p2") == 1
    assert counter.add(OTHER_CHAT, "p1") == 1
    assert counter.count(CHAT, "p1") == 2
    counter.reset(CHAT, "p1")
    assert counter.count(CHAT, "p1") == 0
    assert counter.count(OTHER_CHAT, "p1") == 1
    assert counter.add(CHAT, "p1") == 1


def test_concurrent_offences_are_all_counted(db: BotDatabase) -> None:
    counter = OffenceCounter(db)
    threads = [threading.Thread(target=counter.add, args=(CHAT, "p")) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.count(CHAT, "p") == 10


def test_a_batch_is_accepted_in_one_transaction_and_repeats_fail_alone(db: BotDatabase) -> None:
    log = WorkLog(db)
    assert log.accept("seen", b"old")
    batch = [("a", "", b"1"), ("seen", "", b"again"), ("b", "", b"2"), ("a", "", b"dup in batch")]
    assert log.accept_revisions(batch) == [True, False, True, False]
    assert sorted(log.unfinished()) == [("a", b"1"), ("b", b"2"), ("seen", b"old")]
    assert log.accept_revisions([]) == []


# -- leases: front-end replicas sharing one database --------------------------------------------------------


def test_a_replica_never_resumes_a_live_replicas_posts_only_a_dead_ones(
    db: BotDatabase, clock: MovableClock
) -> None:
    one = WorkLog(db, clock, owner="front-1", lease=timedelta(minutes=5))
    two = WorkLog(db, clock, owner="front-2", lease=timedelta(minutes=5))
    assert one.accept("p1", b"in flight in front-1")
    assert two.claim_unfinished() == []  # front-1 holds it
    clock.advance(minutes=4)
    assert one.renew_leases() == 1  # front-1 is alive and says so
    clock.advance(minutes=4)
    assert two.claim_unfinished() == []
    clock.advance(minutes=2)  # front-1 died 6 minutes ago: its lease ran out
    assert two.claim_unfinished() == [("p1", b"in flight in front-1")]
    assert one.claim_unfinished() == []  # now front-2's: front-1, back, does not take it back
    assert one.renew_leases() == 0


def test_a_restarted_front_end_resumes_its_own_posts_at_once(db: BotDatabase, clock: MovableClock) -> None:
    before = WorkLog(db, clock, owner="front-1")
    before.accept("p1", b"cut short by a crash")
    after = WorkLog(db, clock, owner="front-1")  # the same replica, restarted
    assert after.claim_unfinished() == [("p1", b"cut short by a crash")]
    assert WorkLog(db, clock, owner="front-2").claim_unfinished() == []


def test_two_replicas_claiming_at_once_take_each_item_once(db_url: str, clock: MovableClock) -> None:
    db = open_bot_database(db_url)
    try:
        dead = WorkLog(db, clock, owner="dead", lease=timedelta(seconds=1))
        for i in range(20):
            dead.accept(f"p{i}", b"x")
        clock.advance(seconds=2)
        replicas = [WorkLog(db, clock, owner=f"front-{i}") for i in range(4)]
        claimed: list[list[str]] = [[] for _ in replicas]
        start = threading.Barrier(len(replicas))

        def claim(i: int) -> None:
            start.wait()
            claimed[i] = [item.post_key for item in replicas[i].claim_unfinished()]

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(replicas))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        taken = [key for keys in claimed for key in keys]
        assert sorted(taken) == sorted(f"p{i}" for i in range(20))  # each once, none lost
    finally:
        db.close()
