"""The debrief's typed models: the JSON contract of `sce debrief --format json` (see the README).

Fields are only ever added, never renamed; the JSON Schema in bot/debrief/schema/ is generated from them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

SCHEMA_VERSION = 1


class PageReport(BaseModel):
    id: str
    step: int
    severity: str
    summary: str
    responder: str
    paged_at: float
    acknowledged_at: float | None
    acknowledged_by: str | None
    tta_seconds: float | None
    escalated: bool
    escalated_to: str | None
    escalated_at: float | None


class HandoffReport(BaseModel):
    id: str
    from_user: str | None
    to_user: str
    requested_at: float
    completed_at: float | None
    latency_seconds: float | None
    page_ids: list[str] = []


class ExpectationReport(BaseModel):
    """``met`` is None unless the expectation was measured; ``outcome`` is met, missed, pending,
    not_applicable (nothing to time) or not_measured (simulated faults, no telemetry)."""

    name: str
    target_seconds: float
    actual_seconds: float | None
    met: bool | None
    outcome: str
    measured: bool = True
    evidence: str = "measured"  # measured | simulated | no_telemetry | nothing_to_time | unattended
    timing: str | None = None  # in_time | late | never | pending; None when not measured
    not_measured_reason: str | None = None
    detected_by: str | None = None  # detect_within: alert | person


class NotMeasuredReport(BaseModel):
    """An expectation the verdict does not cover, and why."""

    name: str
    evidence: str
    reason: str


class LearningLoopReport(BaseModel):
    """How the findings of this scenario (and of its team: the channel its game days run in) moved from
    found to fixed to verified, as of the debrief: medians in seconds (None: no finding got that far).
    Read from the findings store by the edge that builds the debrief (bot/gameday/findings/loop.py)."""

    scenario: str
    team: str
    this_run: list[str] = []  # the finding ids this game day left
    findings: int = 0
    by_state: dict[str, int] = {}
    found_to_fixed_seconds: float | None = None
    fixed_to_verified_seconds: float | None = None
    fixed: int = 0  # findings counted in the found-to-fixed median
    verified: int = 0  # findings counted in the fixed-to-verified median
    team_found_to_fixed_seconds: float | None = None
    team_fixed_to_verified_seconds: float | None = None


class NoteReport(BaseModel):
    kind: str
    text: str
    by: str | None
    at: float
    step: int | None


class MetricsReport(BaseModel):
    mtta_seconds: float | None
    mttc_seconds: float | None
    ttd_seconds: float | None
    ttc_seconds: float | None
    pages_total: int
    pages_unacknowledged: int
    escalations: int
    handoff_latency_seconds: list[float]
    unacknowledged_pages: list[str] = []
    mtta_by_responder: dict[str, float | None] = {}
    detection_coverage: float | None = None
    control_efficacy: float | None = None
    ack_to_first_update_seconds: float | None = None
    late_updates: int = 0
    failed_reverts: int = 0


class ResponderAck(BaseModel):
    page_id: str
    tta_seconds: float


class ResponderReport(BaseModel):
    """One person's pages; TTA counts from when they were paged (the page, or the escalation to them)."""

    user: str
    paged: list[str]
    acknowledged: list[ResponderAck]
    unacknowledged: list[str]
    mtta_seconds: float | None


class MarkReport(BaseModel):
    at: float
    by: str | None
    source: str
    page_id: str | None


class TechniqueReport(BaseModel):
    """``detected``: an alert detected it during the game day (in time or late); ``status`` says which
    (in_time, late, missed, person_only, not_measured, pending) and ``comment`` why."""

    id: str
    detected: bool
    status: str = "not_measured"
    comment: str = ""


class CoverageReport(BaseModel):
    """``detected`` counts techniques an alert detected in time; ``ratio`` is detected / measured
    techniques, None when none was measured (``not_measured_reason`` says why)."""

    simulated: int = 0
    detected: int = 0
    late: int = 0
    measured: int = 0
    ratio: float | None = None
    techniques: list[TechniqueReport] = []
    not_measured_reason: str | None = None


class FaultReport(BaseModel):
    fault_id: str
    step: int | None
    type: str
    driver: str | None
    applied_at: float
    reverted_at: float | None
    observed: str | None
    blocked: bool
    simulated: bool = False


class ControlsReport(BaseModel):
    """``efficacy`` = blocked / ``observed`` (faults observed blocked or allowed): a simulated fault
    (``simulated``) or one nobody read back is not counted either way; None when none was observed
    (``not_measured_reason`` says why)."""

    applied: int = 0
    blocked: int = 0
    efficacy: float | None = None
    faults: list[FaultReport] = []
    simulated: int = 0
    observed: int = 0
    not_measured_reason: str | None = None


class FailedRevertReport(BaseModel):
    fault_id: str
    at: float
    error: str
    reverted_later: bool


class UpdateGapReport(BaseModel):
    from_at: float
    to_at: float
    gap_seconds: float


class RoleReport(BaseModel):
    role: str
    user: str
    at: float
    after_start_seconds: float | None
    after_t0_seconds: float | None


class CommsReport(BaseModel):
    first_ack_at: float | None = None
    first_update_at: float | None = None
    ack_to_first_update_seconds: float | None = None
    update_every_seconds: float | None = None
    updates: int = 0
    update_gaps_seconds: list[float] = []
    late_update_gaps: list[UpdateGapReport] = []
    roles: list[RoleReport] = []


class StepGapsReport(BaseModel):
    step: int | None
    label: str
    gaps: list[NoteReport]


class ApprovalReport(BaseModel):
    """An approval on the timeline; a standing one (an unattended run's) has ``standing_until``, its
    expiry, and ``at`` is when it was given."""

    by: str | None
    at: float
    scenario_hash: str | None
    matches_scenario: bool
    standing_until: float | None = None


class SteadyProbeReport(BaseModel):
    """One steady-state probe over the game day: its looks while it ran (held, breached, not measured) and
    its last finding; ``recovered_after_seconds`` counts from the end to the first look after it that held."""

    name: str
    looks: int = 0
    held: int = 0
    breached: int = 0
    not_measured: int = 0
    first_breach_at: float | None = None
    last_finding: str = ""
    recovered_after_seconds: float | None = None


class SteadyStateReport(BaseModel):
    """The scenario's steady state (``steady_state:``): each probe, whether it was breached while the game
    day ran (which aborts it), and whether and how soon after the end it all held again (None: not yet
    looked at, or never recovered within the looks)."""

    probes: list[SteadyProbeReport] = []
    breached: bool = False
    recovered: bool | None = None
    recovered_after_seconds: float | None = None
    not_measured_reason: str | None = None  # none of it could be looked at (no Prometheus, faults simulated)


class InjectReport(BaseModel):
    """One inject (a fault) and the first alert that carried its own marker, timed from its application
    against ``detect_within``: ``status`` is in_time, late, missed, pending or not_measured."""

    id: str
    step: int | None
    type: str
    marker: str
    applied_at: float
    detected_at: float | None = None
    detected_by: str | None = None
    seconds_to_detect: float | None = None
    detections: int = 0
    status: str
    comment: str = ""


class AlertFidelityReport(BaseModel):
    """Alerts that carried the game day's marker (detections) against those that fired without it;
    ``attributed``: the detections whose alert carried an inject's own marker."""

    matched: int = 0
    attributed: int = 0
    unmatched: int = 0
    ratio: float | None = None
    unmatched_alerts: list[str] = []


class CharterReport(BaseModel):
    objective: str
    hypothesis: str
    scope: str | None = None
    method: str | None = None
    owners: dict[str, str] = {}
    rollback: str | None = None


class ChangeControlReport(BaseModel):
    """The change control a game day ran under (the charter's "Approval & window: CAB ticket #,
    date/time"): its change ticket and link, its window in words, whether it started inside it (None:
    it never started), and the channels its comms announced it to."""

    ticket: str | None = None
    url: str | None = None
    window: str | None = None
    started_in_window: bool | None = None
    announce: list[str] = []


class ParticipantReport(BaseModel):
    """Someone who acted in the game day (a user id), with the roles they filled."""

    user: str
    name: str
    roles: list[str] = []
    actions: int = 0


class SeriesReport(BaseModel):
    """One series of a panel: its labels, its ``[unix time, value]`` points (None where the value was not a
    finite number) and, of its values, the least, the greatest and the last (None: no value)."""

    labels: dict[str, str] = {}
    points: list[tuple[float, float | None]] = []
    min: float | None = None
    max: float | None = None
    last: float | None = None


class PanelReport(BaseModel):
    """A chart of the game day's window (``start`` to ``end``, every ``step`` seconds): a scenario panel
    (``source`` panel) or a steady-state probe (``steady_state``, ``expect`` its tolerance), asked of the
    team's Prometheus at the end. ``series`` holds at most 10 of the ``series_total`` the query returned;
    ``problem`` says, in one sentence, why there is nothing to draw (None when the query answered)."""

    title: str
    promql: str
    source: str = "panel"
    expect: str | None = None
    start: float
    end: float
    step: float
    series: list[SeriesReport] = []
    series_total: int = 0
    problem: str | None = None


class Debrief(BaseModel):
    schema_version: int = SCHEMA_VERSION
    id: str
    scenario: str
    title: str
    status: str
    verdict: str
    hypothesis: str
    started_at: float | None
    ended_at: float | None
    end_reason: str | None
    roster: dict[str, str]
    metrics: MetricsReport
    pages: list[PageReport]
    handoffs: list[HandoffReport]
    expectations: list[ExpectationReport]
    missed: list[str]
    gaps: list[NoteReport]
    notes: list[NoteReport]
    questions: list[str]
    timeline: list[dict[str, Any]]
    scenario_hash: str | None = None
    attack: list[str] = []
    t0: float | None = None
    responders: list[ResponderReport] = []
    detections: list[MarkReport] = []
    containments: list[MarkReport] = []
    coverage: CoverageReport = CoverageReport()
    controls: ControlsReport = ControlsReport()
    failed_reverts: list[FailedRevertReport] = []
    comms: CommsReport = CommsReport()
    decisions: list[NoteReport] = []
    actions: list[NoteReport] = []
    runbook_fitness: list[StepGapsReport] = []
    approvals: list[ApprovalReport] = []
    alert_fidelity: AlertFidelityReport = AlertFidelityReport()
    injects: list[InjectReport] = []
    steady_state: SteadyStateReport = SteadyStateReport()
    verdict_reason: str = ""
    not_measured: list[NotMeasuredReport] = []
    time_origin: float | None = None  # every displayed "+time" counts from here: T0, else the start
    people: dict[str, str] = {}  # user id -> display name (the ids themselves when unknown)
    charter: CharterReport | None = None
    change_control: ChangeControlReport | None = None  # None: the scenario names no window, change or comms
    participants: list[ParticipantReport] = []
    panels: list[PanelReport] = []  # drawn over the window, faults as bands (bot/debrief/panels.py)
    unattended: bool = False  # run by `sce run`: what needs a person is not applicable, never missed
    learning_loop: LearningLoopReport | None = None  # the findings' loop; None where no store was asked
