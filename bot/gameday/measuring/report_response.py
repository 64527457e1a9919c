"""How people responded, as the debrief shows it: pages, detections and containments, responders,
expectations, the headline metrics, comms and notes (``bot/gameday/measuring/report`` puts the
debrief together).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.gameday.measuring import evidence, metrics
from bot.gameday.measuring.report_models import (
    CommsReport,
    CoverageReport,
    ExpectationReport,
    MarkReport,
    MetricsReport,
    NoteReport,
    PageReport,
    ResponderAck,
    ResponderReport,
    RoleReport,
    UpdateGapReport,
)
from bot.gameday.scenario.durations import format_duration
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState, Mark, Note, PageState
from bot.gameday.timeline import Event


def page_report(page: PageState) -> PageReport:
    """One page as the debrief shows it: who was paged, acknowledged and escalated, and when."""
    return PageReport(
        id=page.page_id,
        step=page.step,
        severity=page.severity,
        summary=page.summary,
        responder=page.responder,
        paged_at=page.paged_at,
        acknowledged_at=page.acknowledged_at,
        acknowledged_by=page.acknowledged_by,
        tta_seconds=page.tta,
        escalated=page.escalated_at is not None,
        escalated_to=page.escalated_to,
        escalated_at=page.escalated_at,
    )


def mark_report(mark: Mark) -> MarkReport:
    """A detection or containment as the debrief shows it."""
    return MarkReport(at=mark.at, by=mark.by, source=mark.source, page_id=mark.page_id)


def responder_reports(responders: list[metrics.ResponderTimes]) -> list[ResponderReport]:
    """Each responder's pages and acknowledgement times."""
    return [
        ResponderReport(
            user=r.user,
            paged=list(r.paged),
            acknowledged=[ResponderAck(page_id=p, tta_seconds=t) for p, t in r.tta.items()],
            unacknowledged=list(r.unacknowledged),
            mtta_seconds=r.mtta,
        )
        for r in responders
    ]


def expectation_report(j: evidence.Judged) -> ExpectationReport:
    """An expectation with its outcome and the evidence it was judged on."""
    r = j.result
    return ExpectationReport(
        name=r.name,
        target_seconds=r.target_seconds,
        actual_seconds=r.actual_seconds,
        met=j.met,
        outcome=j.outcome,
        measured=j.measured,
        evidence=str(j.evidence),
        timing=None if j.timing is None else str(j.timing),
        not_measured_reason=j.reason,
        detected_by=j.detected_by,
    )


def metrics_report(
    state: GameDayState,
    scenario: Scenario,
    faults: list[metrics.FaultOutcome],
    failed: list[metrics.FailedRevert],
    responders: list[metrics.ResponderTimes],
    coverage: CoverageReport,
) -> MetricsReport:
    """The headline figures; the caller hands in what it has already computed for other sections."""
    return MetricsReport(
        mtta_seconds=metrics.mean_time_to_acknowledge(state),
        mttc_seconds=metrics.mean_time_to_contain(state),
        ttd_seconds=metrics.time_to_detect(state),
        ttc_seconds=metrics.time_to_contain(state),
        pages_total=len(state.pages),
        pages_unacknowledged=len(state.open_pages()),
        escalations=sum(1 for p in state.pages.values() if p.escalated_at is not None),
        handoff_latency_seconds=list(metrics.handoff_latencies(state).values()),
        unacknowledged_pages=metrics.unacknowledged_pages(state),
        mtta_by_responder={r.user: r.mtta for r in responders},
        detection_coverage=coverage.ratio,
        control_efficacy=metrics.control_efficacy(faults),
        ack_to_first_update_seconds=metrics.ack_to_first_update(state),
        late_updates=len(metrics.late_update_gaps(state, scenario.expect.update_every)),
        failed_reverts=len(failed),
    )


def comms_report(state: GameDayState, scenario: Scenario, events: list[Event]) -> CommsReport:
    """Comms clarity: status updates against the cadence ``expect.update_every``, and incident roles."""
    updates = metrics.update_times(state)
    late = metrics.late_update_gaps(state, scenario.expect.update_every)
    t0 = state.t0
    roles = [
        RoleReport(
            role=role,
            user=user,
            at=at,
            after_start_seconds=None if state.started_at is None else at - state.started_at,
            after_t0_seconds=None if t0 is None else at - t0,
        )
        for role, (user, at) in metrics.first_role_assignments(events).items()
    ]
    return CommsReport(
        first_ack_at=metrics.first_acknowledgement(state),
        first_update_at=updates[0] if updates else None,
        ack_to_first_update_seconds=metrics.ack_to_first_update(state),
        update_every_seconds=scenario.expect.update_every,
        updates=len(updates),
        update_gaps_seconds=[b - a for a, b in metrics.update_gaps(state)],
        late_update_gaps=[UpdateGapReport(from_at=a, to_at=b, gap_seconds=b - a) for a, b in late],
        roles=roles,
    )


def step_label(scenario: Scenario, step: int | None) -> str:
    """A step as a person recognises it: its number, time and what it did."""
    if step is None:
        return "before the first step"
    if not 0 <= step < len(scenario.steps):
        return f"step {step}"
    spec = scenario.steps[step]
    if spec.page is not None:
        what = f"page {spec.page.severity}: {spec.page.summary}"
    elif spec.fault is not None:
        what = f"fault {spec.fault.type}"
    elif spec.handoff is not None:
        what = f"handoff {spec.handoff.from_} → {spec.handoff.to}"
    else:
        what = "say: " + (spec.say or "").strip().split("\n")[0]
    return f"step {step} at {format_duration(spec.at)}: {what}"


class NoteReports:
    """One NoteReport per note of the timeline, shared by every list that shows the note (a gap is in
    ``gaps`` and ``runbook_fitness``, a decision in ``notes`` and ``decisions``): a long game day has
    thousands of notes, and each report is an object the garbage collector has to track."""

    def __init__(self, notes: list[Note]):
        self._reports = {id(note): note_report(note) for note in notes}

    def of(self, notes: Iterable[Note]) -> list[NoteReport]:
        return [self._reports[id(note)] for note in notes]


def note_report(note: Note) -> NoteReport:
    """One note of the timeline as the debrief shows it."""
    # field by field: dataclasses.asdict deep-copies every value
    return NoteReport(kind=note.kind, text=note.text, by=note.by, at=note.at, step=note.step)
