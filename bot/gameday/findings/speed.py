"""Learning-loop speed: how long a finding took from found to fixed, and from fixed to verified by a
regression run; the medians per scenario. A duration not yet run out (not fixed, not verified) is None
and counts in no median."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from statistics import median

from bot.gameday.findings.model import Finding


@dataclass(frozen=True)
class LoopDurations:
    found_to_fixed: float | None
    fixed_to_verified: float | None


@dataclass(frozen=True)
class LoopSpeed:
    """A scenario's medians (None: no finding got that far) and how many findings each counts."""

    scenario: str
    found_to_fixed: float | None
    fixed_to_verified: float | None
    fixed: int
    verified: int


def loop_durations(finding: Finding) -> LoopDurations:
    """Seconds from found to fixed and from fixed to verified (None where the finding is not there yet)."""
    fixed = finding.fixed_at
    found_to_fixed = fixed - finding.created_at if fixed is not None else None
    verified = finding.verified_at
    fixed_to_verified = verified - fixed if verified is not None and fixed is not None else None
    return LoopDurations(found_to_fixed, fixed_to_verified)


def loop_speed_by_scenario(findings: Iterable[Finding]) -> list[LoopSpeed]:
    """The medians of each scenario's durations, scenarios in name order."""
    by_scenario: dict[str, list[LoopDurations]] = {}
    for finding in findings:
        by_scenario.setdefault(finding.scenario, []).append(loop_durations(finding))
    speeds = []
    for scenario in sorted(by_scenario):
        to_fixed = [d.found_to_fixed for d in by_scenario[scenario] if d.found_to_fixed is not None]
        to_verified = [d.fixed_to_verified for d in by_scenario[scenario] if d.fixed_to_verified is not None]
        speeds.append(
            LoopSpeed(
                scenario,
                median(to_fixed) if to_fixed else None,
                median(to_verified) if to_verified else None,
                len(to_fixed),
                len(to_verified),
            )
        )
    return speeds
