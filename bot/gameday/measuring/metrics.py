"""Metrics as pure functions of the timeline (through its folded state).

Every time here is a timeline timestamp: Slack's own ``ts`` for human input, the injected clock for
the bot's own actions, so queueing and restarts never bias a figure.
Here: response times and the expectations' outcomes; ``control_metrics`` (detection coverage, control
efficacy, failed reverts) and ``comms_metrics`` (updates, roles, notes) hold the rest, re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from statistics import fmean

from bot.gameday.measuring.comms_metrics import (
    ack_to_first_update,
    first_acknowledgement,
    first_role_assignments,
    gaps_by_step,
    late_update_gaps,
    notes_of_kind,
    update_gaps,
    update_times,
)
from bot.gameday.measuring.control_metrics import (
    FailedRevert,
    FaultOutcome,
    control_efficacy,
    coverage_ratio,
    detection_coverage,
    failed_reverts,
    fault_outcomes,
)
from bot.gameday.scenario.model import Expectations
from bot.gameday.state import GameDayState, Status

# the measures of the other metric modules are imported from here too
__all__ = [
    "ack_to_first_update",
    "control_efficacy",
    "coverage_ratio",
    "detection_coverage",
    "expectation_results",
    "ExpectationResult",
    "failed_reverts",
    "FailedRevert",
    "fault_outcomes",
    "FaultOutcome",
    "first_acknowledgement",
    "first_role_assignments",
    "gaps_by_step",
    "handoff_latencies",
    "late_update_gaps",
    "mean_time_to_acknowledge",
    "mean_time_to_contain",
    "notes_of_kind",
    "Outcome",
    "responder_times",
    "ResponderTimes",
    "time_to_acknowledge",
    "time_to_contain",
    "time_to_detect",
    "times_to_contain",
    "unacknowledged_pages",
    "update_gaps",
    "update_times",
    "Verdict",
    "verdict",
]


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
