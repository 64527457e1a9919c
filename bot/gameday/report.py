"""The debrief as data: computed from the timeline alone, so it can be recomputed at any time.

Its JSON form (``sce debrief --format json``) is a product contract documented in the README.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict

from bot.gameday import evidence, metrics, participants
from bot.gameday.durations import format_duration
from bot.gameday.report_models import (
    AlertFidelityReport,
    ApprovalReport,
    CharterReport,
    CommsReport,
    ControlsReport,
    CoverageReport,
    Debrief,
    ExpectationReport,
    FailedRevertReport,
    FaultReport,
    HandoffReport,
    MarkReport,
    MetricsReport,
    NoteReport,
    NotMeasuredReport,
    PageReport,
    ResponderAck,
    ResponderReport,
    RoleReport,
    StepGapsReport,
    TechniqueReport,
    UpdateGapReport,
)
from bot.gameday.scenario import Scenario
from bot.gameday.state import GameDayState, Mark, Note, PageState, Status, fold
from bot.gameday.timeline import Event, Kind

ALERT_SOURCES = evidence.ALERT_SOURCES


def build_debrief(
    gameday_id: str,
    scenario: Scenario,
    roster: dict[str, str],
    events: list[Event],
    now: float,
    names: Mapping[str, str] | None = None,
) -> Debrief:
    """Compute the whole debrief from the timeline; ``now`` decides expectations still open.

    ``names`` maps user ids to the names people know them by (the Slack edge fills it); an id it does
    not name is shown as the id itself.
    """
    state = fold(events)
    final = state.status.is_over
    results = metrics.expectation_results(state, scenario.expect, now=now, final=final)
    # each figure computed once, then handed to every section that shows it
    faults = metrics.fault_outcomes(events)
    facts = evidence.inject_facts(scenario, state, events, faults)
    judged = evidence.judge(results, facts)
    verdict, verdict_reason = evidence.verdict(state, judged)
    failed = metrics.failed_reverts(events)
    responders = metrics.responder_times(state)
    coverage = _coverage(scenario.attack, evidence.technique_status(judged, facts, state.t0))
    notes = _NoteReports(state.notes)
    return Debrief(
        alert_fidelity=_alert_fidelity(events),
        id=gameday_id,
        scenario=scenario.id,
        title=scenario.title,
        status=str(state.status),
        verdict=str(verdict),
        verdict_reason=verdict_reason,
        hypothesis=scenario.charter.hypothesis,
        started_at=state.started_at,
        ended_at=state.ended_at,
        end_reason=state.end_reason,
        roster=roster,
        metrics=_metrics(state, scenario, faults, failed, responders, coverage),
        pages=[_page(p) for p in state.pages.values()],
        handoffs=[
            HandoffReport(
                id=h.handoff_id,
                from_user=h.from_user,
                to_user=h.to_user,
                requested_at=h.requested_at,
                completed_at=h.completed_at,
                latency_seconds=h.latency,
                page_ids=list(h.page_ids),
            )
            for h in state.handoffs
        ],
        expectations=[_expectation(j) for j in judged],
        not_measured=[
            NotMeasuredReport(name=j.result.name, evidence=str(j.evidence), reason=j.reason or "")
            for j in judged
            if not j.measured
        ],
        missed=[j.result.name for j in judged if j.measured and j.result.outcome is metrics.Outcome.MISSED],
        gaps=notes.of(n for n in state.notes if n.kind == "gap"),
        notes=notes.of(n for n in state.notes if n.kind != "gap"),
        questions=list(scenario.debrief.questions),
        timeline=[e.to_json() for e in events],
        scenario_hash=_scenario_hash(events),
        attack=list(scenario.attack),
        t0=state.t0,
        responders=_responders(responders),
        detections=[_mark(m) for m in state.detections],
        containments=[_mark(m) for m in state.containments],
        coverage=coverage,
        controls=_controls(faults, facts.simulated_faults - sum(f.simulated for f in faults)),
        failed_reverts=[FailedRevertReport(**asdict(f)) for f in failed],
        comms=_comms(state, scenario, events),
        decisions=notes.of(metrics.notes_of_kind(state, "decision")),
        actions=notes.of(metrics.notes_of_kind(state, "action")),
        runbook_fitness=[
            StepGapsReport(step=step, label=_step_label(scenario, step), gaps=notes.of(gaps))
            for step, gaps in metrics.gaps_by_step(state).items()
        ],
        approvals=_approvals(events),
        time_origin=time_origin(state, events),
        people=participants.people_names(events, roster, names or {}),
        charter=_charter(scenario),
        participants=participants.participants(events, roster, names or {}),
    )


def time_origin(state: GameDayState, events: list[Event]) -> float | None:
    """The one origin of every "+time" a debrief shows: T0 (the first inject, as the metrics use it);
    before any inject, the game day's recorded start; with no start, its first event."""
    if state.t0 is not None:
        return state.t0
    if state.started_at is not None:
        return state.started_at
    return min((e.at for e in events), default=None)


def _charter(scenario: Scenario) -> CharterReport:
    c = scenario.charter
    owners = {k: v for k, v in c.owners.model_dump().items() if v}
    return CharterReport(
        objective=c.objective,
        hypothesis=c.hypothesis,
        scope=c.scope,
        method=c.method,
        owners=owners,
        rollback=c.rollback,
    )


def with_names(debrief: Debrief, names: Mapping[str, str]) -> Debrief:
    """The debrief with people shown by ``names`` (user id -> name) where it names them: what the Slack
    edge does after resolving the ids of ``debrief.people`` (the builder itself knows no names)."""
    people = {user: (names.get(user) or "").strip() or shown for user, shown in debrief.people.items()}
    crew = [p.model_copy(update={"name": people.get(p.user, p.name)}) for p in debrief.participants]
    return debrief.model_copy(update={"people": people, "participants": crew})


def _expectation(j: evidence.Judged) -> ExpectationReport:
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


def _metrics(
    state: GameDayState,
    scenario: Scenario,
    faults: list[metrics.FaultOutcome],
    failed: list[metrics.FailedRevert],
    responders: list[metrics.ResponderTimes],
    coverage: CoverageReport,
) -> MetricsReport:
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


def _responders(responders: list[metrics.ResponderTimes]) -> list[ResponderReport]:
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


def _coverage(attack: list[str], status: evidence.TechniqueVerdict) -> CoverageReport:
    """Every simulated technique shares the game day's detection (a detection names no technique):
    coverage counts those an alert detected in time, over those whose detection was measured."""
    techniques = list(dict.fromkeys(attack))
    S = evidence.TechniqueStatus
    measured = status.status in (S.IN_TIME, S.LATE, S.MISSED)
    in_time = len(techniques) if status.status is S.IN_TIME else 0
    return CoverageReport(
        simulated=len(techniques),
        detected=in_time,
        late=len(techniques) if status.status is S.LATE else 0,
        measured=len(techniques) if measured else 0,
        ratio=in_time / len(techniques) if techniques and measured else None,
        techniques=[
            TechniqueReport(
                id=t,
                detected=status.status in (S.IN_TIME, S.LATE),
                status=str(status.status),
                comment=status.comment,
            )
            for t in techniques
        ],
        not_measured_reason=None
        if measured or not techniques
        else status.comment.removeprefix("not measured: "),
    )


def _controls(outcomes: list[metrics.FaultOutcome], planned: int) -> ControlsReport:
    """``planned``: faults a dry run planned without applying them."""
    simulated = sum(o.simulated for o in outcomes)
    observed = sum(o.observed is not None for o in outcomes)
    reason = None
    if not outcomes and planned:
        reason = "a dry run only planned its faults: no control ran, so none could block or let one through"
    elif outcomes and simulated == len(outcomes):
        reason = "every fault was simulated: no control ran, so none could block or let one through"
    elif outcomes and not observed:
        reason = "no fault was observed blocked or allowed (nothing reads these fault types back)"
    return ControlsReport(
        applied=len(outcomes),
        blocked=sum(o.blocked for o in outcomes),
        efficacy=metrics.control_efficacy(outcomes),
        faults=[FaultReport(**asdict(o), blocked=o.blocked, simulated=o.simulated) for o in outcomes],
        simulated=simulated,
        observed=observed,
        not_measured_reason=reason,
    )


def _comms(state: GameDayState, scenario: Scenario, events: list[Event]) -> CommsReport:
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


def _scenario_hash(events: list[Event]) -> str | None:
    started = next((e for e in events if e.kind is Kind.STARTED), None)
    return None if started is None else started.data.get("scenario_hash")


def _approvals(events: list[Event]) -> list[ApprovalReport]:
    """Approvals on the timeline, each checked against the hash of the scenario the game day ran."""
    ran = _scenario_hash(events)
    return [
        ApprovalReport(
            by=e.actor,
            at=e.at,
            scenario_hash=e.data.get("scenario_hash"),
            matches_scenario=ran is not None and e.data.get("scenario_hash") == ran,
        )
        for e in events
        if e.kind is Kind.APPROVED
    ]


def _step_label(scenario: Scenario, step: int | None) -> str:
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


def _alert_fidelity(events: list[Event]) -> AlertFidelityReport:
    """Signal quality: detections that came from alerts carrying the marker, against alerts without it."""
    matched = sum(
        1 for e in events if e.kind is Kind.DETECTED and e.data.get("source") in evidence.ALERT_SOURCES
    )
    noise = [e for e in events if e.kind is Kind.ALERT_UNMATCHED]
    total = matched + len(noise)
    return AlertFidelityReport(
        matched=matched,
        unmatched=len(noise),
        ratio=matched / total if total else None,
        unmatched_alerts=[f"{e.data.get('source')}: {e.data.get('name')}" for e in noise],
    )


def _page(page: PageState) -> PageReport:
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


class _NoteReports:
    """One NoteReport per note of the timeline, shared by every list that shows the note (a gap is in
    ``gaps`` and ``runbook_fitness``, a decision in ``notes`` and ``decisions``): a long game day has
    thousands of notes, and each report is an object the garbage collector has to track."""

    def __init__(self, notes: list[Note]):
        self._reports = {id(note): _note(note) for note in notes}

    def of(self, notes: Iterable[Note]) -> list[NoteReport]:
        return [self._reports[id(note)] for note in notes]


def _note(note: Note) -> NoteReport:
    # field by field: dataclasses.asdict deep-copies every value
    return NoteReport(kind=note.kind, text=note.text, by=note.by, at=note.at, step=note.step)


def _mark(mark: Mark) -> MarkReport:
    return MarkReport(at=mark.at, by=mark.by, source=mark.source, page_id=mark.page_id)


def is_over(events: list[Event]) -> bool:
    return fold(events).status in (Status.COMPLETED, Status.ABORTED, Status.FAILED)
