"""Which real (not drill) incidents a game day's timeline calls for, and which of them are over. Pure.

Three things go wrong for real, not as part of the exercise: a revert fails (``fault_revert_failed``), a
guardrail trips (a stop condition or a steady-state breach aborts the game day: its end says
``guardrail``), and the reaper finds a fault past its lease that it cannot undo (``fault_left_over``).
Each is one incident, keyed by a stable ``dedup_key`` so that PagerDuty itself keeps it one alert
whatever is sent twice: ``sce-failure-<game day>-<fault>`` for a fault still in the cluster (a failed
revert and that fault's lease running out are the same trouble), ``sce-failure-<game day>-guardrail``.

An incident is over when the cluster is clean again: its fault reverted after its last failure (a
later revert, or the reaper), and for a guardrail every fault of the game day so, and the steady state,
when it was measured, recovered after the end.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.gameday.ports import GameDayRecord
from bot.gameday.timeline import Event, Kind

REVERT_FAILED = "revert_failed"
GUARDRAIL = "guardrail"
LEASE_EXPIRED = "lease_expired"
PREFIX = "sce-failure-"
"""How our own failure incidents' dedup keys start (a drill page's are ``sce-<game day>-<page>``)."""
MAX_WHAT_CHARS = 300


@dataclass(frozen=True)
class FailureIncident:
    """One real incident to tell PagerDuty of: what went wrong, of which game day and fault."""

    key: str
    cause: str  # revert_failed | guardrail | lease_expired
    gameday_id: str
    scenario_id: str
    channel: str
    thread_ts: str | None
    fault_id: str | None
    what: str  # the error, or why the game day stopped: one line


def failure_key(gameday_id: str, what: str) -> str:
    """The incident's ``dedup_key`` (PagerDuty takes 255 characters)."""
    return f"{PREFIX}{gameday_id}-{what}"[:255]


def _line(text: object) -> str:
    return " ".join(str(text or "").split())[:MAX_WHAT_CHARS] or "no detail given"


def incidents(record: GameDayRecord, events: list[Event]) -> list[FailureIncident]:
    """Every incident the timeline calls for, in the order it first did (the first cause of a key wins)."""
    found: dict[str, FailureIncident] = {}

    def add(key: str, cause: str, fault_id: str | None, what: object) -> None:
        found.setdefault(
            key,
            FailureIncident(
                key,
                cause,
                record.id,
                record.scenario_id,
                record.channel,
                record.thread_ts,
                fault_id,
                _line(what),
            ),
        )

    for event in events:
        fault_id = event.data.get("fault_id")
        if event.kind is Kind.FAULT_REVERT_FAILED and fault_id:
            add(failure_key(record.id, str(fault_id)), REVERT_FAILED, str(fault_id), event.data.get("error"))
        elif event.kind is Kind.FAULT_LEFT_OVER and fault_id:
            add(failure_key(record.id, str(fault_id)), LEASE_EXPIRED, str(fault_id), event.data.get("error"))
        elif event.kind is Kind.ENDED and event.data.get("guardrail") is True:
            add(failure_key(record.id, GUARDRAIL), GUARDRAIL, None, event.data.get("reason"))
    return list(found.values())


def _sent(events: list[Event], kind: Kind) -> set[str]:
    return {str(e.data.get("key")) for e in events if e.kind is kind and e.data.get("sent") is True}


def paged(events: list[Event]) -> set[str]:
    """The keys PagerDuty took a trigger of."""
    return _sent(events, Kind.FAILURE_PAGED)


def resolved(events: list[Event]) -> set[str]:
    """The keys PagerDuty took a resolve of."""
    return _sent(events, Kind.FAILURE_RESOLVED)


def tries(events: list[Event], kind: Kind) -> Counter[str]:
    """How many times PagerDuty could not be told (a trigger: FAILURE_PAGED; a resolve: FAILURE_RESOLVED)."""
    return Counter(str(e.data.get("key")) for e in events if e.kind is kind and e.data.get("sent") is False)


def fault_clean(events: list[Event], fault_id: str) -> bool:
    """Whether the fault was reverted after its last failure (a failed revert, or left over at its lease)."""
    last: Kind | None = None
    for event in events:
        if event.data.get("fault_id") != fault_id:
            continue
        if event.kind in (Kind.FAULT_REVERTED, Kind.FAULT_REVERT_FAILED, Kind.FAULT_LEFT_OVER):
            last = event.kind
    return last is Kind.FAULT_REVERTED


def still_failing(events: list[Event]) -> list[str]:
    """Faults whose revert failed and that no revert has undone since, in the order they were applied."""
    applied = [str(e.data["fault_id"]) for e in events if e.kind is Kind.FAULT_APPLIED]
    touched = {
        str(e.data.get("fault_id"))
        for e in events
        if e.kind in (Kind.FAULT_REVERT_FAILED, Kind.FAULT_LEFT_OVER)
    }
    return [f for f in applied if f in touched and not fault_clean(events, f)]


def _steady_recovered(events: list[Event]) -> bool:
    """Whether the steady state held again after the end (True when it was never measured)."""
    looks = [e for e in events if e.kind is Kind.STEADY_STATE]
    if not any(e.data.get("phase") == "during" or "breached" in e.data for e in looks):
        return True
    after = [e for e in looks if e.data.get("phase") == "after"]
    return bool(after) and after[-1].data.get("recovered") is True


def is_over(incident: FailureIncident, events: list[Event]) -> bool:
    """Whether the cluster is clean again for this incident."""
    if incident.fault_id is not None:
        return fault_clean(events, incident.fault_id)
    ended = any(e.kind is Kind.ENDED for e in events)
    applied = {str(e.data["fault_id"]) for e in events if e.kind is Kind.FAULT_APPLIED}
    faults_gone = all(fault_clean(events, f) for f in applied)
    return ended and faults_gone and _steady_recovered(events)


def to_trigger(record: GameDayRecord, events: list[Event], max_tries: int) -> list[FailureIncident]:
    """The incidents PagerDuty was not told of yet (each tried at most ``max_tries`` times)."""
    done, failed = paged(events), tries(events, Kind.FAILURE_PAGED)
    return [i for i in incidents(record, events) if i.key not in done and failed[i.key] < max_tries]


def to_resolve(record: GameDayRecord, events: list[Event], max_tries: int) -> list[FailureIncident]:
    """The incidents PagerDuty took that are over now and not yet resolved there."""
    done, gone, failed = paged(events), resolved(events), tries(events, Kind.FAILURE_RESOLVED)
    return [
        i
        for i in incidents(record, events)
        if i.key in done and i.key not in gone and failed[i.key] < max_tries and is_over(i, events)
    ]
