"""Learning-loop speed: how long a finding took from found to fixed, and from fixed to verified by a
regression run; the medians per scenario. A duration not yet run out (not fixed, not verified) is None
and counts in no median."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from statistics import median
from typing import Protocol


class Timed(Protocol):
    """What the durations read of a finding: a Finding, or the programme report's lighter FindingFacts."""

    @property
    def scenario(self) -> str: ...
    @property
    def created_at(self) -> float: ...
    @property
    def fixed_at(self) -> float | None: ...
    @property
    def verified_at(self) -> float | None: ...


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


def loop_durations(finding: Timed) -> LoopDurations:
    """Seconds from found to fixed and from fixed to verified (None where the finding is not there yet)."""
    fixed = finding.fixed_at
    found_to_fixed = fixed - finding.created_at if fixed is not None else None
    verified = finding.verified_at
    fixed_to_verified = verified - fixed if verified is not None and fixed is not None else None
    return LoopDurations(found_to_fixed, fixed_to_verified)


def loop_speed(name: str, findings: Iterable[Timed]) -> LoopSpeed:
    """The medians of these findings' durations (a scenario's, a team's), under ``name``."""
    durations = [loop_durations(f) for f in findings]
    to_fixed = [d.found_to_fixed for d in durations if d.found_to_fixed is not None]
    to_verified = [d.fixed_to_verified for d in durations if d.fixed_to_verified is not None]
    return LoopSpeed(
        name,
        median(to_fixed) if to_fixed else None,
        median(to_verified) if to_verified else None,
        len(to_fixed),
        len(to_verified),
    )


def loop_speed_by_scenario(findings: Iterable[Timed]) -> list[LoopSpeed]:
    """The medians of each scenario's durations, scenarios in name order."""
    by_scenario: dict[str, list[Timed]] = {}
    for finding in findings:
        by_scenario.setdefault(finding.scenario, []).append(finding)
    return [loop_speed(scenario, by_scenario[scenario]) for scenario in sorted(by_scenario)]
