"""Lanes and the inbox: one game day's work in order, different game days side by side, batches."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast

import pytest
from core_harness import CoreHarness, scenario_text
from databases import STORES, make_store

from bot.gameday.ports import GameDayTx, StoreUnavailable
from bot.gameday.running.inbox import Inbox, Input
from bot.gameday.running.lanes import Lanes
from bot.gameday.running.outcome import Outcome
from bot.gameday.running.replies import Acknowledge, AddNote, HandOff, Reply
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState, fold
from bot.gameday.timeline import Event, Kind

ROSTER = {"primary": "U1", "secondary": "U2"}


def test_a_keys_items_are_handled_in_order_and_one_batch_at_a_time() -> None:
    seen: dict[str, list[int]] = {}
    inside: dict[str, int] = {}
    overlap: list[str] = []
    guard = threading.Lock()

    def handle(batches: dict[str, list[int]]) -> None:
        with guard:
            for key in batches:
                inside[key] = inside.get(key, 0) + 1
                if inside[key] > 1:
                    overlap.append(key)
        time.sleep(0.001)
        with guard:
            for key, items in batches.items():
                seen.setdefault(key, []).extend(items)
                inside[key] -= 1

    lanes: Lanes[int] = Lanes(handle, workers=4, max_keys=3)
    for i in range(400):
        lanes.put(f"k{i % 7}", i)
    assert lanes.drain(10)
    assert not overlap
    for k in range(7):
        assert seen[f"k{k}"] == list(range(k, 400, 7))
    assert lanes.close(1)


def test_a_slow_key_does_not_hold_up_the_others() -> None:
    release = threading.Event()
    fast_done = threading.Event()

    def handle(batches: dict[str, list[str]]) -> None:
        if "slow" in batches:
            release.wait(10)
        else:
            fast_done.set()

    lanes: Lanes[str] = Lanes(handle, workers=2)
    lanes.put("slow", "a")
    time.sleep(0.05)
    lanes.put("fast", "b")
    assert fast_done.wait(5), "the fast key waited behind the slow one"
    assert not lanes.drain(0.05)  # the slow key is still being handled
    release.set()
    assert lanes.drain(5)


def test_items_put_while_a_key_is_handled_come_as_the_next_batch() -> None:
    batches: list[list[int]] = []
    started = threading.Event()
    go = threading.Event()

    def handle(taken: dict[str, list[int]]) -> None:
        started.set()
        go.wait(5)
        batches.extend(taken.values())

    lanes: Lanes[int] = Lanes(handle, workers=3)
    lanes.put("k", 0)
    assert started.wait(5)
    for i in range(1, 6):
        lanes.put("k", i)  # the key is busy: these wait together
    go.set()
    assert lanes.drain(5)
    assert batches == [[0], [1, 2, 3, 4, 5]]


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def started(h: CoreHarness) -> str:
    outcome = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER)
    assert outcome.gameday_id
    h.advance_to(h.clock.now() + 1)  # the first page is out
    return outcome.gameday_id


def test_a_batch_writes_what_the_same_inputs_one_by_one_write(h: CoreHarness, tmp_path: Path) -> None:
    gd = started(h)
    other = CoreHarness(make_store("memory", tmp_path))
    gd2 = started(other)
    at = h.clock.now()
    replies: list[tuple[Reply, str, float]] = [
        (AddNote("gap", "no runbook link"), "U2", at + 1),
        (Acknowledge(), "U1", at + 2),
        (AddNote("note", "looking at the logs"), "U1", at + 3),
        (HandOff("U2"), "U1", at + 4),
        (Acknowledge(), "U2", at + 5),
        (AddNote("action", "add the alert"), "U2", at + 6),
    ]
    inputs = [h.engine.reply_input(r, user, when, f"event:{i}") for i, (r, user, when) in enumerate(replies)]
    inputs.append(inputs[0])  # a delivery Slack sent twice, in the same batch
    outcomes = h.engine.operate_many(gd, inputs)
    for i, (r, user, when) in enumerate(replies):
        alone = other.engine.operate_many(gd2, [other.engine.reply_input(r, user, when, f"event:{i}")])
        assert outcomes[i].ok == alone[0].ok, r
    assert outcomes[-1].message == "already recorded"

    def shape(events: list[Event]) -> list[tuple[object, ...]]:
        """What the inputs wrote; the handoff's message is recorded once Slack has it, after the commit
        (after the batch's, or after the one input's): when, is not what the inputs wrote."""
        return [
            (e.kind, e.at, e.actor, e.data.get("text"), e.data.get("page_id"))
            for e in events
            if e.kind is not Kind.HANDOFF_POSTED
        ]

    assert shape(h.store.events(gd)) == shape(other.store.events(gd2))
    state = fold(h.store.events(gd))
    assert state.pages["p0"].acknowledged_by == "U1"
    assert [h.to_user for h in state.handoffs if h.completed_at] == ["U2"]
    assert [n.text for n in state.notes] == ["no runbook link", "looking at the logs", "add the alert"]


def test_the_inbox_writes_every_reply_of_many_game_days_once(h: CoreHarness) -> None:
    days = [started(h) for _ in range(3)]
    inbox = Inbox(h.engine.operate_across, writers=2)
    at = h.clock.now()
    for i in range(90):
        note = h.engine.reply_input(AddNote("note", f"n{i}"), "U1", at + i, f"event:{i}")
        inbox.put(days[i % 3], note)
        if i % 10 == 0:
            inbox.put(days[i % 3], note)  # Slack's retry of the same delivery
    assert inbox.close(30)
    for k, gd in enumerate(days):
        notes = [e.data["text"] for e in h.store.events(gd) if e.kind is Kind.NOTE]
        assert notes == [f"n{i}" for i in range(k, 90, 3)]  # each once, in the order they came


def test_one_failing_input_does_not_cost_the_rest_of_its_batch(h: CoreHarness) -> None:
    gd = started(h)

    def broken(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
        raise RuntimeError("a bug in one input")

    go = threading.Event()
    hold = Input(None, lambda tx, scenario, state: cast(Outcome, go.wait(5) and Outcome(True, "held")))
    inbox = Inbox(h.engine.operate_across, writers=1)
    inbox.put(gd, hold)  # keeps the game day busy, so the next three wait as one batch
    at = h.clock.now()
    inbox.put(gd, h.engine.reply_input(AddNote("note", "before"), "U1", at, "event:a"))
    inbox.put(gd, Input("event:b", broken))
    inbox.put(gd, h.engine.reply_input(AddNote("note", "after"), "U1", at + 1, "event:c"))
    go.set()
    assert inbox.close(10)
    notes = [e.data["text"] for e in h.store.events(gd) if e.kind is Kind.NOTE]
    assert notes == ["before", "after"]


def test_one_transaction_takes_many_game_days_and_keeps_each_apart(h: CoreHarness) -> None:
    days = [started(h) for _ in range(3)]
    at = h.clock.now()
    batches = {
        gd: [
            h.engine.reply_input(AddNote("note", f"{gd} {i}"), "U1", at + i, f"event:{gd}:{i}")
            for i in range(4)
        ]
        for gd in days
    }
    batches[days[0]].append(batches[days[0]][0])  # the same delivery again, in the same batch
    batches[days[2]].insert(0, h.engine.reply_input(Acknowledge(), "U1", at, "event:ack"))
    outcomes = h.engine.operate_across(batches)
    assert [o.ok for o in outcomes[days[2]]] == [True] * 5
    assert outcomes[days[0]][-1].message == "already recorded"
    again = h.engine.operate_across({days[1]: [batches[days[1]][0]]})  # a retry in a later batch
    assert again[days[1]][0].message == "already recorded"
    for gd in days:
        notes = [e.data["text"] for e in h.store.events(gd) if e.kind is Kind.NOTE]
        assert notes == [f"{gd} {i}" for i in range(4)]
    assert fold(h.store.events(days[2])).pages["p0"].acknowledged_by == "U1"
    assert fold(h.store.events(days[0])).pages["p0"].acknowledged_by is None


def test_a_failing_game_day_does_not_cost_the_others_of_its_batch(h: CoreHarness) -> None:
    days = [started(h) for _ in range(2)]

    def broken(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
        raise RuntimeError("a bug")

    go = threading.Event()
    inbox = Inbox(h.engine.operate_across, writers=1)
    inbox.put(
        days[0], Input(None, lambda tx, scenario, state: cast(Outcome, go.wait(5) and Outcome(True, "held")))
    )
    time.sleep(0.05)  # the writer holds days[0]: what follows waits as one batch of two game days
    at = h.clock.now()
    inbox.put(days[1], h.engine.reply_input(AddNote("note", "kept"), "U1", at, "event:kept"))
    inbox.put(days[1], Input("event:bad", broken))
    inbox.put(days[0], h.engine.reply_input(AddNote("note", "also kept"), "U2", at, "event:also"))
    go.set()
    assert inbox.close(10)
    assert [e.data["text"] for e in h.store.events(days[1]) if e.kind is Kind.NOTE] == ["kept"]
    assert [e.data["text"] for e in h.store.events(days[0]) if e.kind is Kind.NOTE] == ["also kept"]


def test_a_database_that_stays_away_is_not_waited_for_again_part_by_part() -> None:
    calls: list[int] = []
    first = threading.Event()
    release = threading.Event()

    def apply(batches: Mapping[str, Sequence[Input]]) -> Mapping[str, Sequence[Outcome]]:
        calls.append(sum(len(items) for items in batches.values()))
        first.set()
        release.wait(5)  # the next inputs gather meanwhile into one batch of three game days
        raise StoreUnavailable("the database did not answer")

    def noop(tx: GameDayTx, scenario: Scenario, state: GameDayState) -> Outcome:
        return Outcome(True, "x")

    inbox = Inbox(apply, writers=1)
    inbox.put("gd-0", Input(None, noop))
    assert first.wait(5)
    for i in range(3):
        inbox.put(f"gd-{i + 1}", Input(f"event:{i}", noop))
    release.set()
    assert inbox.close(10)
    assert calls == [1, 3]  # each batch tried once, never again game day by game day


def test_quiet_waits_for_the_end_of_a_wave_not_for_a_gap_in_it() -> None:
    handled: list[int] = []
    lanes: Lanes[int] = Lanes(lambda taken: handled.extend(x for items in taken.values() for x in items))
    stop = threading.Event()

    def wave() -> None:  # an item every 20 ms for 0.4 s: the lanes are idle between items
        for i in range(20):
            lanes.put(f"gd{i % 3}", i)
            time.sleep(0.02)
        stop.set()

    threading.Thread(target=wave).start()
    time.sleep(0.05)
    assert lanes.quiet(0.1, timeout=5.0)
    assert stop.is_set() and len(handled) == 20  # it came back after the wave, not in a gap
    lanes.put("gd0", 99)
    assert not lanes.quiet(0.5, timeout=0.1)  # not long enough since the last item
    lanes.close()
