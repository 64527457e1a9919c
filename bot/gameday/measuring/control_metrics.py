"""Detection coverage and control efficacy: what the controls did about the faults (pure functions of
the timeline, like every metric in ``bot/gameday/measuring/metrics``)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.gameday.state import GameDayState
from bot.gameday.timeline import Event, Kind


def detection_coverage(attack: list[str], state: GameDayState) -> dict[str, bool]:
    """Per simulated ATT&CK technique (the scenario's ``attack``): was it detected?

    The rule is deliberately simple: every technique the scenario simulates counts as detected when
    any detection was recorded during the game day (a detection does not name a technique).
    """
    detected = bool(state.detections)
    return {technique: detected for technique in dict.fromkeys(attack)}


def coverage_ratio(coverage: dict[str, bool]) -> float | None:
    """Techniques detected / techniques simulated; None when the scenario simulates none."""
    return sum(coverage.values()) / len(coverage) if coverage else None


@dataclass(frozen=True)
class FaultOutcome:
    """An applied fault and what the control did about it."""

    fault_id: str
    step: int | None
    type: str
    driver: str | None
    applied_at: float
    reverted_at: float | None
    observed: str | None  # "blocked", "allowed" or None when nobody observed the fault

    @property
    def blocked(self) -> bool:
        return self.observed == "blocked"

    @property
    def simulated(self) -> bool:
        """Applied by the simulated driver and never observed: nothing ran for a control to act on."""
        return self.driver == "simulated" and self.observed is None


def fault_outcomes(events: list[Event]) -> list[FaultOutcome]:
    """Each applied fault, in order, with its observed outcome.

    A fault counts as blocked when it was observed ``blocked`` and never observed ``allowed``: one
    observation that got through is enough to call the control leaky.
    """
    applied: dict[str, Event] = {}
    observed: dict[str, set[str]] = {}
    reverted: dict[str, float] = {}
    for event in events:
        kind = event.kind
        if kind is Kind.FAULT_APPLIED:
            applied[str(event.data.get("fault_id"))] = event
        elif kind is Kind.FAULT_OBSERVED:
            observed.setdefault(str(event.data.get("fault_id")), set()).add(str(event.data.get("outcome")))
        elif kind is Kind.FAULT_REVERTED:
            reverted.setdefault(str(event.data.get("fault_id")), event.at)
    result = []
    for fault_id, event in applied.items():
        seen = observed.get(fault_id, set())
        outcome = "allowed" if "allowed" in seen else ("blocked" if "blocked" in seen else None)
        step = event.data.get("step")
        result.append(
            FaultOutcome(
                fault_id=fault_id,
                step=None if step is None else int(step),
                type=str(event.data.get("type", "")),
                driver=event.data.get("driver"),
                applied_at=event.at,
                reverted_at=reverted.get(fault_id),
                observed=outcome,
            )
        )
    return result


def control_efficacy(outcomes: list[FaultOutcome]) -> float | None:
    """Faults observed blocked / faults observed at all; None when none was observed.

    Only an observation measures a control: a simulated fault never reached one, and a fault nobody
    read back (no probe for its type) may have been blocked or not, so neither counts either way.
    """
    observed = [o for o in outcomes if o.observed is not None]
    return sum(o.blocked for o in observed) / len(observed) if observed else None


@dataclass(frozen=True)
class FailedRevert:
    fault_id: str
    at: float
    error: str
    reverted_later: bool


def failed_reverts(events: list[Event]) -> list[FailedRevert]:
    """Every failed revert, and whether a later revert of the same fault succeeded.

    A fault left in place is the worst outcome of a game day, so these are shown first and loudly.
    """
    last_reverted: dict[str, int] = {}  # fault_id -> index of its last successful revert
    for index, event in enumerate(events):
        reverted_id = event.data.get("fault_id") if event.kind is Kind.FAULT_REVERTED else None
        if isinstance(reverted_id, str):
            last_reverted[reverted_id] = index
    result = []
    for index, event in enumerate(events):
        if event.kind is not Kind.FAULT_REVERT_FAILED:
            continue
        fault_id = str(event.data.get("fault_id"))
        later = last_reverted.get(fault_id, -1) > index
        result.append(FailedRevert(fault_id, event.at, str(event.data.get("error", "")), later))
    return result
