"""What the programme report holds: the inputs it is computed from (one finished game day as ``RunFacts``)
and the report itself, a pydantic model so that ``sce report --format json`` has a generated schema."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from bot.gameday.findings.model import FindingState


@dataclass(frozen=True)
class RunFacts:
    """One finished game day as the report needs it: when it started, its timings, and the techniques an
    alert detected within ``detect_within`` (the debrief's coverage, status ``in_time``)."""

    gameday_id: str
    scenario: str
    started_at: float
    mtta: float | None = None
    ttd: float | None = None
    ttc: float | None = None
    detected_in_time: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FindingFacts:
    """A finding as the report needs it, as it stands at the report's ``now`` (an acceptance that ran
    out is open): read as five columns, so 50,000 of them cost no model validation."""

    scenario: str
    state: FindingState
    created_at: float
    fixed_at: float | None = None
    verified_at: float | None = None
    channel: str = ""  # the team: the channel its game day ran in


class QuarterReport(BaseModel):
    """A calendar quarter (UTC): its game days, the median timings, and each median minus the previous
    quarter's (negative: faster; None when either quarter has no value)."""

    quarter: str  # "2026-Q3"
    start: float
    end: float
    gamedays: int
    mtta: float | None = None
    ttd: float | None = None
    ttc: float | None = None
    mtta_delta: float | None = None
    ttd_delta: float | None = None
    ttc_delta: float | None = None


class TechniqueCoverage(BaseModel):
    """``state``: verified (an alert detected it in time within the last ``decay_days``), decayed
    (verified longer ago) or untested (in scope of a scenario, never detected in time)."""

    id: str
    name: str
    state: str
    score: int  # 100 verified, 50 decayed, 0 untested: what the Navigator layer colours
    last_verified_at: float | None = None
    scenarios: list[str] = []


class CoverageSummary(BaseModel):
    """``score`` is verified / (verified + decayed + untested) in percent: untested techniques in scope
    count against it; None when no technique is in scope or was ever detected."""

    verified: int
    decayed: int
    untested: int
    score: float | None = None
    techniques: list[TechniqueCoverage] = []


class AgeBucket(BaseModel):
    """Unresolved findings (open or fixing) whose age in days is in [min_days, max_days)."""

    label: str
    min_days: int
    max_days: int | None = None
    count: int


class FindingsSummary(BaseModel):
    total: int
    by_state: dict[str, int]
    unresolved_by_age: list[AgeBucket]


class LoopSpeedReport(BaseModel):
    """Median seconds from found to fixed and from fixed to verified, over the findings that got there."""

    scenario: str
    found_to_fixed: float | None = None
    fixed_to_verified: float | None = None
    fixed: int = 0
    verified: int = 0


class TeamLoopSpeedReport(BaseModel):
    """The same medians for a team: the findings of the game days run in one channel."""

    team: str
    found_to_fixed: float | None = None
    fixed_to_verified: float | None = None
    fixed: int = 0
    verified: int = 0


class OverdueScenario(BaseModel):
    scenario: str
    last_run_at: float
    days_since: int


class ProgrammeReport(BaseModel):
    """The programme over a window: quarters overlapping [window_start, generated_at], coverage as of
    ``generated_at``, findings created in the window, and the scenarios due a repeat."""

    generated_at: float
    window_start: float
    window_days: float
    decay_days: int
    repeat_days: int
    gamedays: int
    quarters: list[QuarterReport]
    coverage: CoverageSummary
    findings: FindingsSummary
    loop_speed: list[LoopSpeedReport]
    loop_speed_overall: LoopSpeedReport
    loop_speed_by_team: list[TeamLoopSpeedReport] = []
    overdue: list[OverdueScenario]
    titles: dict[str, str] = {}  # scenario id -> its title (written by scenario authors: untrusted text)
