"""Two ways a step is not made late by the poller's own work.

- On the wall clock a timer is claimed ``claim_ahead`` before it is due and its lane waits for the moment:
  the claim's round trip and the hand-over are done by then, and the step still never runs early.
- The others a poll looks after (scheduled starts, the reaper, the halt) run once the poll has let go of
  its lock: a slow pass of theirs never holds up the claim of a step that falls due meanwhile.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from core_harness import CoreHarness
from recording_announcer import RecordingAnnouncer

from bot.faults.simulated import SimulatedDriver
from bot.gameday.clock import SystemClock
from bot.gameday.memory_store import MemoryStore
from bot.gameday.ports import Timer
from bot.gameday.running.engine import Engine
from bot.gameday.timeline import Kind
from bot.integrations.http_caller import RequestsCaller
from bot.runtime.timer_service import TimerService

ROSTER = {"primary": "U1", "secondary": "U2"}


def scenario(at: float) -> str:
    return json.dumps(
        {
            "id": "claims",
            "title": "Claims",
            "charter": {"objective": "o", "hypothesis": "h"},
            "guardrails": {"max_duration": "1h"},
            "oncall": {"escalate_after": None},
            "steps": [{"at": at, "say": "on time"}],
        }
    )


def test_a_step_claimed_ahead_is_claimed_before_its_moment_and_runs_at_it_never_before() -> None:
    clock, store = SystemClock(), MemoryStore()
    announcer = RecordingAnnouncer(clock.now)
    engine = Engine(store, announcer, clock.now, SimulatedDriver(), frozenset(), http=RequestsCaller())
    gameday = engine.start(scenario(0.5), "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    (started,) = [e.at for e in store.events(gameday) if e.kind is Kind.STARTED]
    due = started + 0.5
    timers = TimerService(store, engine, clock, workers=1, claim_ahead=0.4)
    try:
        while clock.now() < due - 0.3:  # inside the lead, well before the moment
            time.sleep(0.01)
        assert timers.poll(wait=False) == 1  # claimed ahead: without the lead nothing is due yet
        claimed_at = clock.now()
        assert claimed_at < due
        assert timers.lanes.drain(5)
    finally:
        timers.stop()
    said = [e for e in store.events(gameday) if e.kind is Kind.STEP_RAN]
    assert len(said) == 1 and said[0].at >= due, (said, due)  # its moment, not the claim's
    assert ("say", "on time") in announcer.posts


def test_without_a_lead_a_step_not_yet_due_is_not_claimed() -> None:
    clock, store = SystemClock(), MemoryStore()
    engine = Engine(
        store, RecordingAnnouncer(clock.now), clock.now, SimulatedDriver(), frozenset(), http=RequestsCaller()
    )
    assert engine.start(scenario(30), "C1", "UFAC", ROSTER).gameday_id
    timers = TimerService(store, engine, clock, workers=1)
    try:
        assert timers.poll(wait=False) == 0
    finally:
        timers.stop()


class SlowOthers:
    """Scheduled starts that take their time: the first pass holds until released."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()

    def run_due(self, now: float) -> int:
        if not self.inside.is_set():
            self.inside.set()
            self.release.wait(10)
        return 0

    def next_due_at(self) -> float | None:
        return None

    def recover(self) -> None:
        return None


def test_a_slow_pass_of_the_others_does_not_hold_up_the_claim_of_a_step_due_meanwhile() -> None:
    h = CoreHarness()
    assert h.engine.start(scenario(10), "C1", "UFAC", ROSTER).gameday_id
    timers = TimerService(h.store, h.engine, h.clock, workers=1)
    others = SlowOthers()
    timers.others.append(others)
    safety = threading.Thread(target=timers._wake, kwargs={"others": True})  # the safety interval's pass
    try:
        safety.start()
        assert others.inside.wait(5)  # the others' pass is under way, and holds
        h.clock.advance(11)  # the step falls due meanwhile
        claimed = threading.Thread(target=timers._wake)  # its wake-up
        claimed.start()
        claimed.join(5)
        assert not claimed.is_alive()  # it did not wait for the others' pass
        assert timers.lanes.drain(5)
        assert not others.release.is_set()  # still holding: the step ran beside it
        assert any(kind == "say" for kind, _ in h.announcer.posts)
    finally:
        others.release.set()
        safety.join(5)
        timers.stop()


class DueOthers(SlowOthers):
    """Others always due by their own time (a scheduled start late for its slot); the second pass holds."""

    def __init__(self, now: Callable[[], float]) -> None:
        super().__init__()
        self.now = now
        self.passes = 0

    def run_due(self, now: float) -> int:
        self.passes += 1
        if self.passes == 2:
            self.inside.set()
            self.release.wait(10)
        return 0

    def next_due_at(self) -> float | None:
        return self.now() - 1


def test_while_the_others_run_the_poller_does_not_spin_on_their_due_time() -> None:
    h = CoreHarness()
    timers = TimerService(h.store, h.engine, h.clock, workers=1, safety_interval=60)
    others = DueOthers(h.clock.now)
    timers.others.append(others)
    polls = 0
    claim = h.store.claim_due_timers

    def counted(now: float, limit: int = 50) -> list[Timer]:
        nonlocal polls
        polls += 1
        return claim(now, limit)

    h.store.claim_due_timers = counted  # type: ignore[method-assign]  # counts the polls, changes nothing
    timers.poll(wait=False)  # the first pass: the others' due time is now known, and already past
    try:
        timers.start()  # the safety pass at once: the others are due, and their second pass holds
        assert others.inside.wait(5)
        before = polls
        time.sleep(0.3)  # wall time: the wake-ups a spin would schedule are real ones
        assert polls - before <= 2, polls - before  # not a poll after poll for the whole pass
    finally:
        others.release.set()
        timers.stop()
