"""Posting a step's message before its lock, then claiming that post inside the transaction.

A timer whose only outside effect is one keyed Slack post (a ``say``, a page, a handoff, an
escalation, a log line) runs twice. First on a scratch copy of its game day, read without the lock:
its posts go out for real and are remembered in ``Ahead``. Then as always, in its locked transaction:
each post finds the one made ahead of it (same key, same content) and takes its ts instead of posting
again. The lock is held for the database work alone, never for a Slack round trip, so a step's
message leaves when it is due even while other game days' steps commit.

What the locked run no longer wants (the game day was paused or ended in between, the roster changed)
is withdrawn. If the transaction fails, nothing is withdrawn: the timer is retried as a replay, and
the replay's ``find_posted`` finds the posts made ahead, so nothing is posted twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from bot.gameday.ports import GameDayRecord
from bot.gameday.timeline import Event, Kind

What = tuple[object, ...]  # what a post says, in the terms its content is made of


@dataclass
class Ahead:
    """The posts a timer made before its lock: full key -> (what it said, its ts)."""

    made: dict[str, tuple[What, str]] = field(default_factory=dict)
    locked: bool = False  # False while the scratch run posts, True once the transaction claims
    posted: list[tuple[str, str]] = field(default_factory=list)  # (channel, ts) of every post made ahead

    def leftovers(self) -> list[tuple[What, str]]:
        """Posts the locked run did not claim (to withdraw once it has committed)."""
        left = list(self.made.values())
        self.made.clear()
        return left


class InFlight:
    """Messages posted ahead whose transaction has not ended yet. Input that could be about one (a
    click or reaction on it, a reply or command in its game day) waits for that transaction, so an
    acknowledgement finds its page on the timeline instead of arriving before it."""

    def __init__(self) -> None:
        self._ended: dict[tuple[str, str], tuple[str, threading.Event]] = {}  # (channel, ts) -> game day
        self._lock = threading.Lock()

    def add(self, gameday_id: str, channel: str, ts: str) -> None:
        with self._lock:
            self._ended[(channel, ts)] = (gameday_id, threading.Event())

    def end(self, messages: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            ended = [self._ended.pop(message, None) for message in messages]
        for entry in ended:
            if entry is not None:
                entry[1].set()

    def wait(self, channel: str, ts: str, timeout: float) -> bool:
        """Wait for the transaction of a message posted ahead; False when none is in flight."""
        with self._lock:
            entry = self._ended.get((channel, ts))
        return entry is not None and entry[1].wait(timeout)

    def wait_for_gamedays(self, gameday_ids: Collection[str], timeout: float) -> None:
        """Wait (at most ``timeout`` in all) for every post in flight in these game days."""
        with self._lock:
            pending = [event for gameday_id, event in self._ended.values() if gameday_id in gameday_ids]
        deadline = time.monotonic() + timeout
        for event in pending:
            event.wait(max(0.0, deadline - time.monotonic()))


_ahead: ContextVar[Ahead | None] = ContextVar("sce_posting_ahead", default=None)


@contextmanager
def posting(ahead: Ahead) -> Iterator[Ahead]:
    """Posts made by this thread inside the block go through ``ahead``."""
    token = _ahead.set(ahead)
    try:
        yield ahead
    finally:
        _ahead.reset(token)


def current() -> Ahead | None:
    return _ahead.get()


class ScratchTx:
    """A GameDayTx over a snapshot of one game day that keeps nothing: the scratch run's events,
    timers and index entries are dropped with it."""

    def __init__(self, record: GameDayRecord, events: list[Event]):
        self.record = record
        self._events = list(events)

    @property
    def events(self) -> list[Event]:
        return self._events

    def append(
        self, kind: Kind, at: float, actor: str | None = None, data: dict[str, Any] | None = None
    ) -> Event:
        event = Event(len(self._events) + 1, kind, at, actor, dict(data or {}))
        self._events.append(event)
        return event

    def schedule(self, key: str, due_at: float, kind: str, payload: dict[str, Any] | None = None) -> None:
        pass

    def complete_timer(self, timer_id: int) -> None:
        pass

    def cancel_pending_timers(self) -> None:
        pass

    def hold_pending_timers(self, kinds: frozenset[str]) -> None:
        pass

    def release_held_timers(self, shift: float) -> list[float]:
        return []

    def seen_delivery(self, delivery_id: str) -> bool:
        return False

    def seen_deliveries(self, delivery_ids: Sequence[str]) -> set[str]:
        return set()

    def record_delivery(self, delivery_id: str) -> None:
        pass

    def index_message(self, target_id: str, channel: str, message_ts: str) -> None:
        pass

    def after_commit(self, call: Callable[[], None]) -> None:
        pass
