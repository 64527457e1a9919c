"""A timer whose post Slack keeps failing is an incident from its fifth failed attempt: the timeline
remembers it, and the next timer of that game day that runs through tells the facilitator once, outside
every lock, whether it went out at last or is still retried. On every store, with the virtual clock."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from core_harness import CoreHarness
from databases import STORES, make_store

from bot.gameday.running.poller import RETRY_AFTER_SECONDS
from bot.gameday.running.timer_types import DeliveryDelay
from bot.gameday.timeline import Kind

ROSTER = {"primary": "U1", "secondary": "U2"}
SCENARIO = json.dumps(
    {
        "id": "delays",
        "title": "Delays",
        "charter": {"objective": "o", "hypothesis": "h"},
        "guardrails": {"max_duration": "2h"},
        "oncall": {"primary": "@primary", "secondary": "@secondary", "escalate_after": "1m"},
        "steps": [
            {"at": 0, "page": {"severity": "SEV-2", "summary": "s", "to": "@primary"}},
            {"at": "10m", "say": "the step after the outage"},
            {"at": "50m", "say": "the last step"},
        ],
    }
)


@pytest.fixture(params=STORES)
def h(request: pytest.FixtureRequest, tmp_path: Path) -> CoreHarness:
    return CoreHarness(make_store(request.param, tmp_path))


def failing_escalations(h: CoreHarness, until: float) -> list[float]:
    """Slack fails every escalation post before ``until``; returns the instants it was tried."""
    tries: list[float] = []
    escalation = h.announcer.escalation

    def slack(record, page, to, key):  # type: ignore[no-untyped-def]
        tries.append(h.clock.now())
        if h.clock.now() < until:
            raise ConnectionError("Slack answers 500")
        return escalation(record, page, to, key)

    h.announcer.escalation = slack  # type: ignore[method-assign]
    return tries


def told(h: CoreHarness) -> list[str]:
    return [text for kind, text in h.announcer.posts if kind == "delivery_delayed"]


def test_a_delay_is_told_once_still_pending_then_not_again_when_it_goes_out(h: CoreHarness) -> None:
    origin = h.clock.now()
    tries = failing_escalations(h, until=origin + 1000)
    gameday = h.engine.start(SCENARIO, "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    h.advance_to(origin + 599)
    paged = h.page_ts(gameday, "p0")  # the first poll, a second after the start
    # tried at 1 min after the page, then after 5, 10, 20, 40 s: the fifth failure opens the incident
    expected = [60.0]
    for n in range(4):
        expected.append(expected[-1] + RETRY_AFTER_SECONDS * 2**n)
    assert [round(t - paged) for t in tries[:5]] == expected == [60, 65, 75, 95, 135]
    (delayed,) = [e for e in h.store.events(gameday) if e.kind is Kind.DELIVERY_DELAYED]
    seen = (round(delayed.at - paged), delayed.data["kind"], delayed.data["post"], delayed.data["attempts"])
    assert seen == (135, "post", "escalation", 5)
    assert told(h) == []  # nothing has run through since: nothing to tell yet

    h.advance_to(origin + 601)  # the say at 10 min gets through: Slack answers again
    assert told(h) == ["escalation 5 pending"]
    h.advance_to(origin + 2000)  # the escalation goes out at last; the incident was told already
    assert any(kind == "escalation" for kind, _ in h.announcer.posts)
    assert told(h) == ["escalation 5 pending"]
    reported = [e.data for e in h.store.events(gameday) if e.kind is Kind.DELIVERY_REPORTED]
    assert reported == [{"timer_ids": [delayed.data["timer_id"]]}]


def test_the_delayed_timer_itself_getting_through_says_it_went_out_at_last(h: CoreHarness) -> None:
    origin = h.clock.now()
    failing_escalations(
        h, until=origin + 300
    )  # fails 60, 65, 75, 95, 135, 215 s after the page; through at 375
    gameday = h.engine.start(SCENARIO, "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    h.advance_to(origin + 400)
    assert told(h) == ["escalation 7 delivered"]
    h.advance_to(origin + 700)
    assert told(h) == ["escalation 7 delivered"]


def test_four_failures_are_no_incident(h: CoreHarness) -> None:
    origin = h.clock.now()
    failing_escalations(h, until=origin + 100)  # fails 60, 65, 75, 95 s after the page; through at 135
    gameday = h.engine.start(SCENARIO, "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    h.advance_to(origin + 700)
    assert told(h) == []
    assert not [e for e in h.store.events(gameday) if e.kind is Kind.DELIVERY_DELAYED]


def test_telling_the_facilitator_holds_no_lock(h: CoreHarness) -> None:
    origin = h.clock.now()
    failing_escalations(h, until=origin + 300)
    gameday = h.engine.start(SCENARIO, "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    others_went_through: list[bool] = []
    delivery_delayed = h.announcer.delivery_delayed

    def slow_slack(record, delays: list[DeliveryDelay], key):  # type: ignore[no-untyped-def]
        note = threading.Thread(
            target=lambda: h.engine.add_note(gameday, "note", "meanwhile", "U2", h.clock.now(), "d-note")
        )
        note.start()
        note.join(3)
        others_went_through.append(not note.is_alive())
        return delivery_delayed(record, delays, key)

    h.announcer.delivery_delayed = slow_slack  # type: ignore[method-assign,assignment]  # a test double
    h.advance_to(origin + 400)
    assert others_went_through == [True]


def test_a_failure_to_tell_is_tried_again_at_the_next_timer_and_told_once(h: CoreHarness) -> None:
    origin = h.clock.now()
    failing_escalations(h, until=origin + 300)
    gameday = h.engine.start(SCENARIO, "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    delivery_delayed = h.announcer.delivery_delayed
    attempts: list[float] = []

    def flaky(record, delays, key):  # type: ignore[no-untyped-def]
        attempts.append(h.clock.now())
        if len(attempts) == 1:
            raise ConnectionError("Slack failed this one too")
        return delivery_delayed(record, delays, key)

    h.announcer.delivery_delayed = flaky  # type: ignore[method-assign]
    h.advance_to(origin + 3000)
    paged = h.page_ts(gameday, "p0")
    # the escalation getting through (375 s after the page), then the say at 10 min after the start
    assert [round(attempts[0] - paged), round(attempts[1] - origin)] == [375, 600]
    # told at the next timer that ran through, and told right: the escalation did go out, at attempt 7
    assert told(h) == ["escalation 7 delivered"]


def test_the_debrief_event_log_reads_the_delay_in_words(h: CoreHarness) -> None:
    from bot.debrief.event_log import event_log

    origin = h.clock.now()
    failing_escalations(h, until=origin + 300)
    gameday = h.engine.start(SCENARIO, "C1", "UFAC", ROSTER).gameday_id
    assert gameday
    h.advance_to(origin + 400)
    record = h.store.get(gameday)
    assert record is not None
    lines = [line.text for line in event_log(h.engine.debrief_from(record, h.store.events(gameday)))]
    assert "an escalation failed 5 times in a row; it kept being retried" in lines
    assert "a delayed post went out at last, at attempt 7" in lines
    assert "the facilitator was told of the delayed posts" in lines
