"""The programme report computed from plain facts: finished game days, findings, the scenarios in the
catalog (and the techniques each names) and the scenarios booked. Pure: no store, no clock of its own.

Quarters are calendar quarters in UTC. Coverage looks at every game day, not only the window: a technique
verified long ago is ``decayed``, which is the point of showing it (resilience decays).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime

from bot.gameday.findings.model import Finding, FindingState
from bot.gameday.findings.speed import loop_durations, loop_speed, loop_speed_by_scenario
from bot.gameday.programme.model import (
    AgeBucket,
    CoverageSummary,
    FindingFacts,
    FindingsSummary,
    LoopSpeedReport,
    OverdueScenario,
    ProgrammeReport,
    QuarterReport,
    RunFacts,
    TeamLoopSpeedReport,
    TechniqueCoverage,
)
from bot.gameday.scenario.attack_ids import attack_release

DAY = 86400.0
DEFAULT_SINCE_DAYS = 90
DEFAULT_DECAY_DAYS = 90
DEFAULT_REPEAT_DAYS = 90
SCORES = {"verified": 100, "decayed": 50, "untested": 0}
AGE_BUCKETS = ((0, 7), (7, 30), (30, 90), (90, None))
UNRESOLVED = (FindingState.OPEN, FindingState.FIXING)
_SINCE = re.compile(r"([1-9][0-9]{0,4})([dw])")


class BadSince(ValueError):
    """Not a window; the message says what one looks like."""


def parse_since(text: str) -> float:
    """``90d`` or ``12w`` as days (at most 99,999 of either unit); anything else is BadSince."""
    match = _SINCE.fullmatch(text.strip().lower())
    if match is None:
        shown = "".join(c if c.isprintable() else "?" for c in text[:20])
        raise BadSince(f"--since `{shown}` is not a window; write it like 90d, 365d or 12w.")
    return int(match[1]) * (7.0 if match[2] == "w" else 1.0)


def quarter_of(at: float) -> tuple[int, int]:
    moment = datetime.fromtimestamp(at, UTC)
    return moment.year, (moment.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[float, float]:
    start = datetime(year, 3 * (quarter - 1) + 1, 1, tzinfo=UTC)
    end = (
        datetime(year + 1, 1, 1, tzinfo=UTC)
        if quarter == 4
        else datetime(year, 3 * quarter + 1, 1, tzinfo=UTC)
    )
    return start.timestamp(), end.timestamp()


def _previous(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def quarters(runs: Sequence[RunFacts], window_start: float, now: float) -> list[QuarterReport]:
    """Every quarter from the one holding ``window_start`` to the one holding ``now``, each with all of
    its game days (a quarter is a calendar quarter, whatever the window cuts); the first one's deltas are
    against the quarter before it."""
    by_quarter: dict[tuple[int, int], list[RunFacts]] = {}
    for run in runs:
        by_quarter.setdefault(quarter_of(run.started_at), []).append(run)
    wanted = [quarter_of(now)]
    while wanted[-1] > quarter_of(window_start):
        wanted.append(_previous(*wanted[-1]))
    reports = []
    for year, quarter in reversed(wanted):
        start, end = quarter_bounds(year, quarter)
        these = [r for r in by_quarter.get((year, quarter), []) if r.started_at <= now]
        before = by_quarter.get(_previous(year, quarter), [])
        medians = {k: _median(getattr(r, k) for r in these) for k in ("mtta", "ttd", "ttc")}
        earlier = {k: _median(getattr(r, k) for r in before) for k in ("mtta", "ttd", "ttc")}
        reports.append(
            QuarterReport(
                quarter=f"{year}-Q{quarter}",
                start=start,
                end=end,
                gamedays=len(these),
                **medians,
                **{f"{k}_delta": _delta(medians[k], earlier[k]) for k in medians},
            )
        )
    return reports


def coverage(
    runs: Sequence[RunFacts], catalog: Mapping[str, Sequence[str]], now: float, decay_days: int
) -> CoverageSummary:
    last: dict[str, float] = {}
    found_by: dict[str, set[str]] = {}
    for run in runs:
        if run.started_at > now:
            continue
        for technique in run.detected_in_time:
            last[technique] = max(last.get(technique, run.started_at), run.started_at)
            found_by.setdefault(technique, set()).add(run.scenario)
    for scenario, techniques in catalog.items():
        for technique in techniques:
            found_by.setdefault(technique, set()).add(scenario)
    release = attack_release().techniques
    rows = []
    for technique in sorted(found_by):
        verified_at = last.get(technique)
        if verified_at is None:
            state = "untested"
        elif now - verified_at <= decay_days * DAY:
            state = "verified"
        else:
            state = "decayed"
        known = release.get(technique)
        rows.append(
            TechniqueCoverage(
                id=technique,
                name=known.name if known else "",
                state=state,
                score=SCORES[state],
                last_verified_at=verified_at,
                scenarios=sorted(found_by[technique]),
            )
        )
    counts = {state: sum(1 for r in rows if r.state == state) for state in SCORES}
    score = round(100.0 * counts["verified"] / len(rows), 1) if rows else None
    return CoverageSummary(**counts, score=score, techniques=rows)


def findings_summary(findings: Sequence[Finding | FindingFacts], now: float) -> FindingsSummary:
    """Every finding's state as it stands now (an acceptance that ran out is open: ``as_of``), and the
    unresolved ones by age."""
    by_state = {str(state): 0 for state in FindingState}
    for finding in findings:
        by_state[str(finding.state)] += 1
    ages = [(now - f.created_at) / DAY for f in findings if f.state in UNRESOLVED]
    buckets = [
        AgeBucket(
            label=f"{low}-{high} days" if high is not None else f"{low}+ days",
            min_days=low,
            max_days=high,
            count=sum(1 for age in ages if age >= low and (high is None or age < high)),
        )
        for low, high in AGE_BUCKETS
    ]
    return FindingsSummary(total=len(findings), by_state=by_state, unresolved_by_age=buckets)


def by_team(findings: Sequence[Finding | FindingFacts]) -> list[TeamLoopSpeedReport]:
    """The medians of each team's findings (a team: the channel its game days run in), in name order."""
    teams: dict[str, list[Finding | FindingFacts]] = {}
    for finding in findings:
        teams.setdefault(finding.channel, []).append(finding)
    speeds = [loop_speed(team, teams[team]) for team in sorted(teams)]
    return [
        TeamLoopSpeedReport(
            team=s.scenario,
            found_to_fixed=s.found_to_fixed,
            fixed_to_verified=s.fixed_to_verified,
            fixed=s.fixed,
            verified=s.verified,
        )
        for s in speeds
    ]


def speeds(
    findings: Sequence[Finding | FindingFacts],
) -> tuple[list[LoopSpeedReport], LoopSpeedReport]:
    """Per scenario (the findings core's medians) and over every finding."""
    per = [LoopSpeedReport(**vars(s)) for s in loop_speed_by_scenario(findings)]
    durations = [loop_durations(f) for f in findings]
    fixed = [d.found_to_fixed for d in durations if d.found_to_fixed is not None]
    verified = [d.fixed_to_verified for d in durations if d.fixed_to_verified is not None]
    overall = LoopSpeedReport(
        scenario="all",
        found_to_fixed=_median(fixed),
        fixed_to_verified=_median(verified),
        fixed=len(fixed),
        verified=len(verified),
    )
    return per, overall


def overdue(
    runs: Sequence[RunFacts],
    scenarios: Collection[str],
    booked: Collection[str],
    now: float,
    repeat_days: int,
) -> list[OverdueScenario]:
    """Scenarios of the catalog last run more than ``repeat_days`` ago with no booking, the longest
    waiting first. A scenario never run is not here: it shows as untested coverage."""
    last: dict[str, float] = {}
    for run in runs:
        if run.scenario in scenarios and run.started_at <= now:
            last[run.scenario] = max(last.get(run.scenario, run.started_at), run.started_at)
    late = [
        OverdueScenario(scenario=s, last_run_at=at, days_since=int((now - at) // DAY))
        for s, at in last.items()
        if now - at > repeat_days * DAY and s not in booked
    ]
    return sorted(late, key=lambda o: (o.last_run_at, o.scenario))


def programme_report(
    runs: Sequence[RunFacts],
    findings: Sequence[Finding | FindingFacts],
    catalog: Mapping[str, Sequence[str]],
    booked: Collection[str],
    now: float,
    since_days: float = DEFAULT_SINCE_DAYS,
    decay_days: int = DEFAULT_DECAY_DAYS,
    repeat_days: int = DEFAULT_REPEAT_DAYS,
    titles: Mapping[str, str] | None = None,
) -> ProgrammeReport:
    """``findings`` as they stand at ``now``; learning-loop speed counts those found inside the window,
    states and ages count every one (an old open finding is still open)."""
    window_start = now - since_days * DAY
    recent = [f for f in findings if window_start <= f.created_at <= now]
    per, overall = speeds(recent)
    return ProgrammeReport(
        generated_at=now,
        window_start=window_start,
        window_days=since_days,
        decay_days=decay_days,
        repeat_days=repeat_days,
        gamedays=sum(1 for r in runs if window_start <= r.started_at <= now),
        quarters=quarters(runs, window_start, now),
        coverage=coverage(runs, catalog, now, decay_days),
        findings=findings_summary(findings, now),
        loop_speed=per,
        loop_speed_overall=overall,
        loop_speed_by_team=by_team(recent),
        overdue=overdue(runs, set(catalog), set(booked), now, repeat_days),
        titles=dict(titles or {}),
    )
