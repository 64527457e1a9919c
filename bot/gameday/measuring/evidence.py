"""What a debrief may claim: which expectations were measured, and on what evidence.

An expectation's timing (``metrics.expectation_results``) says when something happened; this module says
whether that timing proves anything. The rules, stated once for every format of the debrief:

- A fault whose driver is ``simulated``, or that a dry run only planned, never touched a system: no
  control ran and no detection source could see it. When every fault of a game day is like that,
  ``detect_within`` and ``contain_within`` are *not measured* (what people clicked is still listed),
  and control efficacy leaves those faults out (``None`` when nothing else was applied).
- ``detect_within`` with no detection recorded and no alert of any kind reaching the game day is *not
  measured* either: missing telemetry and a missed detection look the same from here.
- An expectation with nothing to time (no page sent, no handoff requested) is *not measured*.
- In an unattended run (``measuring/unattended``) what needs a person is *not applicable*, never missed.
- The verdict covers measured expectations only: ``falsified`` when a measured one was missed;
  ``validated`` only when every expectation that had something to time was measured and met;
  ``inconclusive`` when one of them could not be measured (simulated faults, missing telemetry), with
  the sentence saying which were met and which were not measured.

Detections from an alert (Alertmanager, the generic webhook, a matched Slack alert message) are evidence
of a control; a person's ``/sce detected`` or Detected button is a real detection by a person, which
counts for ``detect_within`` (the team did detect) but never for ATT&CK coverage (a control did not).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.gameday.measuring.metrics import ExpectationResult, FaultOutcome, Outcome, Verdict
from bot.gameday.scenario.durations import format_duration, format_offset
from bot.gameday.scenario.model import Scenario
from bot.gameday.state import GameDayState, Mark, Status
from bot.gameday.timeline import Event, Kind

# detection sources that are alerts (a control saw something); any other source is a person
ALERT_SOURCES = frozenset({"alertmanager", "webhook", "slack"})
_HOW = {"command": "/sce detected", "button": "the Detected button"}  # how a person recorded it


class Evidence(StrEnum):
    """What an expectation's outcome rests on."""

    MEASURED = "measured"
    SIMULATED = "simulated"  # every fault simulated or only planned by a dry run
    NO_TELEMETRY = "no_telemetry"  # no detection and no alert reached the game day
    NOTHING_TO_TIME = "nothing_to_time"  # no page sent, no handoff requested
    UNATTENDED = "unattended"  # nobody was there to do what it times (measuring/unattended)


class Timing(StrEnum):
    """When the thing an expectation times happened, against its target."""

    IN_TIME = "in_time"
    LATE = "late"
    NEVER = "never"
    PENDING = "pending"


class TechniqueStatus(StrEnum):
    """An ATT&CK technique's detection, as the Navigator layer colours it."""

    IN_TIME = "in_time"  # an alert detected it within detect_within (or at all, with no target)
    LATE = "late"  # an alert detected it after detect_within
    MISSED = "missed"  # alerts reached the game day, none carried its marker
    PERSON_ONLY = "person_only"  # only a person recorded a detection: no evidence of the control
    NOT_MEASURED = "not_measured"  # faults simulated, or no telemetry
    PENDING = "pending"


@dataclass(frozen=True)
class InjectFacts:
    """What really ran, read from the timeline."""

    real_faults: int
    simulated_faults: int  # applied by the simulated driver, or only planned by a dry run
    first_alert_detection: Mark | None
    first_person_detection: Mark | None
    alerts_reached: bool  # any alert at all (matched or not) reached the game day

    @property
    def all_faults_simulated(self) -> bool:
        return self.simulated_faults > 0 and self.real_faults == 0


@dataclass(frozen=True)
class Judged:
    """An expectation's result with the evidence behind it."""

    result: ExpectationResult
    evidence: Evidence
    timing: Timing | None
    reason: str | None  # why it was not measured, as a sentence; None when measured
    detected_by: str | None = None  # detect_within: "alert" or "person"

    @property
    def measured(self) -> bool:
        return self.evidence is Evidence.MEASURED

    @property
    def outcome(self) -> str:
        if self.measured:
            return str(self.result.outcome)
        not_applicable = self.evidence in (Evidence.NOTHING_TO_TIME, Evidence.UNATTENDED)
        return "not_applicable" if not_applicable else "not_measured"

    @property
    def met(self) -> bool | None:
        return self.result.met if self.measured else None


def inject_facts(
    scenario: Scenario, state: GameDayState, events: list[Event], faults: list[FaultOutcome]
) -> InjectFacts:
    """Count the faults that really ran against those simulated, and sort detections by source."""
    real = sum(1 for f in faults if not f.simulated)
    simulated = len(faults) - real
    alerts_reached = False
    for event in events:
        if event.kind is Kind.WOULD_SEND and _is_fault_step(scenario, event.data.get("step")):
            simulated += 1  # a dry run's plan of a fault: it never ran
        elif event.kind is Kind.ALERT_UNMATCHED:
            alerts_reached = True
    by_alert = [m for m in state.detections if m.source in ALERT_SOURCES]
    by_person = [m for m in state.detections if m.source not in ALERT_SOURCES]
    return InjectFacts(
        real_faults=real,
        simulated_faults=simulated,
        first_alert_detection=min(by_alert, key=lambda m: m.at, default=None),
        first_person_detection=min(by_person, key=lambda m: m.at, default=None),
        alerts_reached=alerts_reached or bool(by_alert),
    )


def _is_fault_step(scenario: Scenario, step: object) -> bool:
    return (
        isinstance(step, int) and 0 <= step < len(scenario.steps) and scenario.steps[step].fault is not None
    )


def judge(
    results: list[ExpectationResult], facts: InjectFacts, not_applicable: Mapping[str, str] | None = None
) -> list[Judged]:
    """Each expectation with its evidence: measured, or why not. ``not_applicable``: expectations an
    unattended run does not judge (name -> the sentence why), never missed."""
    skipped = not_applicable or {}
    return [
        Judged(r, Evidence.UNATTENDED, None, skipped[r.name]) if r.name in skipped else _judge(r, facts)
        for r in results
    ]


def _judge(result: ExpectationResult, facts: InjectFacts) -> Judged:
    timing = _timing(result)
    if result.outcome is Outcome.NOT_APPLICABLE:
        what = "no page was sent" if result.name == "acknowledge_within" else "no handoff was requested"
        return Judged(result, Evidence.NOTHING_TO_TIME, None, f"{what}, so there was nothing to time")
    if result.name in ("detect_within", "contain_within") and facts.all_faults_simulated:
        what = "detect" if result.name == "detect_within" else "contain"
        reason = (
            f"every fault was simulated (simulated driver or dry run), so there was nothing real to {what}; "
            f"what people recorded is listed but not counted"
        )
        return Judged(result, Evidence.SIMULATED, None, reason)
    if result.name != "detect_within":
        return Judged(result, Evidence.MEASURED, timing, None)
    first = _first(facts.first_alert_detection, facts.first_person_detection)
    if first is None and not facts.alerts_reached and result.outcome is Outcome.MISSED:
        reason = (
            "nobody recorded a detection and no alert reached the game day, so a missed detection cannot "
            "be told from missing telemetry (connect an alert source, or record /sce detected)"
        )
        return Judged(result, Evidence.NO_TELEMETRY, None, reason)
    by = None if first is None else ("alert" if first.source in ALERT_SOURCES else "person")
    return Judged(result, Evidence.MEASURED, timing, None, detected_by=by)


def _first(a: Mark | None, b: Mark | None) -> Mark | None:
    marks = [m for m in (a, b) if m is not None]
    return min(marks, key=lambda m: m.at, default=None)


def _timing(result: ExpectationResult) -> Timing | None:
    if result.outcome is Outcome.MET:
        return Timing.IN_TIME
    if result.outcome is Outcome.PENDING:
        return Timing.PENDING
    if result.outcome is Outcome.MISSED:
        late = result.actual_seconds is not None and result.actual_seconds > result.target_seconds
        return Timing.LATE if late else Timing.NEVER
    return None


def verdict(state: GameDayState, judged: list[Judged]) -> tuple[Verdict, str]:
    """The hypothesis verdict over measured expectations only, with the sentence that explains it."""
    measured = [j for j in judged if j.measured]
    unmeasured = [j.result.name for j in judged if not j.measured and j.evidence is not Evidence.UNATTENDED]
    unattended = [j.result.name for j in judged if j.evidence is Evidence.UNATTENDED]
    aside = f"; not measured: {', '.join(unmeasured)}" if unmeasured else ""
    aside += f"; not applicable in an unattended run: {', '.join(unattended)}" if unattended else ""
    if state.status is Status.ABORTED:
        return Verdict.INCONCLUSIVE, "aborted before every expectation had an outcome"
    missed = [j.result.name for j in measured if j.result.outcome is Outcome.MISSED]
    if missed:
        return Verdict.FALSIFIED, f"missed: {', '.join(missed)}{aside}"
    if any(j.result.outcome is Outcome.PENDING for j in measured):
        return Verdict.PENDING, f"still open: {', '.join(j.result.name for j in measured if j.met is None)}"
    if not measured:
        if not judged:
            return Verdict.INCONCLUSIVE, "nothing measured: the scenario sets no expectation"
        return Verdict.INCONCLUSIVE, f"nothing measured{aside}"
    unproven = [j.result.name for j in judged if j.evidence in (Evidence.SIMULATED, Evidence.NO_TELEMETRY)]
    if unproven:  # every expectation met is what validated means: one not measured is not met
        met = ", ".join(j.result.name for j in measured)
        return Verdict.INCONCLUSIVE, f"met: {met}; not measured: {', '.join(unproven)}"
    return Verdict.VALIDATED, f"met: {', '.join(j.result.name for j in measured)}{aside}"


@dataclass(frozen=True)
class TechniqueVerdict:
    status: TechniqueStatus
    comment: str


def technique_status(judged: list[Judged], facts: InjectFacts, origin: float | None) -> TechniqueVerdict:
    """How every simulated technique's detection is coloured (a detection names no technique, so all
    techniques of a game day share it): green only for an alert within ``detect_within``."""
    detect = next((j for j in judged if j.result.name == "detect_within"), None)
    if detect is not None and not detect.measured:
        return TechniqueVerdict(TechniqueStatus.NOT_MEASURED, f"not measured: {detect.reason}")
    alert = facts.first_alert_detection
    if alert is not None:
        after = "" if origin is None else f" {format_offset(alert.at, origin)} from T0"
        what = f"detected by an alert ({alert.by or alert.source}){after}"
        if detect is None:
            return TechniqueVerdict(TechniqueStatus.IN_TIME, f"{what}; the scenario sets no detect_within")
        target = detect.result.target_seconds
        if origin is not None and alert.at - origin > target:
            return TechniqueVerdict(TechniqueStatus.LATE, f"{what}, later than detect_within {_dur(target)}")
        return TechniqueVerdict(TechniqueStatus.IN_TIME, f"{what}, within detect_within {_dur(target)}")
    if facts.first_person_detection is not None:
        person = facts.first_person_detection
        return TechniqueVerdict(
            TechniqueStatus.PERSON_ONLY,
            f"detected by a person only ({_HOW.get(person.source, person.source)}); a person's detection is "
            "real, but coverage counts what the controls detected, and no alert did",
        )
    if detect is not None and detect.result.outcome is Outcome.PENDING:
        return TechniqueVerdict(TechniqueStatus.PENDING, "no detection yet; detect_within is still open")
    if not facts.alerts_reached:
        return TechniqueVerdict(
            TechniqueStatus.NOT_MEASURED, "not measured: no alert of any kind reached the game day"
        )
    return TechniqueVerdict(
        TechniqueStatus.MISSED, "missed: alerts reached the game day, none of them carried its marker"
    )


def _dur(seconds: float) -> str:
    return format_duration(seconds)


def simulated_expectations(scenario: Scenario, state: GameDayState, dry_run: bool) -> frozenset[str]:
    """The expectations a live status line must not tick while the game day runs: detect_within and
    contain_within once every fault applied so far was simulated, or in a dry run of a scenario with
    faults (the same rule as the debrief's, read from the state alone)."""
    has_faults = any(step.fault is not None for step in scenario.steps)
    faults = list(state.faults.values())
    simulated = (dry_run and has_faults) or (bool(faults) and all(f.driver == "simulated" for f in faults))
    return frozenset({"detect_within", "contain_within"}) if simulated else frozenset()
