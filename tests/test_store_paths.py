"""The store's fast paths keep its promises: a cached timeline never hides what another replica wrote,
SQLite's writers queue without losing the lock, after-commit calls follow only commits, and a claim
that is renewed is never taken back as stale."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
from databases import POSTGRES_URL, STORES, database_url, make_store

from bot.gameday.ports import GameDayRecord
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.timeline import Kind
from storage.database import make_engine, migrate
from storage.sql_store import SqlStore

SQL = [s for s in STORES if s != "memory"]


def record(gameday_id: str) -> GameDayRecord:
    return GameDayRecord(gameday_id, "s", "id: s", "h", "C1", "UFAC", {}, time.time())


def two_replicas(kind: str, tmp_path: Path) -> tuple[SqlStore, SqlStore]:
    url = database_url(kind, tmp_path)
    first = make_engine(url)
    migrate(first)
    return SqlStore(first), SqlStore(make_engine(url))


@pytest.mark.parametrize("kind", SQL)
def test_a_cached_timeline_still_sees_what_another_replica_appended(kind: str, tmp_path: Path) -> None:
    a, b = two_replicas(kind, tmp_path)
    a.create(record("gd-1"))
    with a.transaction("gd-1") as tx:
        tx.append(Kind.STARTED, 1.0, "UFAC", {"status": "running"})
    with a.transaction("gd-1") as tx:  # a has the timeline cached now
        tx.append(Kind.NOTE, 2.0, "U1", {"kind": "note", "text": "from a"})
    for i in range(3):
        with b.transaction("gd-1") as tx:
            tx.append(Kind.NOTE, 3.0 + i, "U2", {"kind": "note", "text": f"from b {i}"})
    with a.transaction("gd-1") as tx:
        texts = [e.data.get("text") for e in tx.events]
        assert [e.seq for e in tx.events] == [1, 2, 3, 4, 5]
        tx.append(Kind.NOTE, 9.0, "U1", {"kind": "note", "text": "a again"})
    assert texts == [None, "from a", "from b 0", "from b 1", "from b 2"]
    assert [e.seq for e in b.events("gd-1")] == [1, 2, 3, 4, 5, 6]
    assert [e.data.get("text") for e in a.events("gd-1")][-1] == "a again"


@pytest.mark.parametrize("kind", SQL)
def test_peek_shows_this_replicas_last_commit_without_asking_the_database(kind: str, tmp_path: Path) -> None:
    a, b = two_replicas(kind, tmp_path)
    a.create(record("gd-1"))
    assert a.peek("gd-1") is None  # never committed here: the caller asks the database
    with a.transaction("gd-1") as tx:
        tx.append(Kind.STARTED, 1.0, "UFAC", {"status": "running"})
        tx.record.thread_ts = "100.000001"
    with b.transaction("gd-1") as tx:
        tx.append(Kind.NOTE, 2.0, "U2", {"kind": "note", "text": "from b"})
        tx.record.status = "paused"
    a.engine.dispose()  # no connection is needed for a peek
    seen = a.peek("gd-1")
    assert seen is not None
    peeked, events = seen
    assert (peeked.thread_ts, peeked.status) == ("100.000001", "running")  # behind b, as documented
    assert [e.kind for e in events] == [Kind.STARTED]
    peeked.roster["primary"] = "U9"
    events.clear()
    again = a.peek("gd-1")
    assert again is not None and again[0].roster == {} and len(again[1]) == 1  # copies, not the cache


@pytest.mark.parametrize("kind", SQL)
def test_a_rolled_back_transaction_leaves_nothing_behind_in_the_cache(kind: str, tmp_path: Path) -> None:
    store = make_store(kind, tmp_path)
    store.create(record("gd-1"))
    with store.transaction("gd-1") as tx:
        tx.append(Kind.STARTED, 1.0, "UFAC", {"status": "running"})
    with pytest.raises(RuntimeError), store.transaction("gd-1") as tx:
        tx.append(Kind.NOTE, 2.0, "U1", {"kind": "note", "text": "never"})
        tx.record_delivery("event:x")
        raise RuntimeError("boom")
    with store.transaction("gd-1") as tx:
        assert [e.kind for e in tx.events] == [Kind.STARTED]
        assert not tx.seen_delivery("event:x")
        tx.append(Kind.NOTE, 3.0, "U1", {"kind": "note", "text": "kept"})
    assert [e.seq for e in store.events("gd-1")] == [1, 2]


@pytest.mark.parametrize("kind", STORES)
def test_after_commit_calls_run_after_a_commit_and_never_after_a_rollback(kind: str, tmp_path: Path) -> None:
    store = make_store(kind, tmp_path)
    store.create(record("gd-1"))
    calls: list[str] = []
    with store.transaction("gd-1") as tx:
        tx.after_commit(lambda: calls.append(f"committed with {len(store.events('gd-1'))} events"))
        tx.after_commit(
            cast("Callable[[], None]", lambda: 1 / 0)
        )  # a failing call is logged; the next still runs
        tx.after_commit(lambda: calls.append("second"))
        tx.append(Kind.STARTED, 1.0, "UFAC", {"status": "running"})
        assert calls == []
    assert calls == ["committed with 1 events", "second"]
    with pytest.raises(RuntimeError), store.transaction("gd-1") as tx:
        tx.after_commit(lambda: calls.append("rolled back"))
        raise RuntimeError("boom")
    assert calls == ["committed with 1 events", "second"]


@pytest.mark.parametrize("kind", STORES)
def test_a_timer_committed_claimed_is_its_committers_until_its_process_is_gone(
    kind: str, tmp_path: Path
) -> None:
    store = make_store(kind, tmp_path)
    store.create(record("gd-1"))
    with store.transaction("gd-1") as tx:
        first = tx.schedule_claimed("post:gd-1:a", 1.0, TimerKind.POST, {"what": "say"})
        second = tx.schedule_claimed("post:gd-1:b", 1.0, TimerKind.POST, {"what": "say"})
        assert tx.schedule_claimed("post:gd-1:a", 1.0, TimerKind.POST) is None  # a key is unique
        assert first is not None and second is not None
        assert (first.attempts, first.payload) == (1, {"what": "say"})
        assert 0 < first.id < second.id  # ids in the order they were committed: the posts' order
    with pytest.raises(RuntimeError), store.transaction("gd-1") as tx:
        tx.schedule_claimed("post:gd-1:rolled-back", 1.0, TimerKind.POST)
        raise RuntimeError("boom")
    with store.transaction("gd-1") as tx:
        assert not tx.schedule("post:gd-1:b", 1.0, TimerKind.POST)  # committed: its key is taken
        assert tx.earlier_post_due(first.id) is None  # read in the transaction, as the store reads it
        assert tx.earlier_post_due(second.id) == 1.0
    assert store.claim_due_timers(100.0) == []  # the poller, woken by the commit, finds nothing to take
    assert store.earlier_post_due("gd-1", second.id) == 1.0  # still owed while its thread sends it
    time.sleep(0.05)
    assert store.reset_stale_timers(min_age=0.01) == 2  # its process died: both are owed again
    again = store.claim_due_timers(100.0)
    assert [(t.id, t.key, t.attempts) for t in again] == [
        (first.id, "post:gd-1:a", 2),
        (second.id, "post:gd-1:b", 2),
    ]


def test_sqlite_writers_queue_and_a_failed_transaction_frees_the_lock(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    assert isinstance(store, SqlStore)
    for i in range(4):
        store.create(record(f"gd-{i}"))
    with pytest.raises(RuntimeError), store.transaction("gd-0"):
        raise RuntimeError("boom")
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for n in range(25):
                with store.transaction(f"gd-{i}") as tx:
                    tx.append(Kind.NOTE, float(n), "U1", {"kind": "note", "text": str(n)})
                assert store.get(f"gd-{i}") is not None  # reads take and give back the lock too
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert all(len(store.events(f"gd-{i}")) == 25 for i in range(4))


@pytest.mark.skipif(not POSTGRES_URL, reason="claims age against other replicas only on PostgreSQL")
def test_a_renewed_claim_is_not_taken_back_as_stale(tmp_path: Path) -> None:
    store = make_store("postgres", tmp_path)
    assert isinstance(store, SqlStore)
    store.create(record("gd-1"))
    with store.transaction("gd-1") as tx:
        tx.schedule("gd-1:a", 1.0, TimerKind.STEP)
        tx.schedule("gd-1:b", 1.0, TimerKind.STEP)
    claimed = store.claim_due_timers(2.0)
    assert len(claimed) == 2
    time.sleep(0.3)
    store.renew_claims([claimed[0].id])
    assert store.reset_stale_timers(min_age=0.2) == 1  # the one not renewed: its process is gone
    again = store.claim_due_timers(2.0)
    assert [t.id for t in again] == [claimed[1].id]


def test_sqlite_reads_do_not_wait_for_a_transaction_holding_the_write_lock(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    store.create(record("gd-1"))
    with store.transaction("gd-1") as tx:
        tx.append(Kind.STARTED, 1.0, "UFAC", {"status": "running"})
    read: list[object] = []

    def reader() -> None:
        read.append(store.get("gd-1"))
        read.append(len(store.events("gd-1")))

    with store.transaction("gd-1") as tx:  # holds the one write lock, as a step posting to Slack does
        tx.append(Kind.NOTE, 2.0, "U1", {"kind": "note", "text": "not committed yet"})
        thread = threading.Thread(target=reader)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "a read waited for the write lock"
    assert read[1] == 1  # the last commit, not the transaction still open
