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

from core_harness import CoreHarness
from recording_announcer import RecordingAnnouncer

from bot.faults.simulated import SimulatedDriver
from bot.gameday.clock import SystemClock
from bot.gameday.memory_store import MemoryStore
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
