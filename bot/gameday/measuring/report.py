"""The debrief as data: computed from the timeline alone, so it can be recomputed at any time.

Its JSON form (``sce debrief --format json``) is a product contract documented in the README.
Here: the whole debrief and the record of what ran; ``report_response`` (pages, responders,
expectations, metrics, comms, notes) and ``report_detection`` (coverage, controls, alert fidelity)
build its sections.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from bot.gameday.measuring import evidence, metrics, unattended
from bot.gameday.measuring.attribution import inject_reports
from bot.gameday.measuring.panel_report import panel_reports
from bot.gameday.measuring.report_detection import alert_fidelity_report, controls_report, coverage_report
from bot.gameday.measuring.report_models import (
    ApprovalReport,
    ChangeControlReport,
    CharterReport,
    Debrief,
    FailedRevertReport,
    HandoffReport,
    NotMeasuredReport,
    SteadyStateReport,
    StepGapsReport,
)
from bot.gameday.measuring.report_response import (
    NoteReports,
    comms_report,
    expectation_report,
    mark_report,
    metrics_report,
    page_report,
    responder_reports,
    step_label,
)
from bot.gameday.measuring.steady_report import steady_state_report
from bot.gameday.people import participants
from bot.gameday.scenario.model import Scenario
from bot.gameday.scenario.window import describe_window_in_full, in_window
from bot.gameday.state import GameDayState, Status, fold
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
    alone = unattended.is_unattended(events)  # nobody attends: only what machines decide is judged
    judged_state = unattended.machine_state(state, events) if alone else state
    results = metrics.expectation_results(judged_state, scenario.expect, now=now, final=final)
    # each figure computed once, then handed to every section that shows it
    faults = metrics.fault_outcomes(events)
    facts = evidence.inject_facts(scenario, judged_state, events, faults)
    skipped = {name: unattended.not_applicable_reason(name) for name in unattended.HUMAN_EXPECTATIONS}
    judged = evidence.judge(results, facts, skipped if alone else None)
    verdict, verdict_reason = evidence.verdict(state, judged)
    failed = metrics.failed_reverts(events)
    responders = metrics.responder_times(state)
    coverage = coverage_report(scenario.attack, evidence.technique_status(judged, facts, state.t0))
    notes = NoteReports(state.notes)
    steady = steady_state_report(scenario, events)
    return Debrief(
        alert_fidelity=alert_fidelity_report(events),
        injects=inject_reports(gameday_id, state, scenario.expect.detect_within, facts.alerts_reached, now),
        steady_state=steady,
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
        metrics=metrics_report(judged_state, scenario, faults, failed, responders, coverage),
        pages=[page_report(p) for p in state.pages.values()],
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
        expectations=[expectation_report(j) for j in judged],
        not_measured=[
            NotMeasuredReport(name=j.result.name, evidence=str(j.evidence), reason=j.reason or "")
            for j in judged
            if not j.measured
        ]
        + _steady_unmeasured(steady)
        + (_unattended_unjudged(scenario, state) if alone else []),
        unattended=alone,
        missed=[j.result.name for j in judged if j.measured and j.result.outcome is metrics.Outcome.MISSED],
        gaps=notes.of(n for n in state.notes if n.kind == "gap"),
        notes=notes.of(n for n in state.notes if n.kind != "gap"),
        questions=list(scenario.debrief.questions),
        timeline=[e.to_json() for e in events],
        scenario_hash=_scenario_hash(events),
        attack=list(scenario.attack),
        t0=state.t0,
        responders=responder_reports(responders),
        detections=[mark_report(m) for m in state.detections],
        containments=[mark_report(m) for m in state.containments],
        coverage=coverage,
        controls=controls_report(faults, facts.simulated_faults - sum(f.simulated for f in faults)),
        failed_reverts=[FailedRevertReport(**asdict(f)) for f in failed],
        comms=comms_report(state, scenario, events),
        decisions=notes.of(metrics.notes_of_kind(state, "decision")),
        actions=notes.of(metrics.notes_of_kind(state, "action")),
        runbook_fitness=[
            StepGapsReport(step=step, label=step_label(scenario, step), gaps=notes.of(gaps))
            for step, gaps in metrics.gaps_by_step(state).items()
        ],
        approvals=_approvals(events),
        time_origin=time_origin(state, events),
        people=participants.people_names(events, roster, names or {}),
        charter=_charter(scenario),
        change_control=_change_control(scenario, state.started_at),
        participants=participants.participants(events, roster, names or {}),
        panels=panel_reports(events),
    )


def _unattended_unjudged(scenario: Scenario, state: GameDayState) -> list[NotMeasuredReport]:
    """What an unattended run leaves unjudged beyond the expectations: the update cadence, and a
    detection a person recorded all the same."""
    rows = []
    if scenario.expect.update_every is not None:
        reason = unattended.not_applicable_reason("update_every")
        rows.append(NotMeasuredReport(name="update_every", evidence="unattended", reason=reason))
    if unattended.person_detected(state):
        reason = unattended.PERSON_DETECTION_REASON
        rows.append(NotMeasuredReport(name="detection by a person", evidence="unattended", reason=reason))
    return rows


def _steady_unmeasured(steady: SteadyStateReport) -> list[NotMeasuredReport]:
    reason = steady.not_measured_reason
    if not reason:
        return []
    return [NotMeasuredReport(name="steady_state", evidence="no_telemetry", reason=reason)]


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


def _change_control(scenario: Scenario, started_at: float | None) -> ChangeControlReport | None:
    """The scenario's change ticket, window and announce channels, as the debrief shows them."""
    window, change = scenario.window, scenario.change
    if window is None and change is None and scenario.comms is None:
        return None
    return ChangeControlReport(
        ticket=change.ticket if change else None,
        url=change.url if change else None,
        window=describe_window_in_full(window) if window else None,
        started_in_window=in_window(window, started_at) if window and started_at is not None else None,
        announce=list(scenario.comms.announce) if scenario.comms else [],
    )


def with_names(debrief: Debrief, names: Mapping[str, str]) -> Debrief:
    """The debrief with people shown by ``names`` (user id -> name) where it names them: what the Slack
    edge does after resolving the ids of ``debrief.people`` (the builder itself knows no names)."""
    people = {user: (names.get(user) or "").strip() or shown for user, shown in debrief.people.items()}
    crew = [p.model_copy(update={"name": people.get(p.user, p.name)}) for p in debrief.participants]
    return debrief.model_copy(update={"people": people, "participants": crew})


def _scenario_hash(events: list[Event]) -> str | None:
    started = next((e for e in events if e.kind is Kind.STARTED), None)
    return None if started is None else started.data.get("scenario_hash")


def _approvals(events: list[Event]) -> list[ApprovalReport]:
    """Approvals on the timeline, each checked against the hash of the scenario the game day ran."""
    ran = _scenario_hash(events)
    standing = Kind.STANDING_APPROVED
    return [
        ApprovalReport(
            by=e.actor,
            at=float(e.data.get("granted_at", e.at)) if e.kind is standing else e.at,
            scenario_hash=e.data.get("scenario_hash"),
            matches_scenario=ran is not None and e.data.get("scenario_hash") == ran,
            standing_until=e.data.get("expires_at") if e.kind is standing else None,
        )
        for e in events
        if e.kind in (Kind.APPROVED, standing)
    ]


def is_over(events: list[Event]) -> bool:
    return fold(events).status in (Status.COMPLETED, Status.ABORTED, Status.FAILED)
