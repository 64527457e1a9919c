"""The game-day state machine on a virtual clock: steps, pages, acks, escalation, handoff, finish."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_harness import CoreHarness, scenario_text
from databases import STORES, make_store

from bot.gameday.state import Status, fold
from bot.gameday.timeline import Kind

ROSTER = {"primary": "U1", "secondary": "U2"}


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def start(h: CoreHarness) -> str:
    outcome = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER)
    assert outcome.ok and outcome.gameday_id
    return outcome.gameday_id


def test_scripted_pager_stress_validates_the_hypothesis(h: CoreHarness) -> None:
    gd = start(h)
    t_start = h.clock.now()
    h.advance_to(t_start + 1)
    p0 = h.page_ts(gd, "p0")
    h.advance_to(p0 + 90)
    assert h.engine.acknowledge(gd, "U1", p0 + 90, h.delivery()).ok
    h.engine.mark(gd, Kind.DETECTED, "U1", p0 + 150, h.delivery())
    h.advance_to(t_start + 4 * 60 + 1)
    p2 = h.page_ts(gd, "p2")
    h.advance_to(p2 + 3 * 60 + 1)  # primary stays silent: escalation to the secondary
    state = fold(h.store.events(gd))
    assert state.pages["p2"].escalated_to == "U2"
    h.engine.acknowledge(gd, "U2", p2 + 225, h.delivery())
    h.advance_to(t_start + 8 * 60 + 1)
    handoff = fold(h.store.events(gd)).handoffs[0]
    assert handoff.from_user == "U1" and handoff.to_user == "U2" and handoff.page_ids == ["p0"]
    h.engine.acknowledge(gd, "U2", handoff.requested_at + 120, h.delivery())
    h.engine.add_note(
        gd, "gap", "no step for revoking the token", "U2", handoff.requested_at + 130, h.delivery()
    )
    h.engine.mark(gd, Kind.CONTAINED, "U2", p0 + 12 * 60, h.delivery())
    debrief = h.posted_debrief()
    assert debrief.status == "completed"
    assert debrief.verdict == "validated", debrief.expectations
    ttas = {p.id: p.tta_seconds for p in debrief.pages}
    tta0, tta2 = ttas["p0"], ttas["p2"]
    assert tta0 is not None and tta2 is not None
    assert abs(tta0 - 90) < 1e-6 and abs(tta2 - 225) < 1e-6
    assert debrief.handoffs[0].latency_seconds is not None
    assert abs(debrief.handoffs[0].latency_seconds - 120) < 1e-6
    assert [g.text for g in debrief.gaps] == ["no step for revoking the token"]
    assert debrief.pages[1].escalated and not debrief.pages[0].escalated


def test_each_step_runs_once_even_when_a_timer_fires_twice(h: CoreHarness) -> None:
    gd = start(h)
    h.advance_to(h.clock.now() + 61)
    from bot.gameday.ports import Timer
    from bot.gameday.running.timer_types import TimerKind

    h.engine.fire(Timer(-1, gd, f"{gd}:step:1", 0.0, TimerKind.STEP, {"step": 1}))  # a replay after a crash
    kinds = [e.kind for e in h.store.events(gd)]
    assert kinds.count(Kind.SAID) == 1
    assert [e.data["step"] for e in h.store.events(gd) if e.kind is Kind.STEP_RAN] == [0, 1]


def test_a_retried_delivery_changes_nothing(h: CoreHarness) -> None:
    gd = start(h)
    h.advance_to(h.clock.now() + 1)
    first = h.engine.add_note(gd, "gap", "runbook link is dead", "U1", h.clock.now(), "Ev1")
    again = h.engine.add_note(gd, "gap", "runbook link is dead", "U1", h.clock.now(), "Ev1")
    assert first.ok and again.message == "already recorded"
    assert sum(1 for e in h.store.events(gd) if e.kind is Kind.NOTE) == 1


def test_silence_misses_expectations_and_the_time_box_ends_it(h: CoreHarness) -> None:
    start(h)
    h.advance_to(h.clock.now() + 31 * 60, step=15)
    debrief = h.posted_debrief()
    assert debrief.status == "completed" and debrief.verdict == "falsified"
    assert set(debrief.missed) == {"acknowledge_within", "contain_within", "handoff_within"}
    # nobody recorded a detection and no alert reached it: a miss cannot be told from missing telemetry;
    # and no Prometheus is configured, so its steady state was never looked at
    assert [(n.name, n.evidence) for n in debrief.not_measured] == [
        ("detect_within", "no_telemetry"),
        ("steady_state", "no_telemetry"),
    ]
    assert debrief.metrics.pages_unacknowledged == 2


def test_abort_is_inconclusive_and_cancels_later_steps(h: CoreHarness) -> None:
    gd = start(h)
    h.advance_to(h.clock.now() + 1)
    assert h.engine.abort(gd, "UFAC", "real incident").ok
    h.advance_to(h.clock.now() + 10 * 60, step=30)
    state = fold(h.store.events(gd))
    assert state.status is Status.ABORTED
    assert state.steps_ran == {0}
    assert h.announcer.debriefs[-1].verdict == "inconclusive"


def test_a_step_replayed_after_a_crash_reuses_its_posted_message(h: CoreHarness) -> None:
    from bot.gameday.ports import GameDayRecord

    original = h.announcer.say
    crashes: list[str] = []

    def say_then_die(record: GameDayRecord, text: str, key: str) -> str:
        ts = original(record, text, key)
        if not crashes and key.endswith("step:1"):  # the step's say (not the steady state's)
            crashes.append(ts)
            raise ConnectionError("process died after Slack accepted the post")
        return ts

    h.announcer.say = say_then_die  # type: ignore[method-assign]  # a test double for this one call
    gd = start(h)
    h.advance_to(h.clock.now() + 70)  # the say step at 1m fails once, then is retried 5 s later
    said = [e for e in h.store.events(gd) if e.kind is Kind.SAID]
    assert len(crashes) == 1
    assert len([kind for kind, text in h.announcer.posts if kind == "say" and "Log excerpt" in text]) == 1
    assert len(said) == 1 and said[0].data["message_ts"] == crashes[0]


def test_a_note_processed_just_after_the_end_still_reaches_the_debrief(h: CoreHarness) -> None:
    gd = start(h)
    h.advance_to(h.clock.now() + 1)
    written_at = h.clock.now()
    h.engine.end(gd, "UFAC")
    assert h.engine.add_note(gd, "gap", "written before the end, processed after", "U1", written_at, "Ev9").ok
    assert not h.engine.acknowledge(gd, "U1", written_at, "Ev10").ok  # the rest of the game day is closed
    notes = [e for e in h.store.events(gd) if e.kind is Kind.NOTE]
    assert [n.data["text"] for n in notes] == ["written before the end, processed after"]
