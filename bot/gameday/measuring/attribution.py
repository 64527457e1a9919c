"""Per-inject attribution: each fault carries markers of its own (``markers``), an alert carrying one is
matched to that inject, and the debrief shows every inject as detected in time, late, missed, still
pending, or not measured.

Each inject is timed from its own application, against the scenario's ``detect_within``: a game day
with three faults can detect the first in time, the second late and miss the third, which one TTD from
T0 cannot say. A detection that carries only the game day's marker (or a person's ``/sce detected``)
names no inject, so it counts for no inject here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.gameday.measuring.markers import inject_marker
from bot.gameday.measuring.report_models import InjectReport
from bot.gameday.scenario.durations import format_duration
from bot.gameday.state import GameDayState, Mark


class InjectStatus(StrEnum):
    IN_TIME = "in_time"
    LATE = "late"
    MISSED = "missed"
    PENDING = "pending"
    NOT_MEASURED = "not_measured"


def inject_reports(
    gameday_id: str,
    state: GameDayState,
    detect_within: float | None,
    alerts_reached: bool,
    now: float,
) -> list[InjectReport]:
    """Every fault the game day applied, in the order it applied them, with its own detection.

    ``alerts_reached``: whether any alert at all (matched or not) reached the game day; without one, an
    inject nobody detected says the alert path was not measured, not that detection failed.
    """
    final = state.status.is_over
    injects = [
        Inject(f.fault_id, f.step, f.type, f.applied_at, f.driver == "simulated")
        for f in state.faults.values()
    ]
    injects += [Inject(i, step, "http", at, False) for i, (step, at) in state.http_injects.items()]
    return [
        _report(gameday_id, inject, state.detections, detect_within, alerts_reached, now, final)
        for inject in sorted(injects, key=lambda i: (i.applied_at, i.id))
    ]


@dataclass(frozen=True)
class Inject:
    """A fault applied, or an http step sent with its marker header."""

    id: str
    step: int
    type: str
    applied_at: float
    simulated: bool


def _report(
    gameday_id: str,
    fault: Inject,
    detections: list[Mark],
    target: float | None,
    alerts_reached: bool,
    now: float,
    final: bool,
) -> InjectReport:
    mine = sorted((d for d in detections if d.inject == fault.id), key=lambda d: d.at)
    first = mine[0] if mine else None
    seconds = None if first is None else first.at - fault.applied_at
    status, comment = _status(fault, seconds, target, alerts_reached, now, final)
    return InjectReport(
        id=fault.id,
        step=fault.step,
        type=fault.type,
        marker=inject_marker(gameday_id, fault.id),
        applied_at=fault.applied_at,
        detected_at=None if first is None else first.at,
        detected_by=None if first is None else (first.by or first.source),
        seconds_to_detect=seconds,
        detections=len(mine),
        status=str(status),
        comment=comment,
    )


def _status(
    fault: Inject,
    seconds: float | None,
    target: float | None,
    alerts_reached: bool,
    now: float,
    final: bool,
) -> tuple[InjectStatus, str]:
    within = "" if target is None else f" (detect_within {format_duration(target)})"
    if fault.simulated:
        return InjectStatus.NOT_MEASURED, "simulated: nothing ran in a cluster for a detection to see"
    if seconds is not None:
        after = format_duration(max(seconds, 0.0))
        if target is not None and seconds > target:
            return InjectStatus.LATE, f"detected {after} after it was applied, later than{within[1:-1]}"
        return InjectStatus.IN_TIME, f"detected {after} after it was applied{within}"
    if not final and (target is None or now - fault.applied_at <= target):
        return InjectStatus.PENDING, f"no alert carrying its marker yet{within}"
    if not alerts_reached:
        return InjectStatus.NOT_MEASURED, "no alert of any kind reached the game day"
    return InjectStatus.MISSED, f"no alert carried its marker{within}"
