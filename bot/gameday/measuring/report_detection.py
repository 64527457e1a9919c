"""How the defences did, as the debrief shows it: ATT&CK coverage, the controls that blocked or let
faults through, and alert fidelity (``bot/gameday/measuring/report`` puts the debrief together)."""

from __future__ import annotations

from dataclasses import asdict

from bot.gameday.measuring import evidence, metrics
from bot.gameday.measuring.report_models import (
    AlertFidelityReport,
    ControlsReport,
    CoverageReport,
    FaultReport,
    TechniqueReport,
)
from bot.gameday.timeline import Event, Kind


def coverage_report(attack: list[str], status: evidence.TechniqueVerdict) -> CoverageReport:
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


def controls_report(outcomes: list[metrics.FaultOutcome], planned: int) -> ControlsReport:
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


def alert_fidelity_report(events: list[Event]) -> AlertFidelityReport:
    """Signal quality: detections that came from alerts carrying the marker, against alerts without it."""
    from_alerts = [
        e for e in events if e.kind is Kind.DETECTED and e.data.get("source") in evidence.ALERT_SOURCES
    ]
    matched = len(from_alerts)
    noise = [e for e in events if e.kind is Kind.ALERT_UNMATCHED]
    total = matched + len(noise)
    return AlertFidelityReport(
        matched=matched,
        attributed=sum(1 for e in from_alerts if e.data.get("inject")),
        unmatched=len(noise),
        ratio=matched / total if total else None,
        unmatched_alerts=[f"{e.data.get('source')}: {e.data.get('name')}" for e in noise],
    )
