"""An escalation is measured against its timeout: never early, on time, and moved by exactly the time
the game day spent paused. On every store, with the virtual clock; the expected instants are worked out
by hand in each test, not read from the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from core_harness import CoreHarness
from databases import STORES, make_store

from bot.gameday.running.poller import fire_due_timers
from bot.gameday.timeline import Kind

ROSTER = {"primary": "U1", "secondary": "U2"}
SCENARIO = json.dumps(
    {
        "id": "escalation-timing",
        "title": "Escalation timing",
        "charter": {"objective": "o", "hypothesis": "h"},
        "guardrails": {"max_duration": "1h"},
        "oncall": {"primary": "@primary", "secondary": "@secondary", "escalate_after": "5m"},
        "steps": [{"at": 0, "page": {"severity": "SEV-2", "summary": "s", "to": "@primary"}}],
    }
)
JUST_BEFORE = 0.001  # a millisecond: the instant before the due time


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def start(h: CoreHarness) -> tuple[str, float]:
    """A game day whose one step pages the primary at once; returns it and the page's time."""
    gameday = h.engine.start(SCENARIO, "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    fire_due_timers(h.store, h.engine, h.clock.now())
    return gameday, h.page_ts(gameday, "p0")


def at(h: CoreHarness, instant: float) -> None:
    """Move the virtual clock to ``instant`` exactly and fire what is due then."""
    h.clock.advance(instant - h.clock.now())
    fire_due_timers(h.store, h.engine, h.clock.now())


def escalations(h: CoreHarness, gameday: str) -> list[float]:
    return [e.at for e in h.store.events(gameday) if e.kind is Kind.ESCALATED]


def test_escalates_exactly_at_five_minutes_never_before(h: CoreHarness) -> None:
    gameday, paged = start(h)
    at(h, paged + 60)
    at(h, paged + 300 - JUST_BEFORE)
    assert escalations(h, gameday) == []
    at(h, paged + 300)
    assert escalations(h, gameday) == [pytest.approx(paged + 300, abs=1e-6)]


def test_a_two_minute_pause_moves_the_escalation_to_seven_minutes(h: CoreHarness) -> None:
    gameday, paged = start(h)
    at(h, paged + 60)
    assert h.engine.pause(gameday, "UFAC").ok
    at(h, paged + 180)  # 2 minutes paused; the 5 minutes would have ended at paged + 300 meanwhile...
    assert h.engine.resume(gameday, "UFAC").ok
    at(h, paged + 300)  # ...but the clock stood still for 2 of them
    at(h, paged + 420 - JUST_BEFORE)
    assert escalations(h, gameday) == []
    at(h, paged + 420)  # 1 min before the pause + 4 min after it = 5 min of game-day time
    assert escalations(h, gameday) == [pytest.approx(paged + 420, abs=1e-6)]


def test_a_pause_past_the_due_time_leaves_the_remaining_minute_after_resume(h: CoreHarness) -> None:
    gameday, paged = start(h)
    at(h, paged + 240)  # 1 minute left
    assert h.engine.pause(gameday, "UFAC").ok
    at(h, paged + 300)
    at(h, paged + 600)  # long past the 5 minutes on the wall clock: held, nothing fires
    assert escalations(h, gameday) == []
    assert h.engine.resume(gameday, "UFAC").ok  # resumed at paged + 600 after 360 s paused
    at(h, paged + 660 - JUST_BEFORE)
    assert escalations(h, gameday) == []
    at(h, paged + 660)  # the minute that was left, after the resume
    assert escalations(h, gameday) == [pytest.approx(paged + 660, abs=1e-6)]


def test_paused_at_the_due_instant_it_fires_right_at_resume(h: CoreHarness) -> None:
    gameday, paged = start(h)
    h.clock.advance(paged + 300 - h.clock.now())  # due now, but the pause comes before the poller looks
    assert h.engine.pause(gameday, "UFAC").ok
    fire_due_timers(h.store, h.engine, h.clock.now())
    at(h, paged + 400)
    assert escalations(h, gameday) == []
    assert h.engine.resume(gameday, "UFAC").ok
    fire_due_timers(h.store, h.engine, h.clock.now())  # nothing was left of its 5 minutes
    assert escalations(h, gameday) == [pytest.approx(paged + 400, abs=1e-6)]


def test_an_acknowledgement_just_before_the_timeout_escalates_nothing(h: CoreHarness) -> None:
    gameday, paged = start(h)
    at(h, paged + 300 - JUST_BEFORE)
    assert h.engine.acknowledge(gameday, "U1", h.clock.now(), h.delivery()).ok
    at(h, paged + 900)
    assert escalations(h, gameday) == []
