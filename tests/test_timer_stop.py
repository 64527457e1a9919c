"""Stopping the timer service while its wake-up is due leaves no error in APScheduler's thread.

The wake-up is a one-shot job: the scheduler's pass that runs it then removes it. APScheduler's own
``shutdown()`` marks the scheduler stopped before it takes its job stores' lock, so a pass in flight
looked for that job among the pending ones only and failed in the scheduler's thread
(``JobLookupError``), an unhandled exception in a process that was stopping cleanly. Here the wake-up
falls due again and again just as the service stops.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator

import pytest
from recording_announcer import RecordingAnnouncer

from bot.faults.simulated import SimulatedDriver
from bot.gameday.clock import SystemClock
from bot.gameday.memory_store import MemoryStore
from bot.gameday.running.engine import Engine
from bot.integrations.http_caller import RequestsCaller
from bot.runtime.timer_service import TimerService

ROUNDS = 150


@pytest.fixture
def thread_errors() -> Iterator[list[BaseException | None]]:
    errors: list[BaseException | None] = []
    before = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        yield errors
    finally:
        threading.excepthook = before


def test_a_wake_up_due_as_the_service_stops_raises_nothing_in_the_schedulers_thread(
    thread_errors: list[BaseException | None],
) -> None:
    clock, store = SystemClock(), MemoryStore()
    engine = Engine(
        store, RecordingAnnouncer(clock.now), clock.now, SimulatedDriver(), frozenset(), http=RequestsCaller()
    )
    pick = random.Random(21)
    for _ in range(ROUNDS):
        timers = TimerService(store, engine, clock, workers=1)
        timers.start()
        timers.wake_at(clock.now())  # due at once: the one-shot wake-up runs as the service stops
        time.sleep(pick.uniform(0, 0.002))
        timers.stop(timeout=2)  # joins the scheduler's thread, where the error would be raised
    assert thread_errors == []
