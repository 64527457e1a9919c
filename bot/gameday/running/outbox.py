"""The outbox: a game day's Slack messages are rows committed with the change that causes them, and
posted after the commit, outside every lock.

A transaction that wants a message posted calls ``Outbox.post``: a durable ``post`` timer, due now,
with what the message is about (the sender renders it from that and the game day when it sends).
The timer is committed already claimed by the thread that commits it, which posts at once after the
commit; if it cannot (Slack is down, the process dies), the timer service takes the timer like any
other, with its backoff, ceiling and surfacing (``bot/gameday/running/timer_outcomes``). A game
day's posts go out in the order they were committed: one whose elder is still owed waits for it,
without counting an attempt. Each message carries its intent's key in its Slack metadata: a retry
looks for it in the thread before posting again, so a crash between posting and recording never posts
twice.

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

from bot.gameday.folds import folded
from bot.gameday.ports import Announcer, GameDayRecord, GameDayStore, GameDayTx, Timer
from bot.gameday.running.timer_outcomes import TimerOutcomes
from bot.gameday.running.timer_types import TimerKind
from bot.gameday.scenario.loading import cached_scenario
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState
from bot.gameday.timeline import Kind
from bot.runtime.failpoints import crash_point

log = logging.getLogger(__name__)
Payload = dict[str, Any]
IN_TURN_SECONDS = 0.001  # a post waiting for an older one is due just after it
OWN_POSTS = "_outbox_posts"  # on a transaction: the keys of the posts it commits


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
    ts: set[str] = field(default_factory=set)
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
            entry = next((e for e in self._sending if e.channel == channel and ts in e.ts), None)
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
        due, body = self.now(), {**(payload or {}), "what": what, "key": full_key}
        if self.store is None:  # no sender attached: the timer service posts it
            new = tx.schedule(timer_key, due, TimerKind.POST, body)
            if new:
                tx.after_commit(lambda: self.on_timer_scheduled(due))
            return new
        # claimed already by this thread, in this transaction: no second commit to claim it after this
        # one, and no poller (woken by this commit) can take it first and queue it behind other work
        timer = tx.schedule_claimed(timer_key, due, TimerKind.POST, body)
        if timer is None:
            return False
        owned: list[Timer] | None = getattr(tx, OWN_POSTS, None)
        if owned is None:  # the transaction's first: its posts are sent together after its commit
            owned = []
            setattr(tx, OWN_POSTS, owned)
            sent, first = owned, tx.earlier_post_due(timer.id) is None  # first in line, known here
            tx.after_commit(lambda: self.deliver_now(sent, first))
        owned.append(timer)
        return True

    def deliver_now(self, claimed: list[Timer], first_in_line: bool = False) -> None:
        """Right after the commit, in the committing thread: send these posts, claimed by it, in order.
        ``first_in_line``: the transaction saw no older post of its game day owed, so none is now.
        One that fails stays with the timer service, which retries it with its backoff; those after it
        wait for it."""
        store, outcomes = self.store, self.outcomes
        assert store is not None and outcomes is not None
        try:
            recorded, tried, error = self._deliver(claimed, first_in_line)
        except Exception as exc:  # before any send (the database did not answer): all go back in line
            recorded, tried, error = 0, len(claimed), exc
        for timer in claimed[:recorded]:
            outcomes.ran(timer)
        if error is None:
            return
        retry_at = outcomes.failed(claimed[recorded], error)
        for n, timer in enumerate(claimed[recorded + 1 :], start=1):
            if recorded + n < tried:  # sent but not recorded: its retry looks for it first
                store.release_timer(timer.id, retry_at + n * IN_TURN_SECONDS)
            else:  # not tried: it waits for the one that failed, without counting an attempt
                store.defer_timer(timer.id, retry_at + n * IN_TURN_SECONDS)
        self.on_timer_scheduled(retry_at)

    def deliver(self, timer: Timer) -> None:
        """Send one claimed post (the timer service's way), or raise when Slack did not take it: the
        caller puts it back for a retry."""
        _, _, error = self._deliver([timer])
        if error is not None:
            raise error

    def _deliver(
        self, timers: list[Timer], first_in_line: bool = False
    ) -> tuple[int, int, BaseException | None]:
        """Send these claimed posts of one game day in order (or find each, on a retry), then record
        the ts of those sent in one transaction and complete their timers. Returns how many were
        recorded, how many were tried (sent, or failed), and the error that stopped the rest."""
        store = self.store
        assert store is not None
        if not timers:
            return 0, 0, None
        gameday_id = timers[0].gameday_id
        earlier = None if first_in_line else store.earlier_post_due(gameday_id, min(t.id for t in timers))
        if earlier is not None:  # in order: these go out after the older post still owed
            for n, timer in enumerate(timers, start=1):
                store.defer_timer(timer.id, max(earlier, self.now()) + n * IN_TURN_SECONDS)
            self.on_timer_scheduled(max(earlier, self.now()))
            return 0, 0, None
        seen = store.peek(gameday_id)
        if seen is None:  # not committed by this process lately: the database has it
            found = store.get(gameday_id)
            if found is None:
                return 0, 0, None
            seen = found, store.events(gameday_id)
        record, events = seen
        scenario = cached_scenario(record.scenario_text)
        state = folded(record.id, events)
        done: list[tuple[Timer, str | None, str | None]] = []  # (timer, ts, why not sent)
        error: BaseException | None = None
        with self.in_flight.sending(record.id, record.channel) as sending:
            for timer in timers:
                kind = self.kinds[str(timer.payload["what"])]
                why_not = kind.unwanted(state, timer.payload) if kind.unwanted else None
                ts = None
                if why_not is None:
                    try:
                        ts = self._send(record, scenario, state, timer, kind)
                    except Exception as exc:
                        error = exc
                        break
                    sending.ts.add(ts)
                done.append((timer, ts, why_not))
            tried = len(done) + (error is not None)
            if done:
                try:
                    self._record(record.id, scenario, done)
                except Exception as exc:  # the ones sent are found again, not posted again, on retry
                    return 0, tried, exc
        return len(done), tried, error

    def _send(
        self, record: GameDayRecord, scenario: Scenario, state: GameDayState, timer: Timer, kind: PostKind
    ) -> str:
        key = str(timer.payload["key"])
        ts = self.announcer.find_posted(record, key) if timer.attempts > 1 else None  # posted, then died?
        if ts is None:
            ts = kind.send(record, scenario, state, timer.payload, key)
        crash_point("post.sent")
        return ts

    def _record(
        self, gameday_id: str, scenario: Scenario, done: list[tuple[Timer, str | None, str | None]]
    ) -> None:
        store = self.store
        assert store is not None
        with store.transaction(gameday_id) as tx:
            for timer, ts, why_not in done:
                kind = self.kinds[str(timer.payload["what"])]
                if ts is None:
                    data = {"key": timer.payload["key"], "why": why_not}
                    tx.append(Kind.POST_DROPPED, self.now(), None, data)
                elif kind.record is not None:
                    kind.record(tx, scenario, folded(gameday_id, tx.events), timer.payload, ts)
                tx.complete_timer(timer.id)
            self.settle(tx, scenario)
