"""Lanes and the inbox: one game day's work in order, different game days side by side, batches."""

from __future__ import annotations

import threading
import time

import pytest
from core_harness import CoreHarness, scenario_text
from databases import STORES, make_store

from bot.gameday.inbox import Inbox, Input
from bot.gameday.lanes import Lanes
from bot.gameday.outcome import Outcome
from bot.gameday.replies import Acknowledge, AddNote, HandOff
from bot.gameday.state import fold
from bot.gameday.timeline import Kind

ROSTER = {"primary": "U1", "secondary": "U2"}


def test_a_keys_items_are_handled_in_order_and_one_batch_at_a_time() -> None:
    seen: dict[str, list[int]] = {}
    inside: dict[str, int] = {}
    overlap: list[str] = []
    guard = threading.Lock()

    def handle(key: str, items: list[int]) -> None:
        with guard:
            inside[key] = inside.get(key, 0) + 1
            if inside[key] > 1:
                overlap.append(key)
        time.sleep(0.001)
        with guard:
            seen.setdefault(key, []).extend(items)
            inside[key] -= 1

    lanes: Lanes[int] = Lanes(handle, workers=4)
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

    def handle(key: str, items: list[str]) -> None:
        if key == "slow":
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

    def handle(key: str, items: list[int]) -> None:
        started.set()
        go.wait(5)
        batches.append(items)

    lanes: Lanes[int] = Lanes(handle, workers=3)
    lanes.put("k", 0)
    assert started.wait(5)
    for i in range(1, 6):
        lanes.put("k", i)  # the key is busy: these wait together
    go.set()
    assert lanes.drain(5)
    assert batches == [[0], [1, 2, 3, 4, 5]]


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def started(h: CoreHarness) -> str:
    outcome = h.engine.start(scenario_text(), "C1", "UFAC", ROSTER)
    assert outcome.gameday_id
    h.advance_to(h.clock.now() + 1)  # the first page is out
    return outcome.gameday_id


def test_a_batch_writes_what_the_same_inputs_one_by_one_write(h: CoreHarness, tmp_path) -> None:
    gd = started(h)
    other = CoreHarness(make_store("memory", tmp_path))
    gd2 = started(other)
    at = h.clock.now()
    replies = [
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

    def shape(events: list) -> list:
        return [(e.kind, e.at, e.actor, e.data.get("text"), e.data.get("page_id")) for e in events]

    assert shape(h.store.events(gd)) == shape(other.store.events(gd2))
    state = fold(h.store.events(gd))
    assert state.pages["p0"].acknowledged_by == "U1"
    assert [h.to_user for h in state.handoffs if h.completed_at] == ["U2"]
    assert [n.text for n in state.notes] == ["no runbook link", "looking at the logs", "add the alert"]


def test_the_inbox_writes_every_reply_of_many_game_days_once(h: CoreHarness) -> None:
    days = [started(h) for _ in range(3)]
    inbox = Inbox(h.engine.operate_many, writers=2)
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

    def broken(tx, scenario, state) -> Outcome:
        raise RuntimeError("a bug in one input")

    go = threading.Event()
    hold = Input(None, lambda tx, scenario, state: go.wait(5) and Outcome(True, "held"))
    inbox = Inbox(h.engine.operate_many, writers=1)
    inbox.put(gd, hold)  # keeps the game day busy, so the next three wait as one batch
    at = h.clock.now()
    inbox.put(gd, h.engine.reply_input(AddNote("note", "before"), "U1", at, "event:a"))
    inbox.put(gd, Input("event:b", broken))
    inbox.put(gd, h.engine.reply_input(AddNote("note", "after"), "U1", at + 1, "event:c"))
    go.set()
    assert inbox.close(10)
    notes = [e.data["text"] for e in h.store.events(gd) if e.kind is Kind.NOTE]
    assert notes == ["before", "after"]
