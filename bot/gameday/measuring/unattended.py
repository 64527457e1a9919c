"""An unattended run (`sce run`, a CI pipeline, a CronJob): the rules of a game day nobody attends.

Nobody acknowledges a page, takes a handoff, posts updates or presses Detected, so only what machines
decide is judged: ``detect_within`` by an alert, ``contain_within`` by a containment no person recorded
(an alert's, or a fault a control was observed blocking: the control contained it), control efficacy and
the steady state. ``acknowledge_within``, ``handoff_within``, ``update_every`` and a person's detection
are *not applicable* (never missed), and a page left unacknowledged holds nothing up: the game day ends
when its steps ran and the machine-judged expectations are decided, or at its time box.

The mode is recorded on the timeline (the STARTED event's ``unattended``), so every later debrief of the
game day, ``sce debrief`` included, judges it the same way. Its id starts with ``run-``: its timers are
fired by the process that runs it, never by a ``sce serve`` sharing the database.
"""

from __future__ import annotations

from dataclasses import replace

from bot.gameday.measuring.evidence import ALERT_SOURCES
from bot.gameday.state import GameDayState, Mark
from bot.gameday.timeline import Event, Kind

ID_PREFIX = "run-"  # an unattended game day's id: its timers are its own process's (storage/sql_store)
ACTOR = "sce-run"  # who started it, and who is on call when nobody is named
HUMAN_EXPECTATIONS = {
    "acknowledge_within": "acknowledge a page",
    "handoff_within": "take a handoff",
    "update_every": "post status updates",
}
CONTROL = "control"  # the source of a containment read from a fault observed blocked


def is_unattended(events: list[Event]) -> bool:
    """Whether the game day was started unattended (its STARTED event says so)."""
    started = next((e for e in events if e.kind is Kind.STARTED), None)
    return started is not None and started.data.get("unattended") is True


def not_applicable_reason(name: str) -> str:
    """Why a human expectation is not judged in an unattended run, as the debrief says it."""
    what = HUMAN_EXPECTATIONS.get(name, "act")
    return f"unattended run: nobody is waited for to {what}"


PERSON_DETECTION_REASON = "unattended run: a person's detection is listed but not counted; only alerts are"


def machine_state(state: GameDayState, events: list[Event]) -> GameDayState:
    """``state`` as machines saw it: detections from alerts only; containments not recorded by a person,
    and each fault a control was observed blocking, contained at that observation."""
    detections = [m for m in state.detections if m.source in ALERT_SOURCES]
    containments = [m for m in state.containments if m.source in ALERT_SOURCES]
    first_blocked: dict[str, float] = {}
    let_through: set[str] = set()  # one observation that got through: the control did not contain it
    for event in events:
        if event.kind is not Kind.FAULT_OBSERVED:
            continue
        fault = str(event.data.get("fault_id"))
        if event.data.get("outcome") == "blocked":
            first_blocked.setdefault(fault, event.at)
        elif event.data.get("outcome") == "allowed":
            let_through.add(fault)
    by_controls = [Mark(at, None, CONTROL) for f, at in first_blocked.items() if f not in let_through]
    return replace(
        state,
        detections=detections,
        containments=sorted([*containments, *by_controls], key=lambda m: m.at),
    )


def person_detected(state: GameDayState) -> bool:
    """Whether a person recorded a detection (an unattended run lists it, never counts it)."""
    return any(m.source not in ALERT_SOURCES for m in state.detections)
