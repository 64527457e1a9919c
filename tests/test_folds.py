"""A game day's state carried on from the last one folded (``bot.gameday.folds``) is the state the whole
timeline folds to, whatever the order of the questions, and a state handed out shares nothing with the
one remembered. Timelines are real ones: game days run by the engine on the in-memory store."""

from __future__ import annotations

import dataclasses
from functools import cache

import pytest
from core_harness import CoreHarness, scenario_text
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.gameday.folds import Folds
from bot.gameday.state import GameDayState, advance, fold
from bot.gameday.timeline import Event, Kind

ROSTER = {"primary": "U1", "secondary": "U2"}


@cache
def pager_stress() -> tuple[Event, ...]:
    """Pages, an acknowledgement, an escalation, a handoff taken, notes, a detection, a containment."""
    h = CoreHarness()
    gd = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    start = h.clock.now()
    h.advance_to(start + 1)
    p0 = h.page_ts(gd, "p0")
    with h.store.transaction(gd) as tx:
        tx.append(Kind.ROLE_ASSIGNED, p0 + 40, "UFAC", {"role": "commander", "user": "U1"})
    h.advance_to(p0 + 80)
    assert h.engine.acknowledge(gd, "U1", p0 + 80, h.delivery()).ok
    h.engine.add_note(gd, "update", "looking at the IdP", "U1", p0 + 140, h.delivery())
    h.engine.mark(gd, Kind.DETECTED, "U1", p0 + 170, h.delivery(), page_id="p0")
    h.advance_to(start + 8 * 60 + 1)
    handoff = fold(h.store.events(gd)).handoffs[0]
    h.advance_to(handoff.requested_at + 95)
    h.engine.acknowledge(gd, "U2", handoff.requested_at + 95, h.delivery(), target_id=handoff.handoff_id)
    h.engine.mark(gd, Kind.CONTAINED, "U2", p0 + 11 * 60, h.delivery())
    h.advance_to(start + 13 * 60)
    h.engine.end(gd, "UFAC")
    return tuple(h.store.events(gd))


@cache
def kms_failure() -> tuple[Event, ...]:
    """Faults applied, observed and reverted by the simulated driver, run to the end of the time box."""
    h = CoreHarness(allowed_namespaces=frozenset({"chaos-lab"}))
    gd = h.engine.start(scenario_text("kms-failure"), "C1", "UFAC", ROSTER).gameday_id
    assert gd
    h.advance_to(h.clock.now() + 40 * 60, step=5.0)
    return tuple(h.store.events(gd))


def timelines() -> list[tuple[Event, ...]]:
    return [pager_stress(), kms_failure()]


def test_the_timelines_hold_what_the_property_is_about() -> None:
    kinds = {e.kind for events in timelines() for e in events}
    assert {Kind.PAGE_SENT, Kind.ACKNOWLEDGED, Kind.ESCALATED, Kind.HANDOFF_COMPLETED, Kind.NOTE} <= kinds
    assert {Kind.FAULT_APPLIED, Kind.FAULT_REVERTED, Kind.ENDED} <= kinds


@settings(max_examples=60, deadline=None)
@given(which=st.sampled_from([0, 1]), cuts=st.lists(st.integers(0, 10_000), min_size=1, max_size=8))
def test_carried_on_or_folded_whole_it_is_the_fold_of_the_timeline(which: int, cuts: list[int]) -> None:
    events = timelines()[which]
    folds = Folds()
    for cut in cuts:  # growing, shrinking (another transaction's view), repeated
        prefix = events[: cut % (len(events) + 1)]
        got = folds.state("gd", prefix)
        assert got == fold(prefix)
        got.notes.append(got.notes[0] if got.notes else None)  # type: ignore[arg-type]
        got.pages.clear()  # what a caller does to its state is its own
    assert folds.state("gd", events) == fold(events)


def test_a_longer_timeline_is_carried_on_not_folded_again() -> None:
    events = list(pager_stress())
    folds = Folds()
    folds.state("gd", events[:10])
    for n in range(11, len(events) + 1):
        assert folds.state("gd", events[:n]) == fold(events[:n])
    assert folds.carried == len(events) - 10


def test_a_state_that_folded_a_rolled_back_event_is_not_carried_on() -> None:
    events = list(pager_stress())
    base = events[:20]
    rolled_back = Event(21, Kind.NOTE, 1.0, "U9", {"kind": "gap", "text": "never committed", "step": None})
    folds = Folds()
    folds.state("gd", [*base, rolled_back])
    committed = events[:21]  # the same seq, another event: what the next transaction reads
    assert folds.state("gd", committed) == fold(committed)
    assert all(n.text != "never committed" for n in folds.state("gd", events).notes)


def test_the_same_events_read_anew_are_folded_whole() -> None:
    events = list(pager_stress())
    folds = Folds()
    folds.state("gd", events[:30])
    anew = [dataclasses.replace(e) for e in events]  # read again from the database: other objects
    assert folds.state("gd", anew) == fold(events)
    assert folds.carried == 0


def test_game_days_are_kept_apart_and_the_oldest_forgotten() -> None:
    a, b = pager_stress(), kms_failure()
    folds = Folds(capacity=1)
    folds.state("a", a[:5])
    folds.state("b", b[:5])  # "a" is forgotten
    assert folds.state("a", a) == fold(a)
    assert folds.carried == 0
    assert folds.state("a", a) == fold(a)
    assert folds.carried == 1


def test_a_copy_has_containers_of_its_own_and_advancing_it_leaves_the_original_as_it_was() -> None:
    events = pager_stress()
    state = fold(events[:12])
    copy = state.copy()
    assert copy == state
    for field in dataclasses.fields(GameDayState):
        value = getattr(state, field.name)
        if isinstance(value, (list, dict, set)):
            assert getattr(copy, field.name) is not value, field.name
    advance(copy, events[12:])  # acknowledgements, an escalation, a handoff, marks, the end
    assert copy == fold(events) and state == fold(events[:12])
    faults = fold(kms_failure()[:-3])
    moved = advance(faults.copy(), kms_failure()[-3:])
    assert moved == fold(kms_failure()) and faults == fold(kms_failure()[:-3])


def test_what_a_state_shares_cannot_be_changed_in_place() -> None:
    state, faults = fold(pager_stress()), fold(kms_failure())
    for shared, field in (
        (state.pages["p0"], "owner"),
        (state.handoffs[0], "completed_at"),
        (next(iter(faults.faults.values())), "reverted_at"),
    ):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(shared, field, None)
