"""Metrics as pure functions of the timeline (through its folded state).

Every time here is a timeline timestamp: Slack's own ``ts`` for human input, the injected clock for
the bot's own actions, so queueing and restarts never bias a figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from statistics import fmean

from bot.gameday.scenario import Expectations
from bot.gameday.state import GameDayState, Note, Status
from bot.gameday.timeline import Event, Kind


class Outcome(StrEnum):
    MET = "met"
    MISSED = "missed"
    PENDING = "pending"
    NOT_APPLICABLE = "not_applicable"


class Verdict(StrEnum):
    VALIDATED = "validated"
    FALSIFIED = "falsified"
    INCONCLUSIVE = "inconclusive"
    PENDING = "pending"


@dataclass(frozen=True)
class ExpectationResult:
    name: str
    target_seconds: float
    actual_seconds: float | None
    outcome: Outcome

    @property
    def met(self) -> bool | None:
        if self.outcome is Outcome.MET:
            return True
        if self.outcome is Outcome.MISSED:
            return False
        return None


def time_to_acknowledge(state: GameDayState) -> dict[str, float]:
    """TTA per acknowledged page: first acknowledgement minus the page message's ts."""
    return {p.page_id: p.tta for p in state.pages.values() if p.tta is not None}


def mean_time_to_acknowledge(state: GameDayState) -> float | None:
    """MTTA over acknowledged pages; unacknowledged pages are listed elsewhere, not averaged in."""
    values = list(time_to_acknowledge(state).values())
    return fmean(values) if values else None


def handoff_latencies(state: GameDayState) -> dict[str, float]:
    """New owner's acknowledgement minus the handoff request, per completed handoff."""
    return {h.handoff_id: h.latency for h in state.handoffs if h.latency is not None}


def time_to_detect(state: GameDayState) -> float | None:
    """First detection minus T0 (the first inject)."""
    t0 = state.t0
    if t0 is None or not state.detections:
        return None
    return min(d.at for d in state.detections) - t0


def times_to_contain(state: GameDayState) -> list[float]:
    """Containment minus T0, per containment mark (a page's own T0 when it names one)."""
    t0 = state.t0
    result = []
    for mark in state.containments:
        page = state.pages.get(mark.page_id) if mark.page_id else None
        start = page.paged_at if page else t0
        if start is not None:
            result.append(mark.at - start)
    return result


def time_to_contain(state: GameDayState) -> float | None:
    """First containment minus T0."""
    t0 = state.t0
    if t0 is None or not state.containments:
        return None
    return min(c.at for c in state.containments) - t0


def mean_time_to_contain(state: GameDayState) -> float | None:
    values = times_to_contain(state)
    return fmean(values) if values else None


def expectation_results(
    state: GameDayState, expect: Expectations, now: float, final: bool = False
) -> list[ExpectationResult]:
    """Each expectation's outcome at ``now``; ``final`` turns what is still pending into missed."""
    results: list[ExpectationResult] = []
    if expect.acknowledge_within is not None:
        results.append(
            _per_item(
                "acknowledge_within",
                expect.acknowledge_within,
                [(p.paged_at, p.tta) for p in state.pages.values()],
                now,
                final,
            )
        )
    if expect.handoff_within is not None:
        results.append(
            _per_item(
                "handoff_within",
                expect.handoff_within,
                [(h.requested_at, h.latency) for h in state.handoffs],
                now,
                final,
            )
        )
    if expect.detect_within is not None:
        results.append(
            _first_mark("detect_within", expect.detect_within, state.t0, time_to_detect(state), now, final)
        )
    if expect.contain_within is not None:
        results.append(
            _first_mark("contain_within", expect.contain_within, state.t0, time_to_contain(state), now, final)
        )
    return results


def verdict(state: GameDayState, results: list[ExpectationResult]) -> Verdict:
    """validated when every expectation is met, falsified when one is missed, inconclusive on abort."""
    if state.status is Status.ABORTED:
        return Verdict.INCONCLUSIVE
    if any(r.outcome is Outcome.MISSED for r in results):
        return Verdict.FALSIFIED
    if any(r.outcome is Outcome.PENDING for r in results):
        return Verdict.PENDING
    return Verdict.VALIDATED


def _per_item(
    name: str, target: float, items: list[tuple[float, float | None]], now: float, final: bool
) -> ExpectationResult:
    """Every item (page, handoff) must finish within ``target`` of its own start."""
    if not items:
        outcome = Outcome.NOT_APPLICABLE if final else Outcome.PENDING
        return ExpectationResult(name, target, None, outcome)
    done = [value for _, value in items if value is not None]
    worst = max(done) if done else None
    late = any(v > target for v in done) or any(
        value is None and (final or now - start > target) for start, value in items
    )
    if late:
        return ExpectationResult(name, target, worst, Outcome.MISSED)
    if len(done) == len(items):
        return ExpectationResult(name, target, worst, Outcome.MET)
    return ExpectationResult(name, target, worst, Outcome.PENDING)


def _first_mark(
    name: str, target: float, t0: float | None, actual: float | None, now: float, final: bool
) -> ExpectationResult:
    if actual is not None:
        return ExpectationResult(name, target, actual, Outcome.MET if actual <= target else Outcome.MISSED)
    if final or (t0 is not None and now - t0 > target):
        return ExpectationResult(name, target, None, Outcome.MISSED)
    return ExpectationResult(name, target, None, Outcome.PENDING)


# -- people: who was paged and how fast they answered ---------------------------------------------


@dataclass(frozen=True)
class ResponderTimes:
    """One person's pages: those they were paged for, and TTA per page they acknowledged."""

    user: str
    paged: tuple[str, ...]
    tta: dict[str, float]
    unacknowledged: tuple[str, ...]

    @property
    def mtta(self) -> float | None:
        return fmean(self.tta.values()) if self.tta else None


def responder_times(state: GameDayState) -> list[ResponderTimes]:
    """TTA and MTTA per responder.

    A person is paged for a page when they are its responder (at the page's ts) or when it is
    escalated to them (at the escalation). Their TTA for a page they acknowledged first is measured
    from the moment *they* were paged for it, so a secondary is not charged for the primary's silence;
    someone who acknowledges a page they were never paged for is timed from the page itself.
    Responders are listed in the order they first appear.
    """
    paged: dict[str, list[str]] = {}
    tta: dict[str, dict[str, float]] = {}
    for page in state.pages.values():
        paged.setdefault(page.responder, []).append(page.page_id)
        if page.escalated_to is not None:
            paged.setdefault(page.escalated_to, []).append(page.page_id)
        if page.acknowledged_at is None or page.acknowledged_by is None:
            continue
        by = page.acknowledged_by
        escalated_to_them = by == page.escalated_to and page.escalated_at is not None
        since = page.escalated_at if escalated_to_them and page.escalated_at is not None else page.paged_at
        tta.setdefault(by, {})[page.page_id] = page.acknowledged_at - since
    users = list(dict.fromkeys([*paged, *tta]))
    open_ids = {p.page_id for p in state.open_pages()}
    return [
        ResponderTimes(
            user=user,
            paged=tuple(dict.fromkeys(paged.get(user, []))),
            tta=tta.get(user, {}),
            unacknowledged=tuple(p for p in dict.fromkeys(paged.get(user, [])) if p in open_ids),
        )
        for user in users
    ]


def unacknowledged_pages(state: GameDayState) -> list[str]:
    """Pages nobody acknowledged, in the order they were sent: listed, never averaged into MTTA."""
    return [p.page_id for p in state.open_pages()]


# -- detection coverage and control efficacy ------------------------------------------------------


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


# -- comms clarity, roles and notes ---------------------------------------------------------------


def update_times(state: GameDayState) -> list[float]:
    """When status updates (notes of kind ``update``) were posted, in time order."""
    return sorted(n.at for n in state.notes if n.kind == "update")


def first_acknowledgement(state: GameDayState) -> float | None:
    """The earliest acknowledgement of any page."""
    acks = [p.acknowledged_at for p in state.pages.values() if p.acknowledged_at is not None]
    return min(acks) if acks else None


def ack_to_first_update(state: GameDayState) -> float | None:
    """First status update at or after the first acknowledgement, minus that acknowledgement."""
    ack = first_acknowledgement(state)
    if ack is None:
        return None
    later = [at for at in update_times(state) if at >= ack]
    return later[0] - ack if later else None


def update_gaps(state: GameDayState) -> list[tuple[float, float]]:
    """(previous update, next update) for each pair of consecutive status updates."""
    times = update_times(state)
    return list(zip(times, times[1:], strict=False))


def late_update_gaps(state: GameDayState, update_every: float | None) -> list[tuple[float, float]]:
    """The gaps between consecutive updates longer than the cadence ``expect.update_every``."""
    if update_every is None:
        return []
    return [(a, b) for a, b in update_gaps(state) if b - a > update_every]


def first_role_assignments(events: list[Event]) -> dict[str, tuple[str, float]]:
    """Each incident role (commander, comms) -> (user, when) of its first assignment."""
    roles: dict[str, tuple[str, float]] = {}
    for event in events:
        if event.kind is Kind.ROLE_ASSIGNED:
            roles.setdefault(str(event.data.get("role")), (str(event.data.get("user")), event.at))
    return roles


def notes_of_kind(state: GameDayState, kind: str) -> list[Note]:
    """The notes of one kind (gap, note, action, decision, update), in timeline order."""
    return [n for n in state.notes if n.kind == kind]


def gaps_by_step(state: GameDayState) -> dict[int | None, list[Note]]:
    """Runbook fitness: the gaps grouped by the step that had last run when they were noted.

    Steps are in order; gaps noted before any step ran are under ``None``, listed first.
    """
    grouped: dict[int | None, list[Note]] = {}
    for note in sorted(notes_of_kind(state, "gap"), key=lambda n: -1 if n.step is None else n.step):
        grouped.setdefault(note.step, []).append(note)
    return grouped
