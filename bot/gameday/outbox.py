"""The outbox: a game day's Slack messages are rows committed with the change that causes them, and
posted after the commit, outside every lock.

A transaction that wants a message posted calls ``Outbox.post``: a durable ``post`` timer, due now,
with what the message is about (the sender renders it from that and the game day when it sends).
Once the transaction commits, the thread that committed it claims that timer and posts at once; if it
cannot (Slack is down, the process dies), the timer service takes the timer like any other, with its
backoff, ceiling and surfacing (``bot/gameday/timer_outcomes``). A game day's posts go out in the order
they were committed: one whose elder is still owed waits for it, without counting an attempt. Each
message carries its intent's key in its Slack metadata: a retry looks for it in the thread before
posting again, so a crash between posting and recording never posts twice.

Once Slack has answered, a short second transaction records what the message's ``ts`` means (a page
sent, a line said...) and completes the timer. A step's message that is no longer wanted when its turn
comes (the game day ended, the page was acknowledged first) is not posted; the timeline says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.failpoints import crash_point
from bot.gameday.ports import Announcer, GameDayRecord, GameDayStore, GameDayTx, Timer
from bot.gameday.scenario import Scenario
from bot.gameday.scenario_file import cached_scenario
from bot.gameday.state import GameDayState, fold
from bot.gameday.timeline import Kind
from bot.gameday.timer_outcomes import TimerOutcomes
from bot.gameday.timer_types import TimerKind

log = logging.getLogger(__name__)
Payload = dict[str, Any]
IN_TURN_SECONDS = 0.001  # a post waiting for an older one is due just after it


@dataclass(frozen=True)
class PostKind:
    """One kind of message: how it is posted, what its ts records, and when it is no longer wanted.

    ``send(record, scenario, state, payload, key) -> ts`` posts it (tagged with ``key``);
    ``record(tx, scenario, state, payload, ts)`` writes what it means, under the game day's lock;
    ``unwanted(state, payload)`` is why it should not go out any more, or None."""

    send: Callable[[GameDayRecord, Scenario, GameDayState, Payload, str], str]
    record: Callable[[GameDayTx, Scenario, GameDayState, Payload, str], None] | None = None
    unwanted: Callable[[GameDayState, Payload], str | None] | None = None


def over(state: GameDayState, payload: Payload) -> str | None:
    """A step's message is moot once its game day has ended."""
    return "the game day ended before Slack took it" if state.status.is_over else None


@dataclass(eq=False)  # each one itself, by identity
class _Sending:
    gameday_id: str
    channel: str
    ts: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class InFlight:
    """Messages being sent or just taken by Slack whose recording transaction has not ended yet. Input
    about one (a click on it, a reply or command in its game day) waits for that transaction, so an
    acknowledgement finds its page on the timeline instead of arriving before it, and an end waits for
    the page its last step sent."""

    def __init__(self) -> None:
        self._sending: set[_Sending] = set()
        self._lock = threading.Lock()

    @contextmanager
    def sending(self, gameday_id: str, channel: str) -> Iterator[_Sending]:
        entry = _Sending(gameday_id, channel)
        with self._lock:
            self._sending.add(entry)
        try:
            yield entry
        finally:
            with self._lock:
                self._sending.discard(entry)
            entry.done.set()

    def wait(self, channel: str, ts: str, timeout: float) -> bool:
        """Wait for the recording of a message; False when none is in flight."""
        with self._lock:
            entry = next((e for e in self._sending if e.channel == channel and e.ts == ts), None)
        return entry is not None and entry.done.wait(timeout)

    def wait_for_gamedays(self, gameday_ids: Collection[str], timeout: float) -> None:
        """Wait (at most ``timeout`` in all) for every message in flight in these game days."""
        with self._lock:
            pending = [e.done for e in self._sending if e.gameday_id in gameday_ids]
        deadline = time.monotonic() + timeout
        for done in pending:
            done.wait(max(0.0, deadline - time.monotonic()))


class Outbox:
    """Messages as rows: ``post`` inside a transaction, ``deliver`` after it (at once, or as a timer)."""

    def __init__(
        self,
        announcer: Announcer,
        clock: Callable[[], float],
        on_timer_scheduled: Callable[[float], None],
    ):
        self.announcer = announcer
        self.now = clock
        self.on_timer_scheduled = on_timer_scheduled
        self.kinds: dict[str, PostKind] = {}
        self.in_flight = InFlight()
        self.store: GameDayStore | None = None  # set by the engine (attach)
        self.outcomes: TimerOutcomes | None = None
        self.settle: Callable[[GameDayTx, Scenario], None] = lambda tx, scenario: None

    def attach(
        self, store: GameDayStore, outcomes: TimerOutcomes, settle: Callable[[GameDayTx, Scenario], None]
    ) -> None:
        """The store the sender claims posts in and records them to; what follows each attempt; and
        what follows each record (a step's message out may be the last thing a game day waited for)."""
        self.store, self.outcomes, self.settle = store, outcomes, settle

    def register(self, what: str, kind: PostKind) -> None:
        self.kinds[what] = kind

    def post(self, tx: GameDayTx, key: str, what: str, payload: Payload | None = None) -> bool:
        """Commit a message with this transaction; it is posted once the transaction has committed.
        ``key`` is unique within the game day; a key posted before is left as it is (returns False)."""
        if what not in self.kinds:
            raise ValueError(f"no message kind {what!r}")
        full_key = f"{tx.record.id}:{key}"
        timer_key = f"post:{full_key}"
        due = self.now()
        new = tx.schedule(timer_key, due, TimerKind.POST, {**(payload or {}), "what": what, "key": full_key})
        if new:
            gameday_id = tx.record.id
            tx.after_commit(lambda: self.deliver_now(gameday_id, [timer_key], due))
        return new

    def deliver_now(self, gameday_id: str, timer_keys: list[str], due: float) -> None:
        """Right after the commit, in the committing thread: claim these posts and send them. One that
        fails stays with the timer service, which retries it with its backoff."""
        store, outcomes = self.store, self.outcomes
        if store is None or outcomes is None:
            self.on_timer_scheduled(due)
            return
        try:
            claimed = store.claim_timers(timer_keys)
        except Exception:
            log.warning("could not claim the posts of %s; the timer service will", gameday_id, exc_info=True)
            self.on_timer_scheduled(due)
            return
        for timer in claimed:
            try:
                self.deliver(timer)
            except Exception as error:
                self.on_timer_scheduled(outcomes.failed(timer, error))
                continue
            outcomes.ran(timer)

    def deliver(self, timer: Timer) -> None:
        """Send one claimed post (or find it, on a retry), then record its ts and complete its timer.
        Raises when Slack did not take it: the caller puts the timer back for a retry."""
        store = self.store
        assert store is not None
        earlier = store.earlier_post_due(timer.gameday_id, timer.id)
        if earlier is not None:  # in order: this one goes out after the older post still owed
            due = max(earlier, self.now()) + IN_TURN_SECONDS
            store.defer_timer(timer.id, due)
            self.on_timer_scheduled(due)
            return
        seen = store.peek(timer.gameday_id)
        if seen is None:  # not committed by this process lately: the database has it
            found = store.get(timer.gameday_id)
            if found is None:
                return
            seen = found, store.events(timer.gameday_id)
        record, events = seen
        payload = timer.payload
        kind = self.kinds[str(payload["what"])]
        key = str(payload["key"])
        scenario = cached_scenario(record.scenario_text)
        state = fold(events)
        why_not = kind.unwanted(state, payload) if kind.unwanted else None
        with self.in_flight.sending(record.id, record.channel) as sending:
            if why_not is None:
                if timer.attempts > 1:  # an earlier attempt may have posted it before failing or dying
                    sending.ts = self.announcer.find_posted(record, key)
                if sending.ts is None:
                    sending.ts = kind.send(record, scenario, state, payload, key)
                crash_point("post.sent")
            with store.transaction(timer.gameday_id) as tx:
                if sending.ts is None:
                    tx.append(Kind.POST_DROPPED, self.now(), None, {"key": key, "why": why_not})
                elif kind.record is not None:
                    kind.record(tx, scenario, fold(tx.events), payload, sending.ts)
                tx.complete_timer(timer.id)
                self.settle(tx, scenario)
