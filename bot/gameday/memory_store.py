"""An in-memory GameDayStore: the core's tests run on it in milliseconds.

It keeps the same promises as the SQL store: a transaction commits whole or not at all, timer keys
are unique, and a delivery id is recorded once.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from bot.gameday.ports import GameDayRecord, Timer, run_after_commit
from bot.gameday.running.timer_types import TimerKind, TimerState
from bot.gameday.timeline import Event, Kind


@dataclass
class _TimerRow:
    timer: Timer
    state: TimerState = TimerState.PENDING
    attempts: int = 0


@dataclass
class _MemoryTx:
    record: GameDayRecord
    committed_events: list[Event]
    store: MemoryStore
    new_events: list[Event] = field(default_factory=list)
    new_timers: list[Timer] = field(default_factory=list)
    claimed: list[Timer] = field(default_factory=list)  # new, and already claimed by the committing thread
    completed: list[int] = field(default_factory=list)
    deliveries: list[str] = field(default_factory=list)
    messages: dict[tuple[str, str], str] = field(default_factory=dict)
    cancel: bool = False
    hold: frozenset[str] = frozenset()
    release_shift: float | None = None
    after: list[Callable[[], None]] = field(default_factory=list)

    @property
    def events(self) -> list[Event]:
        return self.committed_events + self.new_events

    def append(
        self, kind: Kind, at: float, actor: str | None = None, data: dict[str, Any] | None = None
    ) -> Event:
        event = Event(len(self.events) + 1, kind, at, actor, dict(data or {}))
        self.new_events.append(event)
        return event

    def schedule(
        self, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> bool:
        if key in self.store.timer_keys or any(t.key == key for t in self.new_timers + self.claimed):
            return False
        self.new_timers.append(Timer(0, self.record.id, key, due_at, kind, dict(payload or {})))
        return True

    def schedule_claimed(
        self, key: str, due_at: float, kind: TimerKind, payload: dict[str, Any] | None = None
    ) -> Timer | None:
        if not self.schedule(key, due_at, kind, payload):
            return None
        timer = replace(self.new_timers.pop(), id=self.store.next_timer_id())
        self.claimed.append(timer)
        return timer

    def earlier_post_due(self, timer_id: int) -> float | None:
        return self.store.earlier_post_due(self.record.id, timer_id)

    def complete_timer(self, timer_id: int) -> None:
        self.completed.append(timer_id)

    def cancel_pending_timers(self) -> None:
        self.cancel = True  # the outbox's posts stay: a message committed is delivered
        self.new_timers[:] = [t for t in self.new_timers if t.kind == TimerKind.POST]

    def hold_pending_timers(self, kinds: frozenset[TimerKind]) -> None:
        self.hold = kinds

    def release_held_timers(self, shift: float) -> list[float]:
        self.release_shift = shift
        return [
            row.timer.due_at + shift
            for row in self.store.timers.values()
            if row.timer.gameday_id == self.record.id and row.state == TimerState.HELD
        ]

    def seen_delivery(self, delivery_id: str) -> bool:
        return delivery_id in self.store.deliveries or delivery_id in self.deliveries

    def seen_deliveries(self, delivery_ids: Sequence[str]) -> set[str]:
        return {d for d in delivery_ids if self.seen_delivery(d)}

    def record_delivery(self, delivery_id: str) -> None:
        self.deliveries.append(delivery_id)

    def index_message(self, target_id: str, channel: str, message_ts: str) -> None:
        self.messages[(channel, message_ts)] = target_id

    def after_commit(self, call: Callable[[], None]) -> None:
        self.after.append(call)


class MemoryStore:
    def __init__(self) -> None:
        self.records: dict[str, GameDayRecord] = {}
        self.timeline: dict[str, list[Event]] = {}
        self.timers: dict[int, _TimerRow] = {}
        self.timer_keys: set[str] = set()
        self.deliveries: set[str] = set()
        self.messages: dict[tuple[str, str], tuple[str, str]] = {}
        self.summaries: dict[str, tuple[int, dict[str, Any]]] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.RLock()
        self._timer_ids = itertools.count(1)

    def next_timer_id(self) -> int:
        with self._guard:
            return next(self._timer_ids)

    def create(self, record: GameDayRecord) -> None:
        with self._guard:
            self.records[record.id] = copy.deepcopy(record)
            self.timeline[record.id] = []
            self._locks[record.id] = threading.RLock()

    @contextmanager
    def transaction(self, gameday_id: str) -> Iterator[_MemoryTx]:
        with self.transactions([gameday_id]) as txs:
            yield txs[gameday_id]

    @contextmanager
    def transactions(self, gameday_ids: Sequence[str]) -> Iterator[dict[str, _MemoryTx]]:
        with ExitStack() as locks:
            for gameday_id in sorted(set(gameday_ids)):
                locks.enter_context(self._locks[gameday_id])
            txs = {
                gameday_id: _MemoryTx(
                    copy.deepcopy(self.records[gameday_id]), list(self.timeline[gameday_id]), self
                )
                for gameday_id in sorted(set(gameday_ids))
            }
            yield txs
            with self._guard:
                for tx in txs.values():
                    self._commit(tx)
        for tx in txs.values():
            run_after_commit(tx.after)

    def _commit(self, tx: _MemoryTx) -> None:
        gameday_id = tx.record.id
        self.records[gameday_id] = tx.record
        self.timeline[gameday_id].extend(tx.new_events)
        for timer_id in tx.completed:
            if timer_id in self.timers:
                self.timers[timer_id].state = TimerState.DONE
        for row in self.timers.values():
            if row.timer.gameday_id != gameday_id:
                continue
            if (
                tx.cancel
                and row.state in (TimerState.PENDING, TimerState.HELD)
                and row.timer.kind != TimerKind.POST
            ):
                row.state = TimerState.CANCELLED
            elif row.state == TimerState.PENDING and row.timer.kind in tx.hold:
                row.state = TimerState.HELD
            elif row.state == TimerState.HELD and tx.release_shift is not None:
                row.state = TimerState.PENDING
                row.timer = replace(row.timer, due_at=row.timer.due_at + tx.release_shift)
        for timer in tx.new_timers:
            timer_id = self.next_timer_id()
            self.timers[timer_id] = _TimerRow(replace(timer, id=timer_id))
            self.timer_keys.add(timer.key)
        for timer in tx.claimed:
            self.timers[timer.id] = _TimerRow(timer, TimerState.FIRING, timer.attempts)
            self.timer_keys.add(timer.key)
        self.deliveries.update(tx.deliveries)
        for key, target in tx.messages.items():
            self.messages[key] = (gameday_id, target)

    def get(self, gameday_id: str) -> GameDayRecord | None:
        record = self.records.get(gameday_id)
        return copy.deepcopy(record) if record else None

    def events(self, gameday_id: str) -> list[Event]:
        return list(self.timeline.get(gameday_id, []))

    def peek(self, gameday_id: str) -> tuple[GameDayRecord, list[Event]] | None:
        with self._guard:
            record = self.get(gameday_id)
            return (record, self.events(gameday_id)) if record else None

    def find_by_thread(self, channel: str, thread_ts: str) -> str | None:
        return next(
            (r.id for r in self.records.values() if r.channel == channel and r.thread_ts == thread_ts), None
        )

    def known_thread(self, channel: str, thread_ts: str) -> str | None:
        return self.find_by_thread(channel, thread_ts)

    def find_target(self, channel: str, message_ts: str) -> tuple[str, str] | None:
        return self.messages.get((channel, message_ts))

    def active_in_channel(self, channel: str) -> list[GameDayRecord]:
        over = {"completed", "aborted", "failed"}
        return [r for r in self.records.values() if r.channel == channel and r.status not in over]

    def active(self) -> list[GameDayRecord]:
        over = {"completed", "aborted", "failed"}
        return sorted((r for r in self.records.values() if r.status not in over), key=lambda r: r.created_at)

    def all(self) -> list[GameDayRecord]:
        return sorted(self.records.values(), key=lambda r: r.created_at)

    def run_summaries(
        self, scenario_id: str | None, channel: str | None = None
    ) -> list[tuple[str, dict[str, Any] | None]]:
        over = {"completed", "aborted", "failed"}
        with self._guard:
            finished = [
                r
                for r in self.all()
                if (scenario_id is None or r.scenario_id == scenario_id)
                and r.status in over
                and (channel is None or r.channel == channel)
                and self.timeline.get(r.id)
            ]
            found: list[tuple[str, dict[str, Any] | None]] = []
            for r in finished:
                kept = self.summaries.get(r.id)
                fresh = (
                    kept is not None
                    and kept[0] == len(self.timeline[r.id])
                    and all(kept[1].get(c) is not None for c in ("detected", "dry_run"))
                )
                summary = {**kept[1], "scenario": r.scenario_id, "created_at": r.created_at} if kept else {}
                found.append((r.id, summary if fresh else None))
            return found

    def save_run_summaries(self, summaries: Mapping[str, tuple[int, dict[str, Any]]]) -> None:
        with self._guard:
            self.summaries.update(summaries)

    def latest(self) -> GameDayRecord | None:
        return max(self.records.values(), key=lambda r: r.created_at, default=None)

    def claim_due_timers(self, now: float, limit: int = 50) -> list[Timer]:
        with self._guard:
            due = sorted(
                (
                    row
                    for row in self.timers.values()
                    if row.state == TimerState.PENDING and row.timer.due_at <= now
                ),
                key=lambda row: (row.timer.due_at, row.timer.id),
            )[:limit]
            for row in due:
                row.state = TimerState.FIRING
                row.timer = replace(row.timer, attempts=row.attempts + 1)
                row.attempts += 1
            return [row.timer for row in due]

    def defer_timer(self, timer_id: int, due_at: float) -> None:
        with self._guard:
            row = self.timers[timer_id]
            row.attempts = max(0, row.attempts - 1)
            row.state, row.timer = (
                TimerState.PENDING,
                replace(row.timer, due_at=due_at, attempts=row.attempts),
            )

    def earlier_post_due(self, gameday_id: str, timer_id: int) -> float | None:
        owed = (TimerState.PENDING, TimerState.FIRING)
        with self._guard:
            return min(
                (
                    row.timer.due_at
                    for row in self.timers.values()
                    if row.timer.gameday_id == gameday_id
                    and row.timer.kind == TimerKind.POST
                    and row.timer.id < timer_id
                    and row.state in owed
                ),
                default=None,
            )

    def release_timer(self, timer_id: int, retry_at: float) -> None:
        with self._guard:
            row = self.timers[timer_id]
            row.state, row.timer = TimerState.PENDING, replace(row.timer, due_at=retry_at)

    def next_due_at(self) -> float | None:
        pending = [row.timer.due_at for row in self.timers.values() if row.state == TimerState.PENDING]
        return min(pending, default=None)

    def renew_claims(self, timer_ids: list[int]) -> None:
        """Nothing to renew: this store's claims have no age (one process, reset at start)."""

    def reset_stale_timers(self, min_age: float = 10.0) -> int:
        with self._guard:
            stale = [row for row in self.timers.values() if row.state == TimerState.FIRING]
            for row in stale:
                row.state = TimerState.PENDING
            return len(stale)
